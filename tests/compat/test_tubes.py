"""Tubes written in the original's YAML, with the original's ``noob.testing`` helpers, give the
original's results through both runners and both cores (see ``conftest.Driver``)."""

from __future__ import annotations

import asyncio
import string

import pytest

from noob import Epoch, MetaSignal
from noob.event import EventStore, is_event
from noob.exceptions import InputMissingError, SchedulerExhaustedError

LETTERS = string.ascii_lowercase


def test_basic(drive):
    """count_source -> multiply(left) -> return (scalar): 0, 2, 4."""
    assert [0, 2, 4] == drive.run("basic", 3)


def test_basic_by_id_and_iter(drive):
    """The tube is found by its noob_id; iter(n) gives the same values as run(n)."""
    assert [0, 2, 4, 6, 8] == drive.iter("compat-basic", 5)


def test_multi_signal_source(drive):
    """word_counts is a two-signal source; both signals feed keyword slots of one node."""
    for out in drive.run("multi_signal", 5):
        assert {out["word"]: out["counts"]} == out["dict"]
        assert 2 <= len(out["counts"]) <= 5


def test_mixed_slot(drive):
    """Three positional strings (slots 0, 1, 2) mixed with keyword slots, one of them ``six: dict``."""
    assert [True] * 3 == drive.run("mixed_slot", 3)


def test_async_nodes(drive):
    """number_to_letter (async function, signal ``value``) and NumberToLetterCls (async method)."""
    expected = [(LETTERS[i], LETTERS[i + 1], LETTERS[2 * i]) for i in range(4)]
    assert expected == drive.run("async", 4)


def test_branch_switching(drive):
    """One of switch's three signals fires per epoch; this_or_that's optional slots take whichever did."""
    out = drive.run("branch_switching", 6)
    assert [["this"], ["that"], ["the_other"]] * 2 == [list(o) for o in out]
    assert ["apple!", "carrot!", "quartz!"] == [next(iter(o.values())) for o in out[:3]]


def test_runner_asset(drive):
    """A runner-scoped counter shared across epochs: 2**(i+1)-1 and twice that."""
    expected = [{"increment": 2 ** (i + 1) - 1, "more_increment": 2 * (2 ** (i + 1) - 1)} for i in range(4)]
    assert expected == drive.run("runner_asset", 4)


def test_process_asset(drive):
    """A process-scoped counter is fresh every process() call and shared within it."""
    assert [{"a": 2, "b": 4}] * 3 == drive.run("process_asset", 3)


def test_node_asset(drive):
    """A node-scoped context manager: each node gets its own, closed right after the node ran."""
    out = drive.run("node_asset", 3)
    assert [(3, 3, 1, 1, 5)] * 3 == [(o["a"], o["b"], o["exited"].entered, o["exited"].exited, o["exited"].current) for o in out]


def test_asset_depends_copy(drive):
    """A runner asset stored by b.iterator moves by 2 per epoch: post_depends mutates this epoch's object."""
    assert [{"a": 2 * i, "post": 2 * i + 2} for i in range(4)] == drive.run("asset_depends", 4)


def test_initializer_asset(drive):
    """An Asset subclass: obj is True once initialised; passthrough returns (value, args, kwargs)."""
    assert [(True, (), {})] * 2 == drive.run("initializer", 2)


def test_inputs(drive):
    """Tube inputs in params and depends (with a default), a process input per call."""
    calls = [{"multiply_process": k} for k in (1, 2, 3)]
    assert [7, 28, 63] == drive.process("input_mixed", calls, input={"start": 1})


def test_inputs_missing(drive):
    """A missing required tube input, and run() with a process input, are InputMissingErrors."""
    with pytest.raises(InputMissingError):
        drive.tube("input_mixed")
    with pytest.raises(InputMissingError):
        drive.run("input_mixed", 1, input={"start": 1})


def test_optional_input_and_enabled_by_input(drive):
    """A non-required input's default; ``enabled: input.x`` switches the return node off."""
    assert [10, 11, 12] == drive.run("input_optional", 3)
    assert [20, 21] == drive.run("input_optional", 2, input={"start": 20})
    assert drive.run("input_optional", 2, input={"return_enabled": False}) is None


def test_map_gather(drive):
    """map over a word list, exclaim each, gather by the map's n, concat: in the same epoch."""
    for out in drive.run("map_gather", 4):
        assert "".join(w + "!" for w in out["words"]) == out["joined"]


def test_map_nested(drive):
    """Nested maps (words, then letters) give every inner result, in order."""
    for out in drive.run("map_nested", 3):
        assert [c + "!" for c in "".join(out["words"])] == out["letters"]


def test_gather_n(drive):
    """gather n=5 emits every fifth epoch; iter() skips the epochs in between."""
    assert ["abcde", "fghij"] == drive.run("gather", 10)
    assert ["abcde", "fghij", "klmno"] == drive.iter("gather", 3)


def test_gather_trigger(drive):
    """gather in trigger mode emits what it collected when the trigger fires (every 3rd epoch)."""
    assert [[0, 1, 2], [3, 4, 5], [6, 7, 8]] == drive.run("gather_trigger", 9)


def test_injections(drive):
    """Epoch and EventMap injections: the epoch, and {slot: Event} for the inputs that fired."""
    out = drive.run("injections", 3)
    assert [Epoch(0), Epoch(1), Epoch(2)] == [o["epoch"] for o in out]
    events = [o["events"]["special_value"] for o in out]
    assert all(is_event(e) for e in events)
    assert [("a", "index", Epoch(i), i) for i in range(3)] == [(e["node_id"], e["signal"], e["epoch"], e["value"]) for e in events]


