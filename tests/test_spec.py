"""Tests for noob.spec: loading tube files and dicts, structural validation, extends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noob import config
from noob.asset import AssetScope
from noob.exceptions import Problem, SpecError
from noob.spec import (
    AssetSpecification,
    Dependency,
    InputScope,
    InputSpecification,
    NodeSpecification,
    TubeSpecification,
)

DATA = Path(__file__).parent / "data" / "spec"
EXTENDS = DATA / "extends"


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search only tests/data/spec for tube ids; no user dir, extra sources or entry points."""
    monkeypatch.setenv(config.ENV_CONFIG_DIRS, json.dumps([str(DATA)]))
    monkeypatch.setattr(config, "_extra_sources", [])
    monkeypatch.setattr(config, "_entrypoint_sources", [])


def tube(nodes: dict | None = None, **extra) -> dict:
    """A minimal tube mapping around ``nodes``."""
    return {"noob_id": "t", "nodes": nodes or {}, **extra}


def problems_of(data: dict) -> list[tuple[str, str]]:
    """``(path, message)`` of every problem ``data`` has, sorted."""
    return sorted((p.path, p.message) for p in TubeSpecification.from_dict(data, strict=False).problems)


def paths_of(data: dict) -> list[str]:
    """The sorted YAML paths of every problem ``data`` has."""
    return [path for path, _ in problems_of(data)]


# ---------------------------------------------------------------------------- valid files
def test_depends_forms_parse() -> None:
    """Every accepted depends form yields the documented (node, signal, slot, path)."""
    spec = TubeSpecification.from_yaml(DATA / "depends_forms.yaml")
    actual = {
        nid: [(d.node, d.signal, d.slot, d.path) for d in n.dependencies] for nid, n in spec.nodes.items()
    }
    expected = {
        "a": [],
        "scalar": [("a", "index", None, "nodes.scalar.depends")],
        "strings": [
            ("a", "index", 0, "nodes.strings.depends[0]"),
            ("scalar", "value", 1, "nodes.strings.depends[1]"),
        ],
        "keywords": [
            ("a", "index", "left", "nodes.keywords.depends[0]"),
            ("input", "start", "right", "nodes.keywords.depends[1]"),
        ],
        "mixed": [
            ("a", "index", 0, "nodes.mixed.depends[0]"),
            ("scalar", "value", "kw", "nodes.mixed.depends[1]"),
            ("strings", "value", 1, "nodes.mixed.depends[2]"),
        ],
        "int_keys": [
            ("a", "index", 0, "nodes.int_keys.depends[0]"),
            ("scalar", "value", 1, "nodes.int_keys.depends[1]"),
        ],
        "mapping": [
            ("a", "index", "left", "nodes.mapping.depends.left"),
            ("input", "factor", "right", "nodes.mapping.depends.right"),
        ],
        "flow": [("assets", "counter", "iterator", "nodes.flow.depends[0]")],
        "positional_params": [],
        "result": [
            ("mixed", "value", "mixed", "nodes.result.depends[0]"),
            ("mapping", "value", "mapping", "nodes.result.depends[1]"),
        ],
    }
    assert expected == actual
    assert [] == spec.problems


def test_depends_forms_fields() -> None:
    """Header, inputs, assets and node fields are read as written."""
    spec = TubeSpecification.from_yaml(DATA / "depends_forms.yaml")
    assert ("spec-depends-forms", "noob.tube.TubeSpecification", "0.0.1", "every depends form") == (
        spec.noob_id,
        spec.noob_model,
        spec.noob_version,
        spec.description,
    )
    assert {
        "start": InputSpecification("start", "int", InputScope.tube, 3, True, True, None),
        "factor": InputSpecification("factor", "int", InputScope.process, None, False, False, None),
    } == spec.input
    counter = spec.assets["counter"]
    assert (
        AssetSpecification("counter", "noob.testing.counter", AssetScope.runner, {"start": 1}, "scalar.value")
        == counter
    )
    assert Dependency("scalar", "value", None, "assets.counter.depends") == counter.dependency
    node = spec.nodes["positional_params"]
    assert (
        NodeSpecification("positional_params", "noob.testing.passthrough", [1, 2], None, "input.start", False)
        == node
    )
    assert "noob.testing.passthrough" == node.type_
    assert spec.nodes["result"] is spec.return_node
    assert DATA / "depends_forms.yaml" == spec.source


