"""The original's public names (row by row of its public surface) as real, working objects."""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any

import attrs
import pytest

import noob
from noob import Name, Node
from noob.exceptions import NoobError, SpecError

# --------------------------------------------------------------------------- noob.utils


async def _coro(x):
    return x


async def _agen():
    yield 1


def _plain(x):
    return x


def test_iscoroutinefunction_partial():
    """Unwraps partials; true for coroutine functions and async generator functions only."""
    from noob.utils import iscoroutinefunction_partial

    cases = [_coro, functools.partial(_coro, 1), functools.partial(functools.partial(_coro), 1), _agen, _plain,
             functools.partial(_plain, 1), len]
    assert [True, True, True, True, False, False, False] == [iscoroutinefunction_partial(f) for f in cases]


# --------------------------------------------------------------------------- noob.edge


def test_edge_signal_slot():
    """Signal(name, annotation), Slot(name, annotation, required=True), Edge(...) compare by value."""
    from noob.edge import Edge, Signal, Slot

    assert Signal("x", int) == Signal(name="x", annotation=int)
    assert Slot("x", int) == Slot(name="x", annotation=int, required=True) != Slot("x", int, required=False)
    edge = Edge("a", "value", "b", "left", True)
    assert ("a", "value", "b", "left", True) == (edge.source_node, edge.source_signal, edge.target_node, edge.target_slot, edge.required)
    assert Edge("a", "value", "b") == Edge(source_node="a", source_signal="value", target_node="b", target_slot=None, required=True)


# --------------------------------------------------------------------------- noob.node


def test_node_package_names():
    """noob.node, noob.node.base and noob.node.spec export the original's names."""
    import noob.node
    import noob.node.base
    import noob.node.spec
    from noob.spec import NodeSpecification

    assert NodeSpecification is noob.node.NodeSpecification is noob.node.spec.NodeSpecification is noob.node.base.NodeSpecification
    assert noob.node.base.Node is noob.Node
    assert {"gather", "map", "return", "tube"} == set(noob.node.SPECIAL_NODES)
    assert (noob.node.Map, noob.node.Return, noob.node.Gather) == (
        noob.node.SPECIAL_NODES["map"], noob.node.SPECIAL_NODES["return"], noob.node.SPECIAL_NODES["gather"])
    assert callable(noob.node.base.WrapFuncNode) and callable(noob.node.base.WrapClassNode)


def test_wrap_nodes_by_keyword():
    """WrapFuncNode(fn=, id=, ...) and WrapClassNode(cls=, ...) as the original builds them; used by hand."""
    import noob.testing as t
    from noob.node.base import WrapClassNode, WrapFuncNode

    mul = WrapFuncNode(fn=t.multiply, id="m", spec=None, stateful=None)
    assert (["value"], ["left", "right"], 6, False) == (list(mul.signals), list(mul.slots), mul.process(3), mul.stateful)
    gen = WrapFuncNode(fn=t.count_source, id="g", params={"limit": 3})
    assert ([0, 1, 2], True) == ([gen.process() for _ in range(3)], gen.stateful)
    assert 6 == WrapFuncNode("m", t.multiply).process(3)  # our positional form still works
    vol = WrapClassNode(cls=t.VolumeProcess, id="v", params={"height": 3})
    vol.init()
    assert (12, ["volume"]) == (vol.process(2, 2), list(vol.signals))
    vol.deinit()


def test_node_from_specification():
    """Node.from_specification resolves the type and builds the right kind of node."""
    import noob.testing as t
    from noob.input import InputCollection
    from noob.node.base import NodeSpecification, WrapClassNode, WrapFuncNode
    from noob.spec import InputSpecification

    func = Node.from_specification(NodeSpecification("m", "noob.testing.multiply", params={"right": 5}))
    assert isinstance(func, WrapFuncNode) and 10 == func.process(2)
    sub = Node.from_specification(NodeSpecification("c", "noob.testing.CountSource", params={"limit": 3, "start": 1}))
    assert isinstance(sub, t.CountSource) and [1, 2] == [sub.process(), sub.process()]
    cls = Node.from_specification(NodeSpecification("v", "noob.testing.Volume"))
    assert isinstance(cls, WrapClassNode)
    gather = Node.from_specification(NodeSpecification("g", "gather", params={"n": 2}))
    assert 2 == gather.n
    spec = NodeSpecification("c", "noob.testing.count_source", params={"start": "input.start"})
    with pytest.raises(ValueError):
        Node.from_specification(spec)
    inputs = InputCollection(specs={"tube": {"start": InputSpecification("start", "int")}}, tube_input={"start": 7})
    assert 7 == Node.from_specification(spec, inputs).process()


