"""The observation hook (``noob.runner.observe``): what every runner reports to an observer."""

from __future__ import annotations

import asyncio
import pickle
import threading
from typing import Any

import pytest
from observers import EpochLog

from noob import SynchronousRunner, Tube
from noob.runner.asyncio import AsyncRunner
from noob.runner.observe import UNSENT, Collector, Observer

CHAIN = {
    "noob_id": "observe-chain",
    "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "a": {"type": "testnodes.plus1", "depends": [{"x": "src.index"}]},
        "b": {"type": "testnodes.async_double", "depends": [{"x": "a.value"}]},
        "out": {"type": "return", "depends": "b.value"},
    },
}

FAILING = {
    "noob_id": "observe-fail",
    "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "bad": {"type": "testnodes.boom", "depends": [{"x": "src.index"}]},
        "out": {"type": "return", "depends": "bad.value"},
    },
}

#: every runner configuration: (label, factory(tube, core) -> runner, is_async)
CONFIGS = {
    "sync": (lambda tube, core: SynchronousRunner(tube, core=core), False),
    "async": (lambda tube, core: AsyncRunner(tube, core=core), True),
    "async-loop": (lambda tube, core: AsyncRunner(tube, core=core, loop_nodes="all"), True),
    "async-pipelined": (lambda tube, core: AsyncRunner(tube, core=core, max_epochs_in_flight=3), True),
}


class Recorder(Observer):
    """Keeps everything it is told, under a lock (nodes may run in worker threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[tuple] = []
        self.runner: Any = None

    def attached(self, runner: Any) -> None:
        self.runner = runner

    def detached(self, runner: Any) -> None:
        self.log.append(("detached",))

    def node_started(self, node: int, t0: int) -> None:
        with self.lock:
            self.log.append(("start", self.runner.plan.node_ids[node], t0))

    def node_finished(self, node: int, t0: int, t1: int, result: Any) -> None:
        with self.lock:
            self.log.append(("finish", self.runner.plan.node_ids[node], t1 - t0, result))

    def node_failed(self, node: int, epoch: Any, exc: BaseException) -> None:
        with self.lock:
            self.log.append(("failed", self.runner.plan.node_ids[node], epoch, exc))

    def epoch_ended(self, epoch: int) -> None:
        with self.lock:
            self.log.append(("epoch", epoch))

    def of(self, kind: str) -> list[tuple]:
        return [e for e in self.log if e[0] == kind]


def _drive(config: str, tube: Tube, core: str, steps: list) -> list:
    """Run ``steps`` (``"process"``, ``("add", obs)``, ``("remove", obs)``) on a fresh runner."""
    make, is_async = CONFIGS[config]
    runner = make(tube, core)
    out: list = []

    def step_sync() -> None:
        with runner:
            for step in steps:
                if step == "process":
                    out.append(runner.process())
                else:
                    getattr(runner, f"{step[0]}_observer")(step[1])

    async def step_async() -> None:
        async with runner:
            for step in steps:
                if step == "process":
                    out.append(await runner.process())
                else:
                    getattr(runner, f"{step[0]}_observer")(step[1])

    if is_async:
        asyncio.run(step_async())
    else:
        step_sync()
    return out


@pytest.mark.parametrize("config", CONFIGS)
def test_every_node_call_and_epoch_is_reported(core, config):
    """Each node call gives a start and a finish with its result and a duration; each epoch an end."""
    rec = Recorder()
    results = _drive(config, Tube.from_specification(CHAIN), core, [("add", rec), "process", "process"])
    assert [2, 4] == results
    finishes = [(e[1], e[3]) for e in rec.of("finish")]
    assert [("src", 0), ("a", 1), ("b", 2), ("out", 2), ("src", 1), ("a", 2), ("b", 4), ("out", 4)] == sorted(
        finishes, key=lambda f: (finishes.index(f) // 4, ["src", "a", "b", "out"].index(f[0]))
    )
    assert sorted(e[1] for e in rec.of("start")) == sorted(e[0] for e in finishes)
    assert all(e[2] >= 0 for e in rec.of("finish"))
    assert [("epoch", 0), ("epoch", 1)] == rec.of("epoch")


@pytest.mark.parametrize("config", CONFIGS)
def test_async_node_is_timed_to_the_end_of_its_await(core, config):
    """An ``async def`` node's duration covers its await, not just the coroutine's creation."""
    tube = Tube.from_specification({
        "noob_id": "observe-sleep",
        "nodes": {
            "src": {"type": "noob.testing.count_source"},
            "s": {"type": "testnodes.sleep_then", "params": {"delay": 0.02}, "depends": [{"x": "src.index"}]},
        },
    })
    rec = Recorder()
    _drive(config, tube, core, [("add", rec), "process"])
    (took,) = [e[2] for e in rec.of("finish") if e[1] == "s"]
    assert took >= 15_000_000


@pytest.mark.parametrize("config", CONFIGS)
def test_failure_is_reported_with_the_note(core, config):
    """A failing node is reported once named: the exception already carries node and epoch."""
    rec = Recorder()
    make, is_async = CONFIGS[config]
    runner = make(Tube.from_specification(FAILING), core)
    runner.add_observer(rec)

    async def go() -> None:
        async with runner:
            for _ in range(3):
                await runner.process()

    with pytest.raises(ValueError) as info:  # testnodes.boom raises on 2: in epoch 2
        if is_async:
            asyncio.run(go())
        else:
            with runner:
                for _ in range(3):
                    runner.process()
    (failed,) = rec.of("failed")
    assert ("failed", "bad", 2) == failed[:3]
    assert failed[3] is info.value
    assert any("node 'bad'" in n for n in failed[3].__notes__)
    assert [("epoch", 0), ("epoch", 1), ("epoch", 2)] == rec.of("epoch")
    assert ["src", "bad", "out"] * 2 + ["src"] == [e[1] for e in rec.of("finish")]


@pytest.mark.parametrize("config", CONFIGS)
def test_removed_observer_hears_nothing_more(core, config):
    """After ``remove_observer`` nodes are called unwrapped again and nothing is reported."""
    rec = Recorder()
    results = _drive(config, Tube.from_specification(CHAIN), core, [("add", rec), "process", ("remove", rec), "process"])
    assert [2, 4] == results
    assert 4 == len(rec.of("finish"))
    assert [("epoch", 0)] == rec.of("epoch")
    assert [("detached",)] == rec.of("detached")


def test_unobserved_runner_calls_nodes_unwrapped(core):
    """No observer: the core calls the nodes' own callables (observation costs nothing)."""
    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    with runner:
        bare = list(runner._fns)
        rec = Recorder()
        runner.add_observer(rec)
        assert all(getattr(f, "__wrapped__", None) is b for f, b in zip(runner._fns, bare))
        runner.remove_observer(rec)
        assert bare == runner._fns


