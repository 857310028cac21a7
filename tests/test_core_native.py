"""Special nodes the core's loop carries out itself (``Dispatcher.set_native``), on both cores.

Each native operation must give what calling the node's Python callable gives: the runner-level
tests (map, gather, return) cover that through tubes; these pin the core's side alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from noob import _core
from noob.types import MetaSignal

NOEVENT = MetaSignal.NoEvent


@pytest.fixture
def impl(core):
    """The core module under test."""
    return _core.get(core)


def _one(impl, fn, n_args: int, kwnames=None, n_pos=None):
    """A one-node dispatcher: node 0 takes slots 1..n_args and writes slot 0."""
    return impl.Dispatcher(
        [fn], [0], np.array([impl.F_ENABLED | impl.F_GENERATOR], np.uint8), [0, n_args], list(range(1, 1 + n_args)),
        [1] * n_args, [n_args if n_pos is None else n_pos], [kwnames], [0, 1], [0], [0, 0], [], [], [], None,
    )


def test_native_gather_by_count_shares_the_list(impl):
    """A gather of n=3 emits a copy every third value and empties the very list it was given."""
    items: list = []
    d = _one(impl, None, 1, ("value",), 0)
    d.set_native(0, impl.NATIVE_GATHER, items, 3)
    values = [NOEVENT, None]
    out = []
    for x in range(7):
        values[1] = x
        d.run(values)
        out.append(values[0])
    assert [NOEVENT, NOEVENT, [0, 1, 2], NOEVENT, NOEVENT, [3, 4, 5], NOEVENT] == out
    assert [6] == items


def test_native_gather_count_from_a_slot(impl):
    """With gather_n 0 the count is the second argument; NoEvent there collects without emitting."""
    items: list = []
    d = _one(impl, None, 2, ("value", "n"), 0)
    d.set_native(0, impl.NATIVE_GATHER, items, 0)
    values = [NOEVENT, "a", 2]
    d.run(values)
    assert NOEVENT is values[0]
    values[1] = "b"
    d.run(values)
    assert ["a", "b"] == values[0]


def test_native_source_runs_out(impl):
    """A native source gives its iterator's values, then is flagged exhausted and counted once."""
    d = _one(impl, None, 0)
    d.set_native(0, impl.NATIVE_NEXT, iter([5, 6]))
    values = [NOEVENT]
    assert [0, 0, 1, 0] == [d.run(values) for _ in range(4)]
    assert bool(d.flags[0] & impl.F_EXHAUSTED)


def test_native_source_error_is_the_generators(impl):
    """An exception inside a native source's generator propagates with its own type."""
    def gen():
        yield 1
        raise KeyError("inside")

    d = _one(impl, None, 0)
    d.set_native(0, impl.NATIVE_NEXT, gen())
    values = [NOEVENT]
    d.run(values)
    assert 1 == values[0]
    with pytest.raises(KeyError, match="inside"):
        d.run(values)


@pytest.mark.parametrize(
    ("kind", "kwnames", "n_pos", "expected"),
    [
        ("NATIVE_RET_SCALAR", None, 1, 1),
        ("NATIVE_RET_TUPLE", None, 2, (1, 2)),
        ("NATIVE_RET_DICT", ("a", "b"), 0, {"a": 1, "b": 2}),
        ("NATIVE_RET_BOTH", ("b",), 1, ((1,), {"b": 2})),
    ],
)
def test_native_return_shapes(impl, kind, kwnames, n_pos, expected):
    """The four return forms, built by the core from the argument slots."""
    width = 1 if kind == "NATIVE_RET_SCALAR" else 2
    d = _one(impl, None, width, kwnames, n_pos)
    d.set_native(0, getattr(impl, kind))
    values = [NOEVENT, 1, 2]
    d.run(values)
    assert expected == values[0]


def test_epoch_result(impl):
    """``epoch`` returns the return slot (NoEvent as None), shapes a batch type, reports exhaustion."""
    seen = []

    class Batch:
        pass

    d = _one(impl, None, 0)
    d.set_native(0, impl.NATIVE_NEXT, iter([7, NOEVENT, Batch()]))
    d.set_result(0, lambda: seen.append("out"), Batch, lambda b: "shaped")
    values = [NOEVENT]
    assert [7, None, "shaped", None] == [d.epoch(values) for _ in range(4)]
    assert ["out"] == seen
    d.set_result(-1)
    assert d.epoch(values) is None


def test_epoch_writes_its_number_and_clears_slots(impl):
    """``epoch`` writes the epoch number to ``epoch_slot`` and NoEvent to the ``reset`` slots before running."""
    seen = []
    d = _one(impl, lambda x: seen.append(x) or x, 1)
    d.set_result(0, epoch_slot=1, reset=[2])
    values = [NOEVENT, None, "stale"]
    assert [0, 1, 2] == [d.epoch(values) for _ in range(3)]
    assert ([0, 1, 2], NOEVENT, 2, 3) == (seen, values[2], d.last_epoch, d.epochs)
    with pytest.raises(ValueError, match="negative"):
        d.set_result(0, reset=[-1])


# ---------------------------------------------------------------- through runners

TUBES = ["basic.yaml", "map/map_gather.yaml", "map/map_return.yaml", "map/map_depends.yaml", "map/map_nested.yaml",
         "map/map_gather_return.yaml", "map/map_nested_return.yaml"]


@pytest.mark.parametrize("path", TUBES)
def test_native_nodes_change_no_result(make_runner, path):
    """A runner whose special nodes run natively returns what one calling every node returns."""
    import random

    random.seed(7)
    native = make_runner(path)
    native.init()
    assert int(native._dispatcher.flags.max()) & native.core.F_NATIVE  # something runs natively
    got = [native.process() for _ in range(4)]
    random.seed(7)
    called = make_runner(path)
    called.init()
    called._natives_off()
    assert not int(called._dispatcher.flags.max()) & called.core.F_NATIVE
    assert [called.process() for _ in range(4)] == got


def test_observer_sees_special_nodes(make_runner):
    """While an observer is attached the source, the gather and the return are called (and seen); after, native again."""
    from noob.runner.observe import Observer

    seen: list[str] = []

    class Names(Observer):
        def node_started(self, node: int, t0: int) -> None:
            seen.append(runner.plan.node_ids[node])

    runner = make_runner({"noob_id": "g", "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "g": {"type": "gather", "params": {"n": 2}, "depends": [{"value": "src.index"}]},
        "r": {"type": "return", "depends": "g.value"},
    }})
    runner.init()
    names = Names()
    runner.add_observer(names)
    assert [None, [0, 1]] == [runner.process(), runner.process()]
    assert ["src", "g", "src", "g", "r"] == seen
    runner.remove_observer(names)
    assert runner.core.NATIVE_GATHER == int(runner._dispatcher.native[runner.plan.index["g"]])
    assert [None, [2, 3]] == [runner.process(), runner.process()]
