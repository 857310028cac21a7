"""Fuzzed tube files: loading refuses bad input with a SpecError, never crashes or hangs.

Valid tubes are mutated at every key (wrong types, unknown keys, renamed and deleted keys,
bad ``depends``, cycles, unicode and huge ids, deep nesting), written as YAML or passed as
dicts, then loaded with ``Tube.from_specification`` (which also imports the types and checks
the graph). The contract: a tube either loads, or raises :class:`~noob.exceptions.SpecError`
(a ``ValueError``) listing its problems, or :class:`~noob.exceptions.InputMissingError` (a
``ValueError``) when a mutation made a tube input required that is not given. Anything else (a ``KeyError``, ``TypeError``,
``RecursionError``… escaping noob) fails the test with the example that caused it, and so
does a case that takes 2 s of CPU (``reltiming.cpu_time``; see ``conftest.py``).
"""

from __future__ import annotations

import copy
import itertools
import pathlib
import tempfile
import traceback
import warnings
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from reltiming import cpu_time

from noob import Tube
from noob.exceptions import CycleError, InputMissingError, NoobWarning, SpecError
from noob.spec import MAX_ALIAS_EXPANSION, MAX_YAML_DEPTH, TubeSpecification

# hypothesis warns when it prints a failing example holding a 100 kB id; that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

BASES: list[dict[str, Any]] = [
    {
        "noob_id": "fuzz-basic",
        "nodes": {
            "a": {"type": "noob.testing.count_source", "params": {"limit": 5}},
            "b": {"type": "noob.testing.multiply", "depends": [{"left": "a.index"}]},
            "c": {"type": "return", "depends": "b.value"},
        },
    },
    {
        "noob_id": "fuzz-assets",
        "assets": {
            "box": {"type": "testnodes.counted_cm", "scope": "runner", "params": {"start": 1}},
            "arr": {"type": "testnodes.CountedAsset", "scope": "process", "params": {"size": 2}},
        },
        "nodes": {
            "a": {"type": "noob.testing.count_source"},
            "b": {"type": "testnodes.bump", "depends": [{"box": "assets.box"}]},
            "c": {"type": "testnodes.read", "depends": ["b.box"], "enabled": True, "stateful": False},
            "r": {"type": "return", "depends": [{"v": "c.value"}, {"i": "a.index"}]},
        },
    },
    {
        "noob_id": "fuzz-input",
        "input": {
            "start": {"type": "int", "scope": "tube", "default": 1},
            "k": {"type": "int", "scope": "process", "required": False, "default": 2},
            "on": {"type": "bool", "scope": "tube", "default": True},
        },
        "nodes": {
            "a": {"type": "noob.testing.count_source", "params": {"start": "input.start"}},
            "b": {"type": "testnodes.add", "depends": [{"a": "a.index"}, {"b": "input.k"}]},
            "r": {"type": "return", "enabled": "input.on", "depends": {"out": "b.value"}},
        },
    },
    {
        "noob_id": "fuzz-map",
        "nodes": {
            "w": {"type": "noob.testing.word_source"},
            "m": {"type": "map", "depends": "w.word"},
            "up": {"type": "testnodes.upper", "depends": "m.value"},
            "g": {"type": "gather", "depends": [{"value": "up.value"}, {"n": "m.n"}]},
            "j": {"type": "testnodes.join", "depends": "g.value"},
            "r": {"type": "return", "depends": [{"word": "w.word"}, {"joined": "j.value"}]},
        },
    },
    {
        "noob_id": "fuzz-classes",
        "nodes": {
            "a": {"type": "noob.testing.count_source"},
            "s": {"type": "testnodes.Scale", "params": {"factor": 2}, "depends": "a.index"},
            "acc": {"type": "testnodes.Accumulate", "params": {"start": 0}, "depends": ["s.scaled"]},
            "d": {"type": "testnodes.async_double", "depends": "acc.total"},
        },
    },
]

