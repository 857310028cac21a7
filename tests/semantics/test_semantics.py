"""One behaviour on every runner: each scenario runs on every configuration and both cores.

The configurations are ``conftest.CONFIGS`` (sync; async default, ``loop_nodes="all"``,
``max_epochs_in_flight=3``; Ray fused and ``placement="node"``). Each scenario asserts
results, lifecycle counts (read from a log file, so Ray actors count too), errors (type,
note, attached later errors) and that the runner and the tube still work afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest
from sem_support import HAVE_RAY, Drive, tubeof, tubeof_file
from semantic_nodes import counts

from noob.exceptions import InputMissingError, SchedulerExhaustedError
from noob.runner.observe import Observer

SRC = "semantic_nodes.source"


def chain(limit: int = 0, **extra_nodes: dict) -> dict:
    """``s`` (a source of ``limit`` values) -> ``b`` (+1) -> return."""
    return {
        "s": {"type": SRC, "params": {"limit": limit}},
        "b": {"type": "semantic_nodes.add", "depends": [{"x": "s.value"}]},
        "r": {"type": "return", "depends": "b.value"},
        **extra_nodes,
    }


def test_run_returns_each_epochs_result(drive):
    """run(n) returns the n results in epoch order."""
    d = drive(chain())
    assert [1, 2, 3, 4] == d.run(4)


def test_run_runs_exactly_n_epochs(drive):
    """run(n) runs n epochs, no more: the next process() gets the next value of the source."""
    d = drive(chain())
    d.init()
    assert [1, 2, 3, 4, 5] == d.run(5)
    assert 6 == d.process()


def test_iter_yields_n_results_and_keeps_a_runner_it_did_not_start(drive):
    """iter(n) in a running runner: n results, exactly n epochs, and the runner stays initialised."""
    d = drive(chain())
    d.init()
    assert [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] == d.iter(10)
    assert d.running
    assert 11 == d.process()


def test_iter_deinitialises_a_runner_it_started(drive):
    """iter(n) on a runner that was not running starts it and deinitialises it at the end."""
    d = drive(chain())
    assert [1, 2] == d.iter(2)
    assert not d.running
    assert 1 == d.process()  # started again: the source starts over


def test_iter_skips_epochs_without_a_result(drive):
    """With a return node, iter(n) skips epochs whose return did not fire; n results come."""
    nodes = chain()
    nodes["g"] = {"type": "gather", "params": {"n": 2}, "depends": [{"value": "b.value"}]}
    nodes["r"] = {"type": "return", "depends": "g.value"}
    d = drive(nodes)
    d.init()
    assert [[1, 2], [3, 4], [5, 6]] == d.iter(3)
    assert d.process() is None  # exactly 6 epochs ran: this is the 7th
    assert [7, 8] == d.process()


def test_exhaustion_ends_run_then_raises_then_restarts(drive):
    """A finite source ends run() cleanly; the next process() raises SchedulerExhaustedError;
    deinit() + init() start again."""
    d = drive(chain(limit=3))
    d.init()
    assert [1, 2, 3] == d.run(10)
    with pytest.raises(SchedulerExhaustedError):
        d.process()
    assert d.run(2) is None  # run() on an exhausted runner: no epoch, no result
    d.deinit()
    d.init()
    assert [1, 2] == d.run(2)


def test_exhaustion_ends_iter(drive):
    """iter() without a limit ends when the source runs out."""
    d = drive(chain(limit=4))
    assert [1, 2, 3, 4] == d.iter()


def test_exhaustion_is_per_source(drive):
    """A source that runs out stops what depends on it; an independent source goes on; the
    epoch in which nothing can run any more returns None; the next process() raises."""
    nodes = {
        "short": {"type": SRC, "params": {"limit": 2}},
        "long": {"type": SRC, "params": {"limit": 4}},
        "r": {"type": "return", "depends": [{"short": "short.value"}, {"long": "long.value"}]},
    }
    d = drive(nodes)
    d.init()
    got = [d.process() for _ in range(5)]
    assert [{"short": 0, "long": 0}, {"short": 1, "long": 1}, {"long": 2}, {"long": 3}, None] == got
    with pytest.raises(SchedulerExhaustedError):
        d.process()


def test_exhaustion_when_a_node_fails_in_the_same_epoch(drive):
    """A node failing in the epoch in which a source runs out: the error comes out, the
    source stays exhausted, the other source goes on, then the usual end."""
    nodes = {
        "short": {"type": SRC, "params": {"limit": 2}},
        "long": {"type": SRC, "params": {"limit": 4}},
        "f": {"type": "semantic_nodes.fail_at", "params": {"at": 2}, "depends": [{"x": "long.value"}]},
        "r": {"type": "return", "depends": [{"short": "short.value"}, {"f": "f.value"}]},
    }
    d = drive(nodes)
    d.init()
    assert [{"short": 0, "f": 0}, {"short": 1, "f": 1}] == [d.process(), d.process()]
    with pytest.raises(ValueError):
        d.process()
    assert [{"f": 3}, None] == [d.process(), d.process()]
    with pytest.raises(SchedulerExhaustedError):
        d.process()


def test_function_stop_iteration_ends_run(drive):
    """A plain function node raising StopIteration ends run() after that epoch, cleanly."""
    nodes = chain()
    nodes["b"] = {"type": "semantic_nodes.stop_at", "params": {"at": 2}, "depends": [{"x": "s.value"}]}
    d = drive(nodes)
    assert [0, 1] == d.run(10)


def test_node_failure_keeps_type_gains_note_and_runner_goes_on(drive):
    """A failing node's own exception comes out with a note naming node, epoch and tube; the
    next epoch runs normally."""
    nodes = chain()
    nodes["b"] = {"type": "semantic_nodes.fail_at", "params": {"at": 1}, "depends": [{"x": "s.value"}]}
    d = drive(nodes)
    d.init()
    assert 0 == d.process()
    with pytest.raises(ValueError, match="bad value 1") as info:
        d.process()
    assert "[noob] raised by node 'b' in epoch 1 of tube 'sem'" in info.value.__notes__
    assert 2 == d.process()
    d.deinit()
    assert [0] == d.run(1)  # the tube and a restarted runner work


def test_lifecycle_counts_match_after_a_failure(drive, runner_config, tmp_path):
    """Every init/enter is matched by exactly one deinit/exit, also around a failing epoch."""
    log = str(tmp_path / "log")
    nodes = {
        "s": {"type": SRC},
        "life": {"type": "semantic_nodes.Life", "params": {"log": log, "name": "life"},
                 "depends": [{"x": "s.value"}, {"res": "assets.per_node"}]},
        "b": {"type": "semantic_nodes.fail_at", "params": {"at": 2}, "depends": [{"x": "life.value"}]},
        "use": {"type": "semantic_nodes.add", "depends": [{"x": "b.value"}, {"k": "assets.k"}]},
        "r": {"type": "return", "depends": [{"v": "use.value"}, {"p": "assets.per_epoch"}]},
    }
    assets = {
        "per_node": {"type": "semantic_nodes.logged", "scope": "node", "params": {"log": log, "name": "node"}},
        "per_epoch": {"type": "semantic_nodes.logged", "scope": "process", "params": {"log": log, "name": "process"}},
        "k": {"type": "semantic_nodes.add", "scope": "runner", "params": {"x": 0, "k": 1}},
    }
    d = drive(tubeof(nodes, assets=assets))
    d.init()
    assert [{"v": 1, "p": "process"}, {"v": 2, "p": "process"}] == d.run(2)
    with pytest.raises(ValueError):
        d.process()
    assert {"v": 4, "p": "process"} == d.process()
    d.deinit()
    c = counts(log)
    assert {"init:life": 1, "deinit:life": 1, "enter:node": 4, "exit:node": 4} == {k: c[k] for k in ("init:life", "deinit:life", "enter:node", "exit:node")}
    # a process-scoped asset opens once per epoch -- on Ray, in the first stage of the epoch
    # that takes it, so not in an epoch that failed before that stage ran
    opened = 3 if runner_config[0] == "ray-node" else 4
    assert (opened, opened) == (c["enter:process"], c["exit:process"])


def test_every_teardown_error_is_raised_or_attached(drive, tmp_path):
    """Two failing node deinits and two failing asset exits: the first is raised, every other one attached."""
    log = str(tmp_path / "log")
    nodes = {
        "s": {"type": SRC},
        "x": {"type": "semantic_nodes.Life", "params": {"log": log, "name": "x", "fail_deinit": True},
              "depends": [{"x": "s.value"}, {"res": "assets.cm"}]},
        "y": {"type": "semantic_nodes.Life", "params": {"log": log, "name": "y", "fail_deinit": True},
              "depends": [{"x": "x.value"}, {"res": "assets.cm2"}]},
        "r": {"type": "return", "depends": "y.value"},
    }
    assets = {"cm": {"type": "semantic_nodes.logged", "scope": "runner", "params": {"log": log, "name": "cm", "fail_exit": True}},
              "cm2": {"type": "semantic_nodes.logged", "scope": "runner", "params": {"log": log, "name": "cm2", "fail_exit": True}}}
    d = drive(tubeof(nodes, assets=assets))
    d.init()
    assert [0, 1] == d.run(2)
    with pytest.raises((OSError, RuntimeError)) as info:
        d.deinit()
    told = " ".join([str(info.value), *getattr(info.value, "__notes__", [])])
    for text in ("deinit of x failed", "deinit of y failed", "exit of cm failed", "exit of cm2 failed"):
        assert text in told
    assert {"init:x": 1, "init:y": 1, "deinit:x": 1, "deinit:y": 1, "enter:cm": 1, "exit:cm": 1, "enter:cm2": 1, "exit:cm2": 1} == counts(log)
    assert [0] == d.run(1)  # a new start works
    with pytest.raises((OSError, RuntimeError)):
        d.deinit()


def test_one_signal_stored_into_two_assets_gives_two_copies(drive):
    """Two runner assets ``depends`` on the same signal: each gets its own copy (a == b every epoch)."""
    nodes = {
        "a": {"type": "semantic_nodes.take", "depends": [{"it": "assets.one"}]},
        "b": {"type": "semantic_nodes.take_after", "depends": [{"it": "assets.two"}, {"after": "a.value"}]},
        "c": {"type": "semantic_nodes.take_after", "depends": [{"it": "a.it"}, {"after": "b.value"}]},
        "r": {"type": "return", "depends": [{"a": "a.value"}, {"b": "b.value"}]},
    }
    assets = {
        "one": {"type": "semantic_nodes.counter", "scope": "runner", "depends": "c.it"},
        "two": {"type": "semantic_nodes.counter", "scope": "runner", "depends": "c.it"},
    }
    d = drive(tubeof(nodes, assets=assets))
    assert [{"a": 0, "b": 0}, {"a": 2, "b": 2}, {"a": 4, "b": 4}] == d.run(3)


def test_missing_process_input_raises_when_run_or_iter_is_called(drive):
    """run() and iter() on a tube with a required process-scoped input raise InputMissingError
    when called (before anything is awaited or iterated)."""
    nodes = {"b": {"type": "semantic_nodes.add", "depends": [{"x": "input.x"}]}, "r": {"type": "return", "depends": "b.value"}}
    d = drive(tubeof(nodes, input={"x": {"type": "int", "scope": "process"}}))
    for method in ("run", "iter"):
        with pytest.raises(InputMissingError):
            getattr(d.runner, method)(2)
    assert 4 == d.process(x=3)


def test_tube_disable_node_reaches_the_live_runner(drive):
    """``tube.disable_node("b")`` before ``process()`` of a live runner: ``b`` does not run;
    ``tube.enable_node("b")`` brings it back."""
    nodes = {
        "s": {"type": SRC},
        "b": {"type": "semantic_nodes.add", "depends": [{"x": "s.value"}]},
        "r": {"type": "return", "depends": [{"s": "s.value"}, {"b": "b.value"}]},
    }
    d = drive(nodes)
    tube = d.runner.tube
    d.init()
    assert {"s": 0, "b": 1} == d.process()
    tube.disable_node("b")
    assert {"s": 1} == d.process()
    tube.enable_node("b")
    assert {"s": 2, "b": 3} == d.process()


def test_runner_disable_node_stays_local(drive):
    """A runner's own ``disable_node`` changes that runner only, not the tube or other runners."""
    d1 = drive(chain())
    d2 = drive(d1.runner.tube)
    d1.init()
    d2.init()
    d1._do(d1.runner.disable_node("b"))
    assert d1.process() is None
    assert 1 == d2.process()