def test_dependency_source() -> None:
    """Dependency.source is 'node.signal'."""
    assert "a.value" == Dependency("a", "value", 0, "nodes.b.depends[0]").source


def test_roundtrip_dict_and_yaml(tmp_path: Path) -> None:
    """to_dict and to_yaml round-trip through from_dict / from_yaml."""
    spec = TubeSpecification.from_yaml(DATA / "depends_forms.yaml")
    assert spec == TubeSpecification.from_dict(spec.to_dict())
    out = tmp_path / "out.yaml"
    text = spec.to_yaml(out)
    assert text == out.read_text()
    assert spec == TubeSpecification.from_yaml(out)


def test_loading_never_writes(tmp_path: Path) -> None:
    """Loading a file without header keys leaves it byte-identical and creates no backup."""
    path = tmp_path / "bare.yaml"
    text = "nodes:\n  a:\n    type: noob.testing.count_source\n"
    path.write_text(text)
    spec = TubeSpecification.from_yaml(path)
    assert (None, text, ["bare.yaml"]) == (
        spec.noob_id,
        path.read_text(),
        [p.name for p in tmp_path.iterdir()],
    )


def test_nodeinfo_ignored_and_numeric_version() -> None:
    """The original's computed 'nodeinfo' key is ignored; a numeric noob_version becomes a string."""
    data = tube({"a": {"type": "noob.testing.count_source", "nodeinfo": {"signals": []}}}, noob_version=1.5)
    spec = TubeSpecification.from_dict(data)
    assert ("1.5", NodeSpecification("a", "noob.testing.count_source")) == (
        spec.noob_version,
        spec.nodes["a"],
    )


def test_type_forms_accepted() -> None:
    """Special names, builtins and dotted paths are valid types."""
    names = ["gather", "map", "return", "tube", "sum", "print", "a.b", "pkg.mod.Obj"]
    data = tube({f"n{i}": {"type": t} for i, t in enumerate(names)})
    assert [] == problems_of(data)


# ---------------------------------------------------------------------------- invalid specs
def test_multi_error_file_reports_everything() -> None:
    """Every problem in a file is reported at once, sorted, with its YAML path."""
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(DATA / "invalid" / "multi_error.yaml")
    expected = [
        "assets.store.depends",
        "colour",
        "input.when.scope",
        "nodes",
        "nodes.1bad",
        "nodes.a.paramz",
        "nodes.b.depends[0]",
        "nodes.b.depends[1]",
        "nodes.b.depends[2]",
        "nodes.b.type",
        "nodes.d.depends",
        "nodes.d.enabled",
        "nodes.d.type",
        "nodes.e.depends[1]",
        "nodes.e.params",
        "noob_id",
    ]
    assert sorted(expected) == sorted(p.path for p in info.value.problems)
    assert "multi_error.yaml" == info.value.tube
    assert info.value.source == DATA / "invalid" / "multi_error.yaml"
    assert str(info.value).startswith("16 errors in tube 'multi_error.yaml'")


def test_missing_node_problem_wording() -> None:
    """A dependency on a missing node names it, lists existing nodes and suggests a fix."""
    data = tube({"a": {"type": "sum"}, "b": {"type": "sum", "depends": ["a.value", "c.value"]}})
    expected = [
        Problem(
            "nodes.b.depends[1]",
            "'c.value' depends on node 'c', which does not exist (nodes: 'a', 'b')",
            "use one of the existing node ids or add a node 'c'",
        )
    ]
    assert expected == TubeSpecification.from_dict(data, strict=False).problems


def test_non_strict_builds_what_parsed() -> None:
    """strict=False keeps valid siblings and the valid parts of broken entries."""
    data = tube(
        {
            "a": {"type": "sum"},
            "b": {"type": "sum", "params": 3, "depends": ["a.value", "nope.value"]},
            "input": {"type": "sum"},
        }
    )
    spec = TubeSpecification.from_dict(data, strict=False)
    assert ["a", "b"] == list(spec.nodes)
    assert (None, ["a.value"]) == (spec.nodes["b"].params, [d.source for d in spec.nodes["b"].dependencies])
    assert ["nodes.b.depends[1]", "nodes.b.params", "nodes.input"] == sorted(p.path for p in spec.problems)


