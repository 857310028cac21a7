"""Load-time validation: every problem of a tube reported at once, with YAML paths and fixes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, TypeVar, Union

import pytest

from noob import Tube
from noob.exceptions import CycleError, RaceWarning, SpecError

T = TypeVar("T")


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


# ---------------------------------------------------------------- every problem at once, really


def test_cycle_found_alongside_other_problems(core):
    """A cycle among the nodes that resolved is reported with an unknown type elsewhere."""
    with pytest.raises(CycleError) as info:
        Tube.from_specification({"noob_id": "c", "nodes": {
            "a": {"type": "testnodes.plus1", "depends": "b.value"},
            "b": {"type": "testnodes.plus1", "depends": "a.value"},
            "x": {"type": "testnodes.nope", "depends": "a.value"},
            "y": {"type": "testnodes.plus1", "depends": "x.value"},
        }})
    assert ["a", "b", "a"] == info.value.cycle
    assert ["nodes.a.depends", "nodes.x.type"] == [p.path for p in info.value.problems]


def test_race_warned_alongside_other_problems(core):
    """Two unordered users of a shared asset are warned about even when the tube has errors."""
    with pytest.raises(SpecError) as info, pytest.warns(RaceWarning) as record:
        Tube.from_specification({"noob_id": "r", "nodes": {
            "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
            "b": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
            "x": {"type": "testnodes.nope"},
        }, "assets": {"res": {"type": "testnodes.counted_cm", "scope": "process"}}})
    assert ["nodes.x.type"] == [p.path for p in info.value.problems]
    assert [(("a", "b"), "nodes.b.depends[0]")] == [(w.message.nodes, w.message.path) for w in record]
    assert str(record[0].message).startswith("nodes.b.depends[0]: ")


def test_race_warning_path_of_a_carrying_node(core):
    """A node that receives the asset through events is named by the depends entry that carries it."""
    with pytest.warns(RaceWarning) as record:
        Tube.from_specification({"noob_id": "d", "nodes": {
            "A": {"type": "testnodes.ident", "depends": [{"box": "assets.res"}]},
            "B": {"type": "testnodes.bump", "depends": [{"box": "A.box"}]},
            "C": {"type": "testnodes.bump", "depends": [{"box": "A.box"}]},
            "D": {"type": "testnodes.star_args", "depends": ["B.box", "C.box"]},
        }, "assets": {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "D.value"}}})
    assert [(("B", "C"), "nodes.C.depends[0]")] == [(w.message.nodes, w.message.path) for w in record]


def test_positional_problems_collected_at_load(core):
    """A positional slot given twice (by number and by name) and a gap are found by the builder, with the rest."""
    found = problems_of({"noob_id": "p", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "b": {"type": "testnodes.pos_only", "depends": [{0: "a.index"}, {"a": "a.index"}, {"b": "a.index"}]},
        "c": {"type": "testnodes.star_args", "depends": [{0: "a.index"}, {2: "a.index"}]},
        "x": {"type": "testnodes.nope"},
    }})
    assert [
        ("nodes.b.depends[1]", "positional slot 0 of node 'b' is given twice"),
        ("nodes.c.depends", "positional slots [0, 2] of node 'c' leave gaps"),
        ("nodes.x.type", found[-1][1]),
    ] == found


def test_plan_imports_nothing_above_it():
    """noob.plan raises no SpecError: it imports only noob.node, asset, spec, types and _core."""
    import ast
    from pathlib import Path

    import noob.plan

    tree = ast.parse(Path(noob.plan.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    noob_modules = {m for m in imported if m.split(".")[0] == "noob"}
    allowed = ("noob.node", "noob.asset", "noob.spec", "noob.types", "noob._core")
    assert set() == {m for m in noob_modules if not m.startswith(allowed)}
    assert not hasattr(noob.plan, "SpecError") and not hasattr(noob.plan, "Problem")


# ---------------------------------------------------------------- asset depends on a missing signal


def test_asset_depends_on_missing_signal_warns_and_runs(core):
    """The tube loads with an AssetDependsWarning; the asset is never stored back, the plan ignores it."""
    from noob import SynchronousRunner
    from noob.exceptions import AssetDependsWarning

    with pytest.warns(AssetDependsWarning) as record:
        tube = Tube.from_specification({"noob_id": "m", "nodes": {
            "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
            "r": {"type": "return", "depends": "a.box"},
        }, "assets": {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "a.boxx"}}})
    assert [("assets.res.depends", "res")] == [(w.message.path, w.message.asset) for w in record]
    assert "did you mean 'box'?" in str(record[0].message)
    assert [] == tube.plan(core).tables["store_src"].tolist()
    runner = SynchronousRunner(tube, core=core)
    first, second = runner.run(2)
    assert first is second  # the same runner-scoped object, bumped in place each epoch
    from noob.cli.show import _svg, graph_of, to_dot

    drawn = graph_of(tube)  # `noob show` draws it too, without the store edge
    assert [] == [e for e in drawn.edges if e.kind == "store"]
    assert "<svg" in _svg(drawn) and "digraph" in to_dot(drawn)


# ---------------------------------------------------------------- signal/slot annotations


def gives_list(x: int) -> list[int]:
    """Signal ``value`` annotated ``list[int]``."""
    return [x]


def gives_int(x: int) -> int:
    """Signal ``value`` annotated ``int``."""
    return x


def gives_optional(x: int) -> Optional[int]:
    """Signal ``value`` annotated ``Optional[int]``."""
    return x


def gives_str_or_bytes(x: int) -> Union[str, bytes]:
    """Signal ``value`` annotated ``str | bytes``."""
    return str(x)


def gives_any(x: int) -> Any:
    """Signal ``value`` annotated ``Any``."""
    return x


def gives_typevar(x: T) -> T:
    """Signal ``value`` annotated with a type variable."""
    return x


def gives_unannotated(x):  # noqa: ANN001, ANN201
    """Signal ``value`` without annotation."""
    return x


def gives_bool(x: int) -> bool:
    """Signal ``value`` annotated ``bool``."""
    return bool(x)


def takes_int(x: int) -> int:
    """Slot ``x`` annotated ``int``."""
    return x


def takes_float(x: float) -> float:
    """Slot ``x`` annotated ``float``."""
    return x


def takes_sequence(x: Sequence[int]) -> int:
    """Slot ``x`` annotated ``Sequence[int]``."""
    return len(x)


def takes_str(x: str) -> str:
    """Slot ``x`` annotated ``str``."""
    return x


def _wired(signal_fn: str, slot_fn: str, slot: Any = "x") -> dict:
    dep = "s.value" if slot is None else [{slot: "s.value"}]
    return {"noob_id": "ann", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "s": {"type": f"test_validation.{signal_fn}", "depends": "a.index"},
        "t": {"type": f"test_validation.{slot_fn}", "depends": dep},
    }}


@pytest.mark.parametrize("slot", ["x", None])
def test_certain_annotation_mismatch_warns(core, slot):
    """list[int] into an int slot (named or positional) warns, naming nodes, signal, slot, path and types."""
    from noob.exceptions import AnnotationWarning

    with pytest.warns(AnnotationWarning) as record:
        Tube.from_specification(_wired("gives_list", "takes_int", slot))
    w = record[0].message
    path = "nodes.t.depends[0]" if slot else "nodes.t.depends"
    assert (path, "t", "x", "s.value", list[int], int) == (w.path, w.node, w.slot, w.source, w.signal_type, w.slot_type)
    assert str(w).startswith(f"{path}: signal 's.value' is annotated list[int], but it goes into slot 'x' of node 't', annotated int")


@pytest.mark.parametrize(("signal_fn", "slot_fn"), [
    ("gives_int", "takes_float"),        # numeric promotion
    ("gives_bool", "takes_int"),         # subclass
    ("gives_list", "takes_sequence"),    # abstract base of the origin
    ("gives_optional", "takes_int"),     # Optional overlaps
    ("gives_str_or_bytes", "takes_str"),  # a union with an overlap
    ("gives_any", "takes_int"),
    ("gives_typevar", "takes_str"),
    ("gives_unannotated", "takes_int"),
    ("gives_int", "takes_int"),
])
def test_possible_annotation_matches_never_warn(core, signal_fn, slot_fn):
    """Anything that could fit loads silently (warnings are errors in this test suite)."""
    Tube.from_specification(_wired(signal_fn, slot_fn))


def test_union_without_overlap_warns(core):
    """str | bytes into an int slot can never fit."""
    from noob.exceptions import AnnotationWarning

    with pytest.warns(AnnotationWarning, match="annotated Union\\[str, bytes\\]|annotated str \\| bytes"):
        Tube.from_specification(_wired("gives_str_or_bytes", "takes_int"))


def test_example_tubes_load_without_annotation_warnings():
    """Every tube in examples/ and tests/data that loads raises no AnnotationWarning."""
    import warnings
    from pathlib import Path

    from noob.exceptions import AnnotationWarning

    root = Path(__file__).parent
    files = sorted((root / "data").rglob("*.yaml")) + sorted((root.parent / "examples").rglob("*.yaml"))
    seen = []
    for path in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                Tube.from_specification(path)
            except Exception:
                continue
        seen += [f"{path.name}: {w.message}" for w in caught if issubclass(w.category, AnnotationWarning)]
    assert [] == seen


def _raised(source) -> SpecError:
    with pytest.raises(SpecError) as info:
        Tube.from_specification(source)
    return info.value


def test_spec_errors_pickle(core, data_dir):
    """A SpecError crosses processes (multiprocessing, Ray) whole: type, message, problems, data, notes."""
    import pickle

    missing_module = {"noob_id": "gone", "nodes": {"a": {"type": "no_such_module_xyz.f"}}}
    errors = [
        _raised(data_dir / "invalid" / "many_problems.yaml"),
        _raised(data_dir / "invalid" / "cycle.yaml"),
        _raised(missing_module),
    ]
    errors[0].add_note("a note")
    for error in errors:
        back = pickle.loads(pickle.dumps(error))
        assert type(back).__mro__[1:] == type(error).__mro__[1:] and type(back).__name__ == type(error).__name__
        assert str(back) == str(error)
        assert back.problems == error.problems and back.tube == error.tube and back.source == error.source
    assert pickle.loads(pickle.dumps(errors[0])).__notes__ == ["a note"]
    assert pickle.loads(pickle.dumps(errors[1])).cycle == ["a", "b", "c", "a"]
    back = pickle.loads(pickle.dumps(errors[2]))
    assert isinstance(back, ModuleNotFoundError) and isinstance(back, SpecError)