class Recorder(Observer):
    """Keeps what a runner reports: ``("started", epoch)``, ``("ended", epoch)`` and
    ``("failed", node id, epoch, type)``."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []
        self.runner: Any = None

    def attached(self, runner: Any) -> None:
        self.runner = runner

    def node_failed(self, node: int, epoch: Any, exc: BaseException) -> None:
        self.seen.append(("failed", self.runner.plan.node_ids[node], epoch, type(exc).__name__))

    def epoch_started(self, epoch: int) -> None:
        self.seen.append(("started", epoch))

    def epoch_ended(self, epoch: int) -> None:
        self.seen.append(("ended", epoch))


def test_observer_sees_every_epoch_end_and_each_failure_once(drive):
    """An observer gets one epoch_started and one epoch_ended per epoch (also a failed one),
    in that order, and one node_failed per failure."""
    nodes = chain()
    nodes["b"] = {"type": "semantic_nodes.fail_at", "params": {"at": 1}, "depends": [{"x": "s.value"}]}
    d = drive(nodes)
    rec = Recorder()
    d.runner.add_observer(rec)
    d.init()
    assert 0 == d.process()
    with pytest.raises(ValueError):
        d.process()
    assert 2 == d.process()
    assert [("started", 0), ("ended", 0), ("started", 1), ("failed", "b", 1, "ValueError"), ("ended", 1),
            ("started", 2), ("ended", 2)] == rec.seen
    d.runner.remove_observer(rec)
    assert 3 == d.process()
    assert 7 == len(rec.seen)


PIPELINED = ["async", "ray"] if HAVE_RAY else ["async"]


@pytest.mark.parametrize("window", [2, 3])
@pytest.mark.parametrize("kind", PIPELINED)
def test_epochs_in_flight_run_exactly_n(request, core, kind, window):
    """With several epochs in flight (``max_epochs_in_flight``), run(n) and iter(n) still run
    exactly n epochs: the source's next value proves it."""
    if kind == "ray":
        request.getfixturevalue("_ray_up")
        from noob.runner.ray import RayRunner as Runner
    else:
        from noob.runner.asyncio import AsyncRunner as Runner
    d = Drive(kind, Runner(tubeof(chain()), core=core, max_epochs_in_flight=window))
    try:
        d.init()
        assert [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] == d.iter(10)
        assert [11, 12, 13, 14] == d.run(4)
        assert 15 == d.process()
    finally:
        d.close()


def test_map_failure_does_not_poison_the_next_epoch(drive, runner_config, data_dir):
    """``pre -> map -> f -> gather(n: m.n)``: after ``f`` raises on one element, the next
    epoch's gather fires with every element (no partial state of the failed epoch survives).
    Pipelined async epochs refuse map nodes when the runner is made (documented)."""
    tube = tubeof_file(data_dir / "map" / "map_fail_once.yaml")
    if runner_config[0] == "async-k3":
        with pytest.raises(ValueError, match="cannot run pipelined epochs"):
            drive(tube)
        return
    d = drive(tube)
    d.init()
    with pytest.raises(ValueError):
        d.process()
    assert {"u": 1, "f": [10, 11, 12]} == d.process()