BAD_DEPENDS = [
    pytest.param("a.b.c", "nodes.b.depends", id="two-dots"),
    pytest.param("a.", "nodes.b.depends", id="no-signal"),
    pytest.param(".x", "nodes.b.depends", id="no-node"),
    pytest.param("list", "nodes.b.depends", id="no-dot"),
    pytest.param("mod:fn", "nodes.b.depends", id="colon"),
    pytest.param(3, "nodes.b.depends", id="number"),
    pytest.param([{"x": "a.value", "y": "a.value"}], "nodes.b.depends[0]", id="two-keys"),
    pytest.param([{}], "nodes.b.depends[0]", id="empty-dict"),
    pytest.param([["a.value"]], "nodes.b.depends[0]", id="nested-list"),
    pytest.param([{"x": 5}], "nodes.b.depends[0]", id="non-string-value"),
    pytest.param([{"0x": "a.value"}], "nodes.b.depends[0]", id="bad-slot-name"),
    pytest.param([{"input": "a.value"}], "nodes.b.depends[0]", id="reserved-slot-name"),
    pytest.param([{"0": "a.value"}], "nodes.b.depends[0]", id="numeric-string-slot"),
    pytest.param([{-1: "a.value"}], "nodes.b.depends[0]", id="negative-index"),
    pytest.param([{True: "a.value"}], "nodes.b.depends[0]", id="bool-key"),
    pytest.param([{"x": "a.value"}, {"x": "a.value"}], "nodes.b.depends[1]", id="duplicate-keyword"),
    pytest.param(["a.value", {0: "a.value"}], "nodes.b.depends[1]", id="duplicate-positional"),
    pytest.param({"x": "a.b.c"}, "nodes.b.depends.x", id="mapping-bad-value"),
    pytest.param("input.nope", "nodes.b.depends", id="missing-input"),
    pytest.param("assets.nope", "nodes.b.depends", id="missing-asset"),
]


@pytest.mark.parametrize(("depends", "path"), BAD_DEPENDS)
def test_bad_depends(depends, path: str) -> None:
    """Each malformed depends gives exactly one problem at the entry's path."""
    data = tube({"a": {"type": "sum"}, "b": {"type": "sum", "depends": depends}})
    assert [path] == paths_of(data)