def test_nodeinfo():
    """NodeSpecification.nodeinfo is {node_id, type, signals, slots}, read from the type's signature."""
    from noob.edge import Signal, Slot
    from noob.node.spec import NodeSpecification

    info = NodeSpecification("m", "noob.testing.multiply").nodeinfo
    assert {"node_id": "m", "type": "noob.testing.multiply", "signals": {"value": Signal("value", int)},
            "slots": {"left": Slot("left", int), "right": Slot("right", int)}} == info
    dyn = NodeSpecification("d", "noob.testing.DynamicSignals", params={"signals_": ["a"], "slots_": ["x"]}).nodeinfo
    assert (["a"], ["x"]) == (list(dyn["signals"]), list(dyn["slots"]))
    with pytest.raises(ValueError):
        NodeSpecification("r", "return").nodeinfo  # noqa: B018


class _FieldInfo:
    """A stand-in for pydantic's ``FieldInfo`` (``Field(default_factory=...)``)."""

    def __init__(self, default_factory=None):
        self.default_factory = default_factory


class OriginalStyle(Node):
    """A Node subclass written for the original: factory defaults, dict signals, generator process."""

    names: list[str] = attrs.Factory(list)
    more: list[int] = dataclasses.field(default_factory=lambda: [1])
    extra: dict = _FieldInfo(default_factory=dict)  # type: ignore[assignment]
    limit: int = 3

    @classmethod
    def get_signals(cls, spec=None):
        from noob.edge import Signal

        return {"index": Signal("index", int)}

    def process(self):
        yield from range(self.limit)


def test_original_style_node_subclass():
    """Factory defaults are called per instance; get_signals may return a dict; process() gives values."""
    a, b = OriginalStyle(id="a"), OriginalStyle(id="b", limit=2)
    assert ([], [1], {}) == (a.names, a.more, a.extra)
    assert a.names is not b.names and a.more is not b.more
    assert ["index"] == list(a.signals)
    assert [0, 1] == [b.process(), b.process()]
    with pytest.raises(StopIteration):
        b.process()
    assert [0, 1, 2] == noob.SynchronousRunner(noob.Tube.from_specification({"noob_id": "o", "nodes": {
        "o": {"type": f"{__name__}.OriginalStyle"}, "r": {"type": "return", "depends": "o.index"}}})).run(5)


# --------------------------------------------------------------------------- noob.asset, noob.input, noob.event


def test_asset_names():
    """AssetSpecification, WrapFuncAsset and Asset.from_specification (not initialised until init())."""
    from noob.asset import Asset, AssetSpecification, WrapClassAsset, WrapFuncAsset
    from noob.spec import AssetSpecification as Spec

    assert AssetSpecification is Spec
    cm = Asset.from_specification(AssetSpecification("c", "noob.testing.counter_cm", scope="node", params={"start": 2}))
    assert isinstance(cm, WrapFuncAsset) and cm.obj is None
    cm.init()
    assert (1, 3) == (cm.obj.entered, cm.obj.current)
    counter = cm.obj
    cm.deinit()
    assert (None, 1) == (cm.obj, counter.exited)
    cls = Asset.from_specification(AssetSpecification("c", "noob.testing.AssetCls", params={"x": 1, "y": 2}))
    cls.init()
    assert isinstance(cls, WrapClassAsset) and (1, 2) == (cls.obj.x, cls.obj.y)
    init = Asset.from_specification(AssetSpecification("i", "noob.testing.Initializer"))
    assert init.obj is False
    init.init()
    assert init.obj is True