def test_observer_attached_before_init_sees_nodes_initialised_later(core):
    """An observer added before ``init()`` wraps the nodes as they are initialised, and a node
    enabled later is reported too."""
    tube = Tube.from_specification(CHAIN)
    runner = SynchronousRunner(tube, core=core)
    rec = Recorder()
    runner.add_observer(rec)
    runner.disable_node("out")
    with runner:
        runner.process()
        runner.enable_node("out")
        assert 4 == runner.process()  # epoch 1: (1 + 1) * 2
    assert ["src", "a", "b", "src", "a", "b", "out"] == [e[1] for e in rec.of("finish")]


TWO_SOURCES = {
    "noob_id": "observe-two-sources",
    "nodes": {
        "a": {"type": "noob.testing.count_source", "params": {"limit": 3}},
        "b": {"type": "noob.testing.count_source", "params": {"limit": 5}},
        "pa": {"type": "testnodes.plus1", "depends": [{"x": "a.index"}]},
        "pb": {"type": "testnodes.plus1", "depends": [{"x": "b.index"}]},
    },
}


def check_epoch_log(log: EpochLog, runs: int) -> None:
    """Per run: epochs 0..5 start and end once each (a start before its end); source ``a``
    (node 0) runs out in epoch 3, ``b`` (node 1) in epoch 5."""
    epochs = [(e,) for r in range(runs) for e in range(6 * r, 6 * r + 6)]
    assert epochs == log.of("started")
    assert epochs == log.of("ended")
    assert all(log.log.index(("started", e)) < log.log.index(("ended", e)) for (e,) in epochs)
    assert [x for r in range(runs) for x in ((0, 6 * r + 3), (1, 6 * r + 5))] == log.of("exhausted")


@pytest.mark.parametrize("config", CONFIGS)
def test_epoch_starts_and_exhausted_sources_are_reported_once_each(core, config):
    """``epoch_started`` once per epoch, before its ``epoch_ended``; ``source_exhausted`` once
    per source in the epoch it ran out in, and again after ``deinit()`` + ``init()``."""
    make, is_async = CONFIGS[config]
    runner = make(Tube.from_specification(TWO_SOURCES), core)
    log = EpochLog()
    runner.add_observer(log)

    async def go() -> None:
        for _ in range(2):
            async with runner:
                await runner.run()

    if is_async:
        asyncio.run(go())
    else:
        for _ in range(2):
            with runner:
                runner.run()
    check_epoch_log(log, runs=2)


def test_collector_records_calls_and_samples_only_wanted_nodes(core):
    """A ``Collector`` (what a Ray actor attaches) keeps every call and, for wanted nodes only,
    one reduced sample per period; ``take`` empties it; an unwanted node is never sampled."""
    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    collector = Collector(len(runner.plan.node_ids), period_ns=10**15)
    a = runner.plan.index["a"]
    collector.want({a: lambda v: ("small", v)})
    runner.add_observer(collector)
    with runner:
        for _ in range(3):
            runner.process()
        now, calls, samples, running = collector.take()
        assert (0, [], {}, []) == (len(collector.calls), collector.take()[1], collector.take()[2], running)
        collector.want({})
        runner.process()
    assert ["src", "a", "b", "out"] * 3 == [runner.plan.node_ids[c[0]] for c in calls]
    assert all(t0 <= t1 <= now for _, t0, t1 in calls)
    assert {a: ("small", 1)} == {i: s[1] for i, s in samples.items()}  # the first call only: one per period
    assert samples[a][0] in [t1 for i, _, t1 in calls if i == a]
    assert {} == collector.take()[2]


def test_a_failing_reducer_does_not_fail_the_node(core):
    """The reducer runs inside the node's call: its error becomes the sample's text, not the node's."""
    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    collector = Collector(len(runner.plan.node_ids))
    a = runner.plan.index["a"]
    collector.want({a: lambda v: 1 / 0})
    runner.add_observer(collector)
    with runner:
        assert 2 == runner.process()
    assert "<not sampled: ZeroDivisionError: division by zero>" == collector.take()[2][a][1]


def test_unsent_survives_pickling_as_itself():
    """``UNSENT`` is one object, also after a trip between processes."""
    assert UNSENT is pickle.loads(pickle.dumps(UNSENT))