BAD_ENTRIES = [
    pytest.param(tube({"a": {"type": "mod:fn"}}), ["nodes.a.type"], id="colon-type"),
    pytest.param(tube({"a": {"type": ".rel"}}), ["nodes.a.type"], id="relative-type"),
    pytest.param(tube({"a": {"type": "notabuiltin"}}), ["nodes.a.type"], id="bare-type"),
    pytest.param(tube({"a": {"type": 3}}), ["nodes.a.type"], id="number-type"),
    pytest.param(tube({"a": {}}), ["nodes.a.type"], id="missing-type"),
    pytest.param(tube({"a": None}), ["nodes.a"], id="null-node"),
    pytest.param(tube({"meta": {"type": "sum"}}), ["nodes.meta"], id="reserved-id"),
    pytest.param(tube({"a-b": {"type": "sum"}}), ["nodes.a-b"], id="non-identifier-id"),
    pytest.param(tube({"a": {"type": "sum", "id": "b"}}), ["nodes.a.id"], id="id-mismatch"),
    pytest.param(tube({"a": {"type": "sum", "params": "x"}}), ["nodes.a.params"], id="string-params"),
    pytest.param(tube({"a": {"type": "sum", "enabled": "yes"}}), ["nodes.a.enabled"], id="enabled-string"),
    pytest.param(
        tube({"a": {"type": "sum", "enabled": "input.x"}}), ["nodes.a.enabled"], id="enabled-undeclared"
    ),
    pytest.param(
        tube({"a": {"type": "sum", "enabled": "input.x"}}, input={"x": {"type": "bool", "scope": "process"}}),
        ["nodes.a.enabled"],
        id="enabled-process-input",
    ),
    pytest.param(tube({"a": {"type": "sum", "stateful": "yes"}}), ["nodes.a.stateful"], id="stateful-string"),
    pytest.param(
        tube({"a": {"type": "sum", "description": 3}}), ["nodes.a.description"], id="description-number"
    ),
    pytest.param(
        tube({"r": {"type": "return"}, "s": {"type": "return"}, "t": {"type": "return"}}),
        ["nodes"],
        id="three-returns",
    ),
    pytest.param(tube(assets={"x": {"type": "sum"}}), ["assets.x.scope"], id="asset-no-scope"),
    pytest.param(
        tube(assets={"x": {"type": "sum", "scope": "epoch"}}), ["assets.x.scope"], id="asset-bad-scope"
    ),
    pytest.param(tube(assets={"x": {"scope": "node"}}), ["assets.x.type"], id="asset-no-type"),
    pytest.param(
        tube(assets={"x": {"type": "sum", "scope": "node", "params": 1}}),
        ["assets.x.params"],
        id="asset-params",
    ),
    pytest.param(
        tube({"a": {"type": "sum"}}, assets={"x": {"type": "sum", "scope": "node", "depends": "a.value"}}),
        ["assets.x.depends"],
        id="asset-depends-scope",
    ),
    pytest.param(
        tube(assets={"x": {"type": "sum", "scope": "runner", "depends": "zz.value"}}),
        ["assets.x.depends"],
        id="asset-depends-missing-node",
    ),
    pytest.param(
        tube(assets={"x": {"type": "sum", "scope": "runner", "depends": "input.x"}}),
        ["assets.x.depends"],
        id="asset-depends-input",
    ),
    pytest.param(
        tube(assets={"x": {"type": "sum", "scope": "runner", "colour": 1}}),
        ["assets.x.colour"],
        id="asset-unknown-key",
    ),
    pytest.param(
        tube(input={"x": {"type": "int", "scope": "epoch"}}), ["input.x.scope"], id="input-bad-scope"
    ),
    pytest.param(
        tube(input={"x": {"type": "int", "required": "no"}}), ["input.x.required"], id="input-required"
    ),
    pytest.param(tube(input={"x": {"type": "int", "colour": 1}}), ["input.x.colour"], id="input-unknown-key"),
    pytest.param(tube(input={"tube": {"type": "int"}}), ["input.tube"], id="input-reserved-id"),
    pytest.param({"noob_id": "t", "nodes": []}, ["nodes"], id="nodes-list"),
    pytest.param(tube(colour="red"), ["colour"], id="unknown-top-key"),
    pytest.param(tube(noob_id="a b"), ["noob_id"], id="bad-noob-id"),
    pytest.param(tube(noob_model=["x"]), ["noob_model"], id="bad-noob-model"),
    pytest.param(tube(extends="base.yaml"), ["extends"], id="extends-string"),
    pytest.param(tube(extends=[3]), ["extends[0]"], id="extends-number"),
]


@pytest.mark.parametrize(("data", "paths"), BAD_ENTRIES)
def test_bad_entries(data: dict, paths: list[str]) -> None:
    """Each structural mistake gives exactly one problem at the expected path."""
    assert paths == paths_of(data)


def test_unknown_key_suggests_spelling() -> None:
    """An unknown key lists the allowed keys and suggests the closest one."""
    problem = TubeSpecification.from_dict(
        tube({"a": {"type": "sum", "dependz": "x.y"}}), strict=False
    ).problems[0]
    expected = Problem(
        "nodes.a.dependz",
        "unknown key 'dependz' in a node (allowed: 'type', 'depends', 'params', 'enabled', 'stateful', 'description', 'ray', 'id')",
        "did you mean 'depends'?",
    )
    assert expected == problem


def test_top_level_not_mapping(tmp_path: Path) -> None:
    """A file whose top level is a list, or an empty file, is a problem."""
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    for p in (path, empty):
        with pytest.raises(SpecError) as info:
            TubeSpecification.from_yaml(p)
        assert [""] == [pr.path for pr in info.value.problems]