# values a mutation puts where a valid one was
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "", ".", "a.", ".a", "a..b", "a.b.c", "a.index", "b.value", "input.nope", "assets.nope",
            "input.start", "assets.box", "nope.value", "é.ü", "a .index", "a.index ", "0.x", "assets",
            "input", "tube", "meta", "gather", "map", "return", "sum", "os.path", "x:y", ".rel.mod",
            "noob.testing.nope", "testnodes.boom", "runner", "process", "node", "input.k", "no", "on",
        ]
    )
)
JUNK = st.recursive(LEAVES, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8) | st.integers(), c, max_size=4), max_leaves=12)
KEYS = st.text(max_size=12) | st.sampled_from(["type", "depends", "params", "enabled", "stateful", "description", "id", "scope", "default", "required", "extends", "nodeinfo", "a", "b", "c", "é", "x" * 300]) | st.integers() | st.none() | st.booleans()


def paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into ``tree`` (dict keys and list indices), the root included."""
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += paths(v, (*prefix, i))
    return out


def get(tree: Any, path: tuple) -> Any:
    for part in path:
        tree = tree[part]
    return tree


@st.composite
def mutated(draw: st.DrawFn) -> dict:
    """A base tube with one to four mutations, each at a random key path."""
    tube = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        every = paths(tube)
        path = draw(st.sampled_from(every))
        op = draw(st.sampled_from(["replace", "delete", "add", "rename", "wrap", "depends", "cycle", "id"]))
        parent = get(tube, path[:-1]) if path else None
        if op == "replace" and path:
            parent[path[-1]] = draw(JUNK)
        elif op == "delete" and path:
            del parent[path[-1]]
        elif op == "add":
            target = get(tube, path)
            if isinstance(target, dict):
                target[draw(KEYS)] = draw(JUNK)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(JUNK))
        elif op == "rename" and path and isinstance(parent, dict):
            parent[draw(KEYS)] = parent.pop(path[-1])
        elif op == "wrap" and path:
            value = parent[path[-1]]
            parent[path[-1]] = draw(st.sampled_from([[value], {"x": value}, [value, value], {str(value)[:5]: value}]))
        elif op == "depends" and isinstance(tube.get("nodes"), dict) and tube["nodes"]:
            node = tube["nodes"][draw(st.sampled_from(sorted(tube["nodes"], key=repr)))]
            if isinstance(node, dict):
                node["depends"] = draw(JUNK | st.lists(LEAVES, max_size=4) | st.lists(st.dictionaries(KEYS, LEAVES, max_size=2), max_size=3))
        elif op == "cycle" and isinstance(tube.get("nodes"), dict) and len(tube["nodes"]) >= 2:
            ids = sorted(tube["nodes"], key=repr)
            first, second = draw(st.permutations(ids))[:2]
            for src, dst in ((first, second), (second, first)):
                node = tube["nodes"][dst]
                if isinstance(node, dict):
                    deps = node.get("depends")
                    deps = deps if isinstance(deps, list) else ([deps] if deps is not None else [])
                    node["depends"] = [*deps, {f"k{len(deps)}": f"{src}.value"}]
        elif op == "id" and isinstance(tube.get("nodes"), dict) and tube["nodes"]:
            old = draw(st.sampled_from(sorted(tube["nodes"], key=repr)))
            new = draw(st.text(min_size=1, max_size=30) | st.just("n" * 100_000) | st.sampled_from(["été", "名前", "ǅ", "a\u200bb", "Ⅸ", "_", "__init__"]))
            tube["nodes"][new] = tube["nodes"].pop(old)
    return tube


_DIR = pathlib.Path(tempfile.mkdtemp(prefix="noob-fuzz-"))
_COUNTER = itertools.count()


def write(text: str | bytes) -> pathlib.Path:
    path = _DIR / f"t{next(_COUNTER)}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def load(source: Any, counts: list[int]) -> Tube | None:
    """``Tube.from_specification(source)``: the tube, or ``None`` after a SpecError; anything else fails.

    Warnings noob documents (``NoobWarning``: asset races, annotation mismatches) are allowed.
    """
    counts[0] += 1
    try:
        with cpu_time(), warnings.catch_warnings():
            warnings.simplefilter("ignore", NoobWarning)
            tube = Tube.from_specification(source)
    except InputMissingError as exc:  # documented: a required tube input was not given
        assert exc.input and exc.scope == "tube"
        return None
    except SpecError as exc:
        assert exc.problems, "a SpecError lists at least one problem"
        assert all(isinstance(p.path, str) and p.message for p in exc.problems)
        str(exc)  # the message formats
        return None
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(
            f"loading raised an undocumented {type(exc).__name__}: {exc}\n"
            + "".join(traceback.format_exception(exc))
        )
    counts[1] += 1
    return tube


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@given(tube=mutated(), as_yaml=st.booleans())
def test_mutated_tubes(tube: dict, as_yaml: bool, fuzz_counts) -> None:
    """A valid tube mutated at random keys loads or raises SpecError."""
    load(write(dump(tube)) if as_yaml else tube, fuzz_counts["mutated tubes"])


@given(tube=mutated())
def test_mutated_specs_from_dict(tube: dict, fuzz_counts) -> None:
    """TubeSpecification.from_dict on a mutated tube collects problems instead of crashing."""
    counts = fuzz_counts["mutated specs (strict=False)"]
    counts[0] += 1
    spec = TubeSpecification.from_dict(tube, strict=False)
    assert all(isinstance(p.path, str) for p in spec.problems)
    counts[1] += not spec.problems


@given(base=st.sampled_from(BASES), data=st.data())
def test_text_mutations(base: dict, data: st.DataObject, fuzz_counts) -> None:
    """Bytes inserted, deleted, replaced or lines duplicated in a valid file: loads or SpecError."""
    text = bytearray(dump(base).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 5))):
        op = data.draw(st.sampled_from(["insert", "delete", "replace", "dup_line", "indent", "comment", "blank"]))
        at = data.draw(st.integers(0, len(text)))
        if op == "insert":
            text[at:at] = data.draw(st.binary(min_size=1, max_size=4) | st.sampled_from([b":", b"-", b"[", b"{", b"&a", b"*a", b"!!python/object ", b"'", b'"', b"\t", b"<<: ", b"\n---\n", b"\xff", b"\x00"]))
        elif op == "delete":
            del text[at : at + data.draw(st.integers(1, 5))]
        elif op == "replace" and text:
            text[min(at, len(text) - 1)] = data.draw(st.integers(0, 255))
        else:
            lines = bytes(text).split(b"\n")
            i = min(data.draw(st.integers(0, len(lines))), len(lines) - 1)
            if op == "dup_line":  # duplicate keys
                lines.insert(i, lines[i])
            elif op == "comment":  # harmless
                lines[i] += b"  # note"
            elif op == "blank":  # harmless
                lines.insert(i, b"")
            else:
                lines[i] = b"  " + lines[i]
            text = bytearray(b"\n".join(lines))
    load(write(bytes(text)), fuzz_counts["text mutations"])


@given(blob=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes(blob: bytes, fuzz_counts) -> None:
    """Any bytes at all (binary, empty, random text): loads or SpecError."""
    load(write(blob), fuzz_counts["arbitrary bytes"])


@given(
    ids=st.lists(st.text(min_size=1, max_size=40) | st.sampled_from(["a" * 50_000, "é" * 1000, "名" * 10]), min_size=1, max_size=6),
    as_yaml=st.booleans(),
)
def test_unicode_and_huge_ids(ids: list[str], as_yaml: bool, fuzz_counts) -> None:
    """Node, asset and input ids of any unicode and length: loads (identifiers) or SpecError."""
    nodes: dict[str, Any] = {}
    prev = None
    for node_id in ids:
        nodes[node_id] = {"type": "testnodes.plus1" if prev else "noob.testing.count_source"}
        if prev is not None:
            nodes[node_id]["depends"] = f"{prev}.{'value' if len(nodes) > 2 else 'index'}"
        prev = node_id
    data = {"noob_id": ids[0][:30], "nodes": nodes, "assets": {ids[-1]: {"type": "list", "scope": "runner"}}, "input": {ids[0]: {"type": "int", "default": 1}}}
    tube = load(write(dump(data)) if as_yaml else data, fuzz_counts["unicode and huge ids"])
    if tube is not None:
        assert [i for i in ids if i in nodes] == list(tube.nodes)[: len(nodes)]


@given(
    depth=st.integers(1, 3 * MAX_YAML_DEPTH) | st.sampled_from([MAX_YAML_DEPTH - 4, MAX_YAML_DEPTH - 3, 10_000, 100_000]),
    flow=st.booleans(),
    kind=st.sampled_from(["list", "dict"]),
)
def test_deep_nesting(depth: int, flow: bool, kind: str, fuzz_counts) -> None:
    """Nesting past MAX_YAML_DEPTH is one problem naming the limit; below it the params load."""
    if flow:
        inner = ("[" * depth + "]" * depth) if kind == "list" else ("{a: " * depth + "1" + "}" * depth)
    else:
        inner = "".join(f"\n{'  ' * (i + 4)}{'- ' if kind == 'list' else 'a:'}" for i in range(min(depth, 400))) + " 1"
    text = f"noob_id: deep\nnodes:\n  a:\n    type: noob.testing.count_source\n    params:\n      limit: 3\n      x: {inner}\n"
    path = write(text)
    counts = fuzz_counts["deep nesting"]
    counts[0] += 1
    levels = depth if flow else min(depth, 400)
    nested = 4 + levels  # root, nodes, a, params, then ours
    try:
        spec = TubeSpecification.from_yaml(path, strict=False)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{type(exc).__name__}: {exc}")
    if nested > MAX_YAML_DEPTH:
        # ours, or libyaml's own limit (1000 levels) when its scanner looks far ahead in a flow collection
        ours, libyaml = f"collections nest deeper than {MAX_YAML_DEPTH} levels", "exceeded maximum nesting depth"
        assert [True] == [ours in p.message or (levels > 1000 and libyaml in p.message) for p in spec.problems]
    else:
        assert [] == spec.problems
        counts[1] += 1


def laughs(levels: int, width: int, kind: str) -> str:
    """A "billion laughs" file: each level holds ``width`` aliases of the one below."""
    lines = ["noob_id: lol", "x0: &x0 [lol]" if kind == "list" else "x0: &x0 {k: lol}"]
    for i in range(1, levels + 1):
        if kind == "list":
            lines.append(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * width)}]")
        elif kind == "dict":
            lines.append(f"x{i}: &x{i} {{{', '.join(f'k{j}: *x{i - 1}' for j in range(width))}}}")
        else:  # merge keys: each level merges the one below under new keys
            lines.append(f"x{i}: &x{i} {{<<: [{', '.join([f'*x{i - 1}'] * width)}], m{i}: *x{i - 1}}}")
    lines += ["nodes:", "  a:", "    type: noob.testing.count_source", f"    params: {{limit: 1, bomb: *x{levels}}}"]
    return "\n".join(lines) + "\n"


@given(levels=st.integers(1, 12), width=st.integers(1, 12), kind=st.sampled_from(["list", "dict", "merge"]))
def test_alias_bombs(levels: int, width: int, kind: str, fuzz_counts) -> None:
    """Aliases adding more than MAX_ALIAS_EXPANSION values are refused fast, with one problem."""
    counts = fuzz_counts["alias bombs"]
    counts[0] += 1
    with cpu_time(), pytest.raises(SpecError) as info:  # the x<i> top-level keys are unknown keys either way
        TubeSpecification.from_yaml(write(laughs(levels, width, kind)))
    bombs = [p for p in info.value.problems if "aliases expand" in p.message]
    grow = width + 1 if kind == "merge" else width  # a merge level holds its merges and one more alias
    size = sum(grow**i for i in range(levels + 1))  # values one x<levels> holds, at least
    if size > 2 * MAX_ALIAS_EXPANSION:
        assert 1 == len(bombs)
        assert f"more than {MAX_ALIAS_EXPANSION:,} values" in bombs[0].message
    elif size * (levels + 1) < MAX_ALIAS_EXPANSION // 10:
        assert [] == bombs
        counts[1] += 1


def test_billion_laughs_refused_fast() -> None:
    """The classic 10**9-value file is refused in under a second of CPU, naming the limit."""
    with cpu_time(1.0), pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(write(laughs(9, 10, "list")))
    (bomb,) = [p for p in info.value.problems if "aliases expand" in p.message]
    assert "x6[3]" == bomb.path
    assert "line 8: aliases expand to more than 1,000,000 values (an alias bomb?)" == bomb.message


def test_alias_within_limit_loads() -> None:
    """Aliases are fine below the limit: the anchored params are shared by both nodes."""
    text = "noob_id: ok\nnodes:\n  a:\n    type: noob.testing.count_source\n    params: &p {limit: 2}\n  b:\n    type: noob.testing.count_source\n    params: *p\n"
    spec = TubeSpecification.from_yaml(write(text))
    assert ({"limit": 2}, True) == (spec.nodes["b"].params, spec.nodes["a"].params is spec.nodes["b"].params)


def test_recursive_and_undefined_aliases() -> None:
    """An alias inside its own anchor, or without an anchor, is a problem at its path."""
    text = "noob_id: rec\nnodes:\n  a:\n    type: noob.testing.count_source\n    params: &p {limit: 2, me: *p, other: *q}\n"
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(write(text))
    expected = [
        ("nodes.a.params.me", "line 5: alias *p is used inside its own anchor"),
        ("nodes.a.params.other", "line 5: alias *q has no anchor before it"),
    ]
    assert expected == [(p.path, p.message) for p in info.value.problems]


MARKER = _DIR / "executed"
EVIL_TAGS = [
    f"!!python/object/apply:builtins.exec [\"open({str(MARKER)!r}, 'w').close()\"]",
    f"!!python/object/apply:os.system [\"touch {MARKER}\"]",
    "!!python/object/new:os.system [echo]",
    "!!python/name:os.system",
    "!!python/object:collections.OrderedDict {a: 1}",
    "!!python/tuple [1, 2]",
    "!!python/module:os",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!custom 12",
    "!<tag:example.com,2024:thing> {a: 1}",
]


@pytest.mark.parametrize("tagged", EVIL_TAGS)
@pytest.mark.parametrize("where", ["params: {x: %s }", "depends: %s", "enabled: %s"])
def test_tags_never_constructed(tagged: str, where: str) -> None:
    """Tags other than YAML's plain data tags are a problem naming the tag; nothing runs."""
    text = f"noob_id: tags\nnodes:\n  a:\n    type: noob.testing.count_source\n    {where % tagged}\n"
    with pytest.raises(SpecError) as info:
        Tube.from_specification(write(text))
    messages = [p.message for p in info.value.problems if "is not allowed" in p.message]
    assert 1 <= len(messages)
    assert "noob never constructs tagged objects" in messages[0]
    assert not MARKER.exists()