def test_exhausted_source(drive):
    """count_source(limit=3) ends run() and iter() after 0, 1, 2."""
    assert [0, 1, 2] == drive.run("exhaustion", 10)
    assert [0, 1, 2] == drive.iter("exhaustion", 10)


def test_exhausted_source_process(drive):
    """process() gives 0, 1, 2, then None in the epoch that finds the source empty, then raises."""
    assert [0, 1, 2, None] == drive.process("exhaustion", [{}] * 4)
    with pytest.raises(SchedulerExhaustedError):
        drive.process("exhaustion", [{}] * 5)


def test_class_nodes(drive):
    """Node subclasses, a @process_method generator, plain classes with process / @process_method."""
    expected = [
        {"product": (2 + i) * (5 + i), "volume": (2 + i) * i * 3, "volume2": (2 + i) ** 2 * 2, "stateful": (2 + i) * i}
        for i in range(3)
    ]
    assert expected == drive.run("classes", 3)


def test_dynamic_signals(drive):
    """DynamicSignals: signals and slots named by params (get_signals/get_slots return dicts)."""
    assert [{"first": i, "second": LETTERS[i]} for i in range(3)] == drive.run("dynamic", 3)


def test_return_without_depends(drive):
    """A return node without depends returns None (run() gives None)."""
    assert drive.run("return_none", 3) is None
    assert [None, None] == drive.process("return_none", [{}, {}])


def test_nested_tube(drive):
    """type: tube with a child id, a param as child tube input and a process input slot."""
    assert [0, 10, 20] == drive.run("parent", 3)


def test_extends_by_id(drive):
    """extends a tube by id; the extension overrides one param."""
    assert [0, 5, 10] == drive.run("extends_child", 3)


def test_callbacks(drive):
    """Callbacks get every node event and EpochEnded, in emission order."""
    events: list = []
    drive.process("basic", [{}], before=lambda r: r.add_callback(events.append))
    assert [("a", "index"), ("b", "value"), ("c", "value"), ("meta", "EpochEnded")] == [
        (e["node_id"], e["signal"]) for e in events
    ]


def test_store_shape(drive):
    """runner.store.events[epoch][node][signal] -> [Event], with missing keys empty."""
    stores = []

    def keep(runner):
        stores.append(runner)

    drive.process("basic", [{}, {}], before=keep)
    store = stores[0].store
    assert 2 == store.events[Epoch(1)]["b"]["value"][0]["value"]
    assert [] == store.events[Epoch(1)]["b"]["nothing"]
    assert 1 == store.get("a", "index")["value"]


def test_store_map_subepochs(drive):
    """With a store given, map sub-epochs are in it: each element's events under Epoch(e) / (map, k)."""
    tube = drive.tube("map_gather")
    runner = type(drive.runner(tube))(tube, store=EventStore(), core=drive.core)
    if drive.kind == "sync":
        with runner:
            out, store = runner.process(), runner.store
    else:
        async def main():
            async with runner:
                return await runner.process(), runner.store

        out, store = asyncio.run(main())
    words = out["words"]
    for k, word in enumerate(words):
        sub = store.events[Epoch(0) / ("b", k)]
        assert word == sub["b"]["value"][0]["value"]
        assert word + "!" == sub["c"]["value"][0]["value"]
    assert [MetaSignal.NoEvent] * 2 == [store.events[Epoch(0) / ("b", k)]["d"]["value"][0]["value"] for k in (0, 1)]
    assert [w + "!" for w in words] == store.events[Epoch(0)]["d"]["value"][0]["value"]
    assert 3 == store.events[Epoch(0)]["b"]["n"][0]["value"]
    assert [] == store.events[Epoch(0)]["b"]["value"]


def test_enable_disable(drive):
    """Tube.disable_node changes the definition for runners made afterwards; the runner's own call changes only it."""
    tube = drive.tube("basic")
    tube.disable_node("c")
    if drive.kind == "sync":
        runner = drive.runner(tube)
        assert runner.run(2) is None
        runner.enable_node("c")
        assert [4, 6] == runner.run(2)
        assert drive.runner(tube).run(1) is None  # the tube's definition is still disabled
    tube.enable_node("c")
    assert [0] == _run_one(drive, tube)


def _run_one(drive, tube):
    runner = drive.runner(tube)
    if drive.kind == "sync":
        return runner.run(1)

    async def main():
        async with runner:
            return await runner.run(1)

    return asyncio.run(main())


@pytest.mark.parametrize("name", ["basic", "multi_signal", "map_gather", "classes", "dynamic", "runner_asset"])
def test_spec_round_trip(name, compat_source):
    """A loaded spec dumps (model_dump) and loads back equal."""
    from noob import TubeSpecification

    spec = TubeSpecification.from_yaml(compat_source / f"{name}.yaml")
    data = spec.model_dump(exclude={"nodeinfo"}, exclude_none=True)
    for node in data["nodes"].values():
        node.pop("id")
    for section in ("assets", "input"):
        for entry in data.get(section, {}).values():
            entry.pop("id")
    assert spec == TubeSpecification.from_dict(data)


def test_stop_iteration_from_function_node(drive):
    """A plain function node raising StopIteration ends run() and iter() like an exhausted source."""
    source = {"noob_id": "stop", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "b": {"type": "testnodes.stop_at", "params": {"at": 3}, "depends": "a.index"},
        "r": {"type": "return", "depends": "b.value"},
    }}
    assert [0, 1, 2] == drive.run(source, 10)
    assert [0, 1, 2] == drive.iter(source, 10)
    assert [0, 1, 2, None] == drive.process(source, [{}] * 4)