def test_malformed_yaml_line_number() -> None:
    """Malformed YAML is a SpecError naming the file, 1-based line and column."""
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(DATA / "invalid" / "malformed.yaml")
    (problem,) = info.value.problems
    assert problem.message.startswith(f"{DATA / 'invalid' / 'malformed.yaml'}:5:")
    assert "not valid YAML" in problem.message


def test_duplicate_keys_reported() -> None:
    """Duplicate mapping keys are problems with their path and line; the last value is kept."""
    spec = TubeSpecification.from_yaml(DATA / "invalid" / "duplicate_keys.yaml", strict=False)
    expected = [
        ("nodes.a", "duplicate key 'a' at line 9; YAML keeps only the last one"),
        ("nodes.b.depends", "duplicate key 'depends' at line 8; YAML keeps only the last one"),
    ]
    assert expected == sorted((p.path, p.message) for p in spec.problems)
    assert "a.value" == spec.nodes["b"].depends


def test_duplicate_keys_with_merge_key(tmp_path: Path) -> None:
    """YAML the fast reader hands to SafeLoader (merge keys) still reports duplicates."""
    path = tmp_path / "merge.yaml"
    path.write_text(
        "noob_id: m\n"
        "x-base: &base {type: noob.testing.multiply}\n"
        "nodes:\n"
        "  a:\n"
        "    <<: *base\n"
        "    description: one\n"
        "    description: two\n"
    )
    spec = TubeSpecification.from_yaml(path, strict=False)
    assert ("noob.testing.multiply", "two") == (spec.nodes["a"].type, spec.nodes["a"].description)
    assert ["nodes.a.description", "x-base"] == sorted(p.path for p in spec.problems)


def test_yaml_values_match_safe_loader(tmp_path: Path) -> None:
    """Scalars that YAML 1.1 and 1.2 read alike, anchors and flow collections load as SafeLoader loads them."""
    import yaml

    text = (
        "nodes:\n"
        "  a:\n"
        "    type: sum\n"
        "    params: &p {i: 1, f: 1.5, b: true, n: ~, s: '1', d: 2001-12-14, h: 0x1F, t: !!str 12, l: [1, [2]]}\n"
        "  b:\n"
        "    type: sum\n"
        "    params: *p\n"
    )
    path = tmp_path / "values.yaml"
    path.write_text(text)
    expected = yaml.load(text, Loader=yaml.SafeLoader)["nodes"]["a"]["params"]
    spec = TubeSpecification.from_yaml(path)
    assert (expected, expected) == (spec.nodes["a"].params, spec.nodes["b"].params)


# ---------------------------------------------------------------------------- from_any / from_id
def test_from_any_sources() -> None:
    """from_any accepts a spec, a dict, a noob_id and a path (str or Path)."""
    by_path = TubeSpecification.from_any(DATA / "depends_forms.yaml")
    assert by_path is TubeSpecification.from_any(by_path)
    assert by_path == TubeSpecification.from_any(str(DATA / "depends_forms.yaml"))
    assert by_path == TubeSpecification.from_any("spec-depends-forms")
    assert by_path == TubeSpecification.from_any(by_path.to_dict())
    assert DATA / "depends_forms.yaml" == TubeSpecification.from_id("spec-depends-forms").source


def test_from_any_relative_to_config_source() -> None:
    """A relative path that is not under the cwd is found in a config source."""
    assert "spec-extends-l2-b" == TubeSpecification.from_any("extends/l2_b.yaml").noob_id


def test_from_any_not_found() -> None:
    """Unknown ids and paths raise TubeNotFoundError (a KeyError and a ValueError); other types TypeError."""
    with pytest.raises(config.TubeNotFoundError):
        TubeSpecification.from_any("no-such-tube")
    with pytest.raises(ValueError):
        TubeSpecification.from_any("nowhere/none.yaml")
    with pytest.raises(config.TubeNotFoundError):
        TubeSpecification.from_any(Path("spec-depends-forms"))  # a Path is never an id
    with pytest.raises(TypeError):
        TubeSpecification.from_any(42)