def test_tag_problem_path_and_wording() -> None:
    """The tag problem names the YAML path, the line and the tag."""
    text = "noob_id: tags\nnodes:\n  a:\n    type: noob.testing.count_source\n    params: {x: !!python/name:os.system }\n"
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(write(text))
    (problem,) = info.value.problems
    assert ("nodes.a.params.x", "line 5: tag '!!python/name:os.system' is not allowed") == (
        problem.path,
        problem.message.split(":", 1)[0] + ":" + problem.message.split(":", 1)[1].split(": tube files")[0],
    )


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (b"", "", "the top level of a tube must be a mapping, found null"),
        (b"\x00\x01\x02", "", "not valid YAML"),
        (b"\xff\xfe\x00garbage", "", "the top level of a tube must be a mapping, found str"),  # UTF-16 text
        (b"- a\n- b\n", "", "the top level of a tube must be a mapping, found list ['a', 'b']"),
        (b"noob_id: a\n---\nnoob_id: b\n", "", "the file holds several YAML documents; a tube file holds one"),
        (b"noob_id: a\nnodes:\n  ? [x]\n  : 1\n", "nodes", "line 3: a mapping key must be a plain value, found a list"),
    ],
    ids=["empty", "binary", "bad-bom", "list", "two-documents", "complex-key"],
)
def test_files_that_are_not_tubes(text: bytes, path: str, message: str) -> None:
    """Empty, binary, non-mapping and multi-document files are one clear problem."""
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_yaml(write(text))
    assert [(path, True)] == [(p.path, message in p.message) for p in info.value.problems]


