"""The live view (``noob.view``) and the observation hook on a ``RayRunner``: per-node figures
replayed from the actors, sampled values, attach / detach at any time, the epoch hook calls.

Lives here for the session's local Ray (``conftest.py``); the rest of the view's tests are in
``tests/test_view.py`` and ``tests/test_view_browser.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from observers import EpochLog

from noob import Tube
from noob.runner.observe import UNSENT, Observer
from noob.runner.ray import RayRunner
from noob.view import Stats

CHAIN = {
    "noob_id": "view-ray",
    "nodes": {
        "a": {"type": "raynodes.count"},
        "b": {"type": "raynodes.add1", "depends": "a.value"},
        "c": {"type": "raynodes.ramp", "depends": "b.value"},
        "r": {"type": "return", "depends": "c.value"},
    },
}

#: RayRunner configurations: placement, compiled graph or classic calls, epochs in flight
CONFIGS = {
    "fused": {},
    "fused-classic": {"compiled": False},
    "node": {"placement": "node"},
    "node-classic": {"placement": "node", "compiled": False},
    "node-k3": {"placement": "node", "max_epochs_in_flight": 3},
    "fused-classic-k3": {"compiled": False, "max_epochs_in_flight": 3},
}


class Calls(Observer):
    """Counts replayed calls per node and keeps the results that crossed (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.values: list[Any] = []
        self.runner: Any = None

    def attached(self, runner: Any) -> None:
        self.runner = runner

    def node_finished(self, node: int, t0: int, t1: int, result: Any) -> None:
        with self.lock:
            node_id = self.runner.plan.node_ids[node]
            self.calls[node_id] = self.calls.get(node_id, 0) + 1
            if result is not UNSENT:
                self.values.append((node_id, result))


def wait_for(check: Any, seconds: float = 20.0) -> None:
    """Poll ``check()`` until it is true (the driver replays every ~0.15 s)."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("config", CONFIGS)
def test_every_node_gets_calls_latencies_and_picked_values(core, config):
    """Calls, p50 / p99 and share per node, replayed from the actors; a picked array signal's
    value arrives downsampled with its full length; no epoch is left in flight."""
    stats = Stats()
    runner = RayRunner(Tube.from_specification(CHAIN), core=core, **CONFIGS[config])
    runner.add_observer(stats)
    stats.pick("c", "value")
    with runner:
        runner.run(30)
        wait_for(lambda: all(n["calls"] == 30 for n in stats.status()["nodes"].values()))
        doc = stats.status(values=True)
    assert {"a": 30, "b": 30, "c": 30, "r": 30} == {k: n["calls"] for k, n in doc["nodes"].items()}
    assert all(0 < n["p50_ms"] <= n["p99_ms"] for n in doc["nodes"].values())
    assert all(n["share"] >= 0 and n["state"] == "idle" for n in doc["nodes"].values())
    assert (30, 0) == (doc["epochs"], doc["in_flight"])
    value = doc["values"]["c.value"]
    assert ("line", 1024, 512) == (value["kind"], value["n"], len(value["y"]))
    first = value["y"][0]  # ramp(x + 1) starts at x + 1, strided by 2
    assert first in range(1, 31) and [first + 2 * j for j in range(3)] == value["y"][:3]


def test_detached_observer_hears_nothing_more_and_attaching_while_running_works(core):
    """After ``remove_observer`` nothing more is replayed and the watcher is gone; observers
    attached to a running compiled graph get every later call and picked values, without a
    recompile."""
    first, second, stats = Calls(), Calls(), Stats()
    runner = RayRunner(Tube.from_specification(CHAIN), core=core, placement="node")
    runner.add_observer(first)
    with runner:
        graph = runner._graph
        assert graph is not None
        runner.run(10)
        wait_for(lambda: first.calls.get("r") == 10)
        runner.remove_observer(first)
        assert runner._watcher is None
        runner.run(10)
        runner.add_observer(second)
        runner.add_observer(stats)
        stats.pick("b", "value")
        time.sleep(0.4)  # a pick reaches the actors with the watcher's next pull (every 0.15 s)
        runner.run(5)
        wait_for(lambda: second.calls.get("r") == 5)
        wait_for(lambda: "number" == stats.status(values=True)["values"]["b.value"]["kind"])
        time.sleep(0.4)  # a few pulls
        assert graph is runner._graph
    assert {"a": 10, "b": 10, "c": 10, "r": 10} == first.calls
    assert {"a": 5, "b": 5, "c": 5, "r": 5} == second.calls
    doc = stats.status(values=True)
    assert {5} == {n["calls"] for n in doc["nodes"].values()}
    assert doc["values"]["b.value"]["value"] in range(21, 26)  # b = a + 1, a in 20..24


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "classic"])
def test_deinit_with_an_observer_delivers_the_last_calls_and_stops_the_thread(core, compiled):
    """``deinit()`` with an observer attached returns once the actors' last records are
    replayed (every call counted, no waiting) and the watcher thread has ended."""
    calls = Calls()
    runner = RayRunner(Tube.from_specification(CHAIN), core=core, compiled=compiled)
    runner.add_observer(calls)
    with runner:
        watcher = runner._watcher
        runner.run(7)
    assert {"a": 7, "b": 7, "c": 7, "r": 7} == calls.calls
    assert watcher is not None and not watcher._thread.is_alive()
    assert runner._watcher is None


@pytest.mark.parametrize("config", ["fused", "node-k3", "fused-classic-k3"])
def test_epoch_starts_and_exhausted_sources_are_reported_once_each(core, config):
    """As on every runner: each epoch starts once before it ends; each source is reported
    in the epoch it ran out in (``a`` after 3 values, ``b`` after 5). With ``k`` epochs in
    flight the ``k - 1`` epochs admitted after epoch 5 start and end too."""
    tube = Tube.from_specification({
        "noob_id": "view-ray-sources",
        "nodes": {
            "a": {"type": "raynodes.count", "params": {"limit": 3}},
            "b": {"type": "raynodes.count", "params": {"limit": 5}},
            "pa": {"type": "raynodes.add1", "depends": "a.value"},
            "pb": {"type": "raynodes.add1", "depends": "b.value"},
        },
    })
    log = EpochLog()
    runner = RayRunner(tube, core=core, **CONFIGS[config])
    runner.add_observer(log)
    with runner:
        runner.run()
    started = [e[1] for e in log.log if e[0] == "started"]
    epochs = list(range(5 + CONFIGS[config].get("max_epochs_in_flight", 1)))
    assert epochs == started == [e[1] for e in log.log if e[0] == "ended"]
    assert all(log.log.index(("started", e)) < log.log.index(("ended", e)) for e in started)
    assert [(0, 3), (1, 5)] == [e[1:] for e in log.log if e[0] == "exhausted"]


def test_view_controls_and_epoch_figures(core):
    """Epochs and epochs/s are counted; a disable from the view applies between epochs."""
    stats = Stats()
    runner = RayRunner(Tube.from_specification(CHAIN), core=core)
    runner.add_observer(stats)
    with runner:
        for _ in range(4):
            assert stats.control.between_epochs(runner)
            runner.process()
        stats.control.disable("c")
        assert stats.control.between_epochs(runner)
        assert runner.process() is None
    doc = stats.status()
    assert (5, 4, 0) == (doc["epochs"], doc["last_epoch"], doc["in_flight"])
    assert doc["rate_hz"] > 0
    assert "disabled" == doc["nodes"]["c"]["state"]
    assert [{"op": "disable", "node": "c", "error": None}] == doc["controls"]["applied"]