def test_input_collection():
    """InputCollection(specs={scope: {id: spec}}), add_input(scope, values), get(key, process_input=None)."""
    from noob.input import InputCollection, InputScope, InputSpecification

    specs = {
        InputScope.tube: {"a": InputSpecification("a", "int", default=1)},
        InputScope.process: {"p": InputSpecification("p", "int", scope=InputScope.process)},
    }
    inputs = InputCollection(specs=specs)
    assert (1, 5) == (inputs.get("a"), inputs.get("p", process_input={"p": 5}))
    inputs.add_input(InputScope.tube, {"a": 2})
    assert 2 == inputs.get("a")
    assert ["a"] == list(inputs.specs[InputScope.tube])
    with pytest.raises(ValueError):
        inputs.add_input(InputScope.process, {"p": 1})


def test_input_specification_default_kept():
    """InputSpecification(default=...) keeps its default, also None, like a file's ``default:`` key."""
    from noob.spec import InputSpecification

    assert (True, 3) == (InputSpecification("a", "int", default=3).has_default, InputSpecification("a", default=3).default)
    assert (True, False) == (InputSpecification("a", default=None).has_default, InputSpecification("a").has_default)


def test_noeventable():
    """noob.event.NoEventable is the typing helper (T | NoEvent)."""
    from noob.event import NoEventable

    assert noob.MetaSignal.NoEvent in getattr(NoEventable[int], "__args__")[1].__args__


# --------------------------------------------------------------------------- specs built in Python


def test_node_specification_depends_parsed():
    """NodeSpecification(depends=...) is parsed like a file's entry; bad entries raise SpecError."""
    from noob.spec import Dependency, NodeSpecification

    spec = NodeSpecification("b", "noob.testing.multiply", depends=[{"left": "a.index"}, "c.value"])
    assert [Dependency("a", "index", "left", "nodes.b.depends[0]"), Dependency("c", "value", 0, "nodes.b.depends[1]")] == spec.dependencies
    with pytest.raises(SpecError) as info:
        NodeSpecification("b", "pkg:fn", depends=["a.b.c"])
    assert ["nodes.b.depends[0]", "nodes.b.type"] == [p.path for p in info.value.problems]


def test_tube_specification_built_in_python_runs():
    """A TubeSpecification made of spec objects and dicts is checked like a file and runs."""
    from noob.spec import NodeSpecification, TubeSpecification

    spec = TubeSpecification(noob_id="py", nodes={
        "a": {"type": "noob.testing.count_source"},
        "b": NodeSpecification("b", "noob.testing.multiply", depends=[{"left": "a.index"}]),
        "r": NodeSpecification("r", "return", depends="b.value"),
    })
    assert [0, 2, 4] == noob.SynchronousRunner(noob.Tube.from_specification(spec)).run(3)
    with pytest.raises(SpecError, match="which does not exist"):
        TubeSpecification(noob_id="py", nodes={"b": NodeSpecification("b", "noob.testing.multiply", depends="zz.value")})
    with pytest.raises(SpecError, match="Mismatch between id"):
        TubeSpecification(noob_id="py", nodes={"x": NodeSpecification("b", "noob.testing.multiply")})


def test_model_dump_shape():
    """model_dump() gives the original's pydantic dump: keys, order, and nodeinfo."""
    from noob.spec import AssetSpecification, InputSpecification, NodeSpecification, TubeSpecification

    node = NodeSpecification("b", "noob.testing.multiply", depends=[{"left": "a.index"}])
    assert ["type", "id", "depends", "params", "enabled", "stateful", "description", "nodeinfo"] == list(node.model_dump())
    assert {"type": "noob.testing.multiply", "id": "b", "depends": [{"left": "a.index"}]} == node.model_dump(
        exclude={"nodeinfo"}, exclude_defaults=True)
    assert ["id", "type", "scope", "params", "depends", "description"] == list(AssetSpecification("c", "x.y").model_dump())
    assert ["id", "type", "scope", "default", "description", "required"] == list(InputSpecification("i").model_dump())
    spec = TubeSpecification.from_dict({"noob_id": "t", "nodes": {"a": {"type": "noob.testing.count_source"}}})
    dump = spec.model_dump(mode="json")
    assert ["noob_id", "noob_model", "noob_version", "assets", "input", "nodes", "extends", "description"] == list(dump)
    assert {"index": {"name": "index", "annotation": "<class 'int'>"}} == dump["nodes"]["a"]["nodeinfo"]["signals"]


