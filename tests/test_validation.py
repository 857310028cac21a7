"""Load-time validation: every problem of a tube reported at once, with YAML paths and fixes."""

from __future__ import annotations

import pytest

from noob import Tube
from noob.exceptions import CycleError, SpecError


def problems_of(source) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        Tube.from_specification(source)
    return [(p.path, p.message) for p in info.value.problems]


def test_many_problems_reported_at_once(core, data_dir):
    """Unknown type, missing signal, unknown slot, unknown param, generator with inputs, missing node: one error."""
    found = problems_of(data_dir / "invalid" / "many_problems.yaml")
    assert [
        "nodes.b.type",
        "nodes.c.depends[0]",
        "nodes.c.depends[1]",
        "nodes.d.params.q",
        "nodes.e.depends",
        "nodes.f.depends",
    ] == [path for path, _ in found]
    messages = dict(found)
    assert "did you mean 'multiply'" in messages["nodes.b.type"]
    assert "(signals: 'index')" in messages["nodes.c.depends[0]"]
    assert "(slots: 'a', 'b')" in messages["nodes.c.depends[1]"]


def test_error_header_names_tube_and_count(core, data_dir):
    """The message opens with the number of problems and the tube, then one line per problem."""
    with pytest.raises(SpecError) as info:
        Tube.from_specification(data_dir / "invalid" / "many_problems.yaml")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("6 errors in tube 'many-problems'")
    assert 7 == len(lines)
    assert all(" -- fix: " in line for line in lines[1:])
    assert isinstance(info.value, ValueError)


def test_cycle_spelled_out(core, data_dir):
    """A cycle is reported with the node names around it, as data too."""
    with pytest.raises(CycleError) as info:
        Tube.from_specification(data_dir / "invalid" / "cycle.yaml")
    assert ["a", "b", "c", "a"] == info.value.cycle
    assert "a -> b -> c -> a" in str(info.value)


def test_self_dependency_is_a_cycle(core):
    """A node depending on itself is a cycle."""
    with pytest.raises(CycleError) as info:
        Tube.from_specification({"noob_id": "s", "nodes": {"a": {"type": "testnodes.plus1", "depends": "a.value"}}})
    assert ["a", "a"] == info.value.cycle


def test_missing_required_argument(core):
    """A required parameter that neither params nor depends fill is reported."""
    found = problems_of({"noob_id": "m", "nodes": {"a": {"type": "testnodes.add", "params": {"b": 1}}}})
    assert [("nodes.a", "depends and params do not fit add(a: 'int', b: 'int' = 0) -> 'int': missing a required argument: 'a'")] == found


def test_class_node_params_checked(core):
    """Params of a plain class are checked against its constructor, of a Node subclass against its fields."""
    found = problems_of({"noob_id": "c", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "v": {"type": "noob.testing.VolumeProcess", "params": {"heigth": 3}, "depends": [{"width": "a.index"}, {"depth": "a.index"}]},
        "s": {"type": "testnodes.Scale", "params": {"factr": 2}, "depends": "a.index"},
    }})
    paths = [p for p, _ in found]
    assert ["nodes.s.params.factr", "nodes.v.params.heigth"] == paths


def test_malformed_depends_and_duplicates(core, tmp_path):
    """Malformed depends entries and duplicate keys are reported with their paths."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        "noob_id: bad\n"
        "nodes:\n"
        "  a:\n"
        "    type: noob.testing.count_source\n"
        "  b:\n"
        "    type: testnodes.add\n"
        "    depends:\n"
        "      - a: a.index.x\n"
        "      - {a: a.index, b: a.index}\n"
        "  c:\n"
        "    type: testnodes.plus1\n"
        "    depends: a.index\n"
        "  c:\n"
        "    type: testnodes.plus1\n"
        "    depends: a.index\n"
    )
    found = problems_of(path)
    assert ["nodes.b.depends[0]", "nodes.b.depends[1]", "nodes.c"] == [p for p, _ in found]
    assert "duplicate key 'c' at line 13" in found[2][1]


def test_malformed_yaml_names_file_and_line(core, tmp_path):
    """Broken YAML is reported with the file and line."""
    path = tmp_path / "broken.yaml"
    path.write_text("noob_id: x\nnodes:\n  a: [unclosed\n")
    with pytest.raises(SpecError) as info:
        Tube.from_specification(path)
    assert f"{path}:4:1: not valid YAML" in str(info.value)


def test_loading_never_rewrites_the_file(core, data_dir):
    """Loading a file without a full header leaves it byte for byte unchanged."""
    path = data_dir / "invalid" / "cycle.yaml"
    before = path.read_bytes()
    with pytest.raises(SpecError):
        Tube.from_specification(path)
    assert before == path.read_bytes()