# ---------------------------------------------------------------------------- extends
def test_extends_two_levels() -> None:
    """main extends sub/l1_a (which extends ../l2_a) and l1_b (which extends l2_b) as expected.yaml says."""
    expected = TubeSpecification.from_yaml(EXTENDS / "expected.yaml")
    actual = TubeSpecification.from_yaml(EXTENDS / "main.yaml")
    assert expected == actual
    assert ["l2_a_input", "l1_a_input", "l2_b_input", "main_input"] == list(actual.input)
    assert ["source", "double", "letters", "shout", "final"] == list(actual.nodes)
    assert actual == TubeSpecification.from_dict(actual.to_dict(), source=actual.source)


def test_extends_keeps_left_return() -> None:
    """A tube extending one with a return node, and declaring none, keeps the inherited one."""
    spec = TubeSpecification.from_yaml(EXTENDS / "keep_left_return.yaml")
    assert ("l2a_return", ["source", "double", "l2a_return", "extra"]) == (
        spec.return_node.id,
        list(spec.nodes),
    )
    assert ("spec-extends-keep-left-return", ["l2_a.yaml"], None) == (
        spec.noob_id,
        spec.extends,
        spec.description,
    )


def test_extends_depends_replaced() -> None:
    """A right-side depends replaces the left's wholesale; params merge key by key."""
    data = {
        "noob_id": "child",
        "extends": ["l2_a.yaml"],
        "nodes": {"double": {"depends": "source.index", "params": {"right": 3}}},
    }
    spec = TubeSpecification.from_dict(data, source=EXTENDS / "virtual.yaml")
    double = spec.nodes["double"]
    assert ("noob.testing.multiply", "source.index", {"right": 3}) == (
        double.type,
        double.depends,
        double.params,
    )
    assert {"limit": 5} == spec.nodes["source"].params


def test_extends_from_dict_relative_to_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dict with extends resolves relative paths against the cwd."""
    monkeypatch.chdir(EXTENDS)
    spec = TubeSpecification.from_dict({"noob_id": "d", "extends": ["l2_b.yaml"]})
    assert ["letters"] == list(spec.nodes)


def test_extends_by_id() -> None:
    """An extends entry that is a noob_id is found through the config sources."""
    spec = TubeSpecification.from_yaml(EXTENDS / "by_id.yaml")
    assert ["letters", "shout"] == list(spec.nodes)


def test_extends_cycle() -> None:
    """a extends b extends a is reported as a problem naming the chain."""
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(EXTENDS / "cycle_a.yaml")
    (problem,) = info.value.problems
    expected = "in cycle_b.yaml: extends[0]: extends cycle: cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml"
    assert ("extends[0]", expected) == (problem.path, problem.message.split(" -- fix")[0])


def test_extends_missing_parent() -> None:
    """A missing parent is a problem at its extends entry; the rest still loads."""
    spec = TubeSpecification.from_yaml(EXTENDS / "missing_parent.yaml", strict=False)
    assert (["extends[0]"], ["a"]) == ([p.path for p in spec.problems], list(spec.nodes))


# ---------------------------------------------------------------------------- size
def test_large_chain_loads(tmp_path: Path) -> None:
    """A 20 000-node chain loads and validates: the event loader builds every node."""
    n = 20_000
    lines = ["noob_id: chain", "nodes:", "  n0:", "    type: noob.testing.count_source"]
    for i in range(1, n):
        lines += [
            f"  n{i}:",
            "    type: noob.testing.multiply",
            "    depends:",
            f"    - left: n{i - 1}.index",
        ]
    path = tmp_path / "chain.yaml"
    path.write_text("\n".join(lines) + "\n")
    spec = TubeSpecification.from_yaml(path)
    assert n == len(spec.nodes)  # how fast: benchmarks/test_load.py (speed is not a timed test)


def test_params_keys_must_be_names() -> None:
    """A params mapping with a non-string key: a problem at that key, and the key is dropped."""
    spec = TubeSpecification.from_dict(tube({"a": {"type": "sum", "params": {1: "x", "ok": 2}}}), strict=False)
    assert [("nodes.a.params.1", "a params key must be a parameter name (a string), found int 1")] == [
        (p.path, p.message) for p in spec.problems
    ]
    assert {"ok": 2} == spec.nodes["a"].params