# --------------------------------------------------------------------------- noob.tube


def test_tube_edges_state_enabled():
    """Tube.edges (Edge per dependency), Tube.enabled_nodes, Tube.state (definitions)."""
    from noob.edge import Edge

    tube = noob.Tube.from_specification({"noob_id": "t", "assets": {
        "c": {"type": "noob.testing.counter", "scope": "runner", "depends": "b.iterator"}}, "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "b": {"type": "noob.testing.increment", "depends": [{"iterator": "assets.c"}, {"increment": "a.index"}]},
        "m": {"type": "noob.testing.this_or_that", "depends": [{"this": "b.value"}]},
        "r": {"type": "return", "depends": [{"v": "b.value"}, "a.index"]}}})
    assert [
        Edge("assets", "c", "b", "iterator", True), Edge("a", "index", "b", "increment", True),
        Edge("b", "value", "m", "this", False), Edge("b", "value", "r", "v", False), Edge("a", "index", "r", 0, True),
    ] == tube.edges
    assert ["a", "b", "m", "r"] == list(tube.enabled_nodes)
    assert {"b": {"iterator": {"c"}}} == tube.state.dependencies
    assert tube.state.assets["c"].obj is None  # a definition: the runner creates the object


def test_merge_tube_specs():
    """merge_tube_specs: dict merge right over left, depends replaced, one return under the right's key."""
    from noob.tube import merge_tube_specs

    left = {"nodes": {"a": {"type": "x.a", "params": {"p": 1}, "depends": "b.v"}, "ra": {"type": "return", "depends": "a.v"}}}
    right = {"nodes": {"a": {"params": {"q": 2}, "depends": "c.v"}, "rb": {"type": "return", "depends": "c.v"}}}
    merged = merge_tube_specs(left, right)
    assert {"type": "x.a", "params": {"p": 1, "q": 2}, "depends": "c.v"} == merged["nodes"]["a"]
    assert ["a", "rb"] == list(merged["nodes"])


def test_from_id_and_recursive(compat_source):
    """TubeSpecification.from_id, and from_any(..., context={"recursive": True}) loads child tubes."""
    from noob.spec import TubeSpecification

    assert "compat-parent" == TubeSpecification.from_id("compat-parent").noob_id
    spec = TubeSpecification.from_any("compat-parent", context={"recursive": True})
    child = spec.nodes["b"].params["tube"]
    assert isinstance(child, TubeSpecification) and "compat-child" == child.noob_id
    assert ["inner", "factor"] == sorted(child.input, reverse=True)


def test_missing_tube_file_is_file_not_found(tmp_path):
    """A missing tube file: FileNotFoundError, also a ValueError and a NoobError (an unknown id stays a KeyError)."""
    with pytest.raises(FileNotFoundError) as info:
        noob.Tube.from_specification(tmp_path / "nope.yaml")
    assert isinstance(info.value, ValueError) and isinstance(info.value, NoobError)
    with pytest.raises(KeyError):
        noob.Tube.from_specification("no-such-tube-id")


@pytest.mark.parametrize("type_, builtin", [
    ("no_such_package_xyz.f", ModuleNotFoundError),
    ("noob.testing.no_such_helper", AttributeError),
])
def test_unknown_type_still_catchable(type_, builtin):
    """An unknown module or name in ``type`` is our SpecError and, when it is the only problem, the builtin too."""
    source = {"noob_id": "t", "nodes": {"a": {"type": type_}}}
    with pytest.raises(builtin) as info:
        noob.Tube.from_specification(source)
    assert isinstance(info.value, SpecError)
    assert ["nodes.a.type"] == [p.path for p in info.value.problems]
    both = {"noob_id": "t", "nodes": {"a": {"type": type_}, "b": {"type": "bad:type"}}}
    with pytest.raises(SpecError) as info2:
        noob.Tube.from_specification(both)
    assert not isinstance(info2.value, builtin)