@given(n=st.integers(2, 12), data=st.data())
def test_random_cycles(n: int, data: st.DataObject, fuzz_counts) -> None:
    """A chain plus one back edge is a CycleError whose cycle closes on itself."""
    counts = fuzz_counts["random cycles"]
    nodes: dict[str, Any] = {"n0": {"type": "testnodes.add", "depends": [{"a": f"n{n - 1}.value"}]}}
    for i in range(1, n):
        nodes[f"n{i}"] = {"type": "testnodes.plus1", "depends": f"n{i - 1}.value"}
    back = data.draw(st.integers(0, n - 1))
    nodes[f"n{back}"] = {"type": "testnodes.add", "depends": [{"a": f"n{(back - 1) % n}.value"}, {"b": f"n{data.draw(st.integers(back, n - 1))}.value"}]}
    counts[0] += 1
    with pytest.raises(CycleError) as info:
        Tube.from_specification({"noob_id": "cyc", "nodes": nodes})
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) <= set(nodes)


FOUND_BY_FUZZING = [
    # a Node subclass's params with a non-string key: sorting the unknown keys raised TypeError
    {"noob_id": "f1", "nodes": {"a": {"type": "noob.testing.count_source"},
                                "s": {"type": "testnodes.Scale", "params": {-3161572: "return", "¹": False}, "depends": "a.index"}}},


    # a node id '[¹]': sorting problems by path called int('¹') ('¹'.isdigit() is True)
    {"noob_id": "f2", "nodes": {"[¹]": {"type": "noob.testing.count_source"}, "b": {"type": "testnodes.plus1", "depends": "x[2].value"}}},
]
FOUND_PATHS = ["nodes.s.params.-3161572", "nodes.[¹]"]


@pytest.mark.parametrize(("tube", "path"), list(zip(FOUND_BY_FUZZING, FOUND_PATHS)), ids=["params-int-key", "superscript-index"])
def test_found_by_fuzzing(tube: dict, path: str) -> None:
    """Examples the fuzzer once broke loading with: now a SpecError listing each problem."""
    with pytest.raises(SpecError) as info:
        Tube.from_specification(tube)
    assert path in [p.path for p in info.value.problems]


def test_problems_sort_by_index_numerically() -> None:
    """Problem paths sort list indices as numbers ([2] before [10], any length of digits), after other keys."""
    from noob.exceptions import Problem

    paths = ["a[10]", "a[2]", "a[" + "9" * 5000 + "]", "a[¹]", "a[0]"]
    assert ["a[¹]", "a[0]", "a[2]", "a[10]", "a[" + "9" * 5000 + "]"] == [
        p.path for p in SpecError([Problem(x, "m") for x in paths]).problems
    ]