# --------------------------------------------------------------------------- noob.yaml, logging, config, runner, cli


def test_yaml_helpers(tmp_path):
    """noob.yaml: yaml.load / yaml.dump (Paths as strings), YAMLMixin, ConfigYAMLMixin, yaml_peek."""
    from pathlib import Path

    from noob.spec import TubeSpecification
    from noob.yaml import ConfigYAMLMixin, YAMLMixin, yaml, yaml_peek

    text = yaml.dump({"p": Path("/x/y"), "n": [1, 2]})
    assert {"p": "/x/y", "n": [1, 2]} == yaml.load(text)
    path = tmp_path / "t.yaml"
    path.write_text("noob_id: 'peek'\nnodes:\n  a:\n    noob_id: inner # comment\n")
    assert ("peek", ["inner"], ["peek", "inner"]) == (
        yaml_peek("noob_id", path), yaml_peek("noob_id", path, root=False, first=False)[1:],
        yaml_peek("noob_id", path, root=False, first=False))
    with pytest.raises(KeyError):
        yaml_peek("missing", path)
    assert issubclass(TubeSpecification, ConfigYAMLMixin) and issubclass(ConfigYAMLMixin, YAMLMixin)
    assert isinstance(TubeSpecification.config_sources(), list)

    @attrs.define
    class Settings(YAMLMixin):
        name: str
        size: int = 1

    Settings("a", 3).to_yaml(tmp_path / "s.yaml")
    assert Settings("a", 3) == Settings.from_yaml(tmp_path / "s.yaml")


def test_logging_config(monkeypatch):
    """noob.logging.config.logs.level sets the level of the noob logger."""
    import logging

    import noob.logging

    monkeypatch.setattr(noob.logging.config.logs, "level", "WARNING")
    assert ("WARNING", logging.WARNING) == (noob.logging.config.logs.level, logging.getLogger("noob").level)
    with pytest.raises(ValueError):
        noob.logging.config.logs.level = "LOUD"
    assert noob.logging.config is noob.config.config
    assert isinstance(noob.config.Config().config_dirs, list)


def test_runner_base_and_cli():
    """noob.runner.base.TubeRunner is the runners' base; noob.cli.run.run is a click command."""
    click = pytest.importorskip("click")
    from noob.cli.run import run
    from noob.runner.base import TubeRunner

    assert issubclass(noob.SynchronousRunner, TubeRunner)
    assert isinstance(run, click.Command)
    assert "output_format" in [p.name for p in run.params]


def test_injected_eventmap_is_not_dict():
    """``EventMap`` is its own annotation: a ``dict`` parameter is an ordinary slot."""
    from noob.node.base import slots_of
    from noob.types import EventMap

    def f(a: dict, events: EventMap) -> Annotated[Any, Name("x")]:
        return a

    assert [None, "events"] == [s.injection for s in slots_of(f)]


def test_recursive_spec_builds_a_tube(compat_source):
    """A spec loaded with context={"recursive": True} (child specs inside) still builds and runs."""
    from noob.spec import TubeSpecification

    spec = TubeSpecification.from_any("compat-parent", context={"recursive": True})
    assert [0, 10, 20] == noob.SynchronousRunner(noob.Tube.from_specification(spec)).run(3)


def test_internal_module_names():
    """noob.const and noob.store, which code tied to the original's internals imports."""
    import noob.const
    import noob.store
    from noob.event import EventStore

    assert (noob.store.EventStore, "__META__") == (EventStore, noob.const.META_SIGNAL)
    assert str(noob.MetaSignal.NoEvent).startswith(noob.const.META_SIGNAL)
    assert ("assets", "input", "meta", "tube") == noob.const.RESERVED_IDS
