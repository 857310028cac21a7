"""RayRunner's compiled path (``noob.runner.ray_compiled``): the graph is built at ``init()``
and torn down at ``deinit()``, epochs overlap in order, exactly ``n`` epochs run, failures
come back as the user's exceptions, and the classic path takes over where it must."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import noob.runner.ray
from noob import SynchronousRunner, Tube
from noob.exceptions import RaceWarning, RunnerError
from noob.runner.ray import CompiledFallbackWarning, RayRunner, RayTimeoutError
from noob.types import Epoch

COUNT = {"type": "raynodes.count"}


def t(nodes: dict) -> Tube:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaceWarning)
        return Tube.from_specification({"noob_id": "t", "nodes": nodes})


def chain(path: Path | None = None) -> dict:
    """A source and two stages in three groups; with ``path``, the last stage logs each epoch."""
    last = {"type": "raynodes.write_line", "params": {"path": str(path)}} if path else {"type": "raynodes.add1"}
    return {
        "a": {**COUNT, "ray": {"group": "one"}},
        "b": {"type": "raynodes.add1", "depends": "a.value", "ray": {"group": "two"}},
        "c": {**last, "depends": "b.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": "c.value"},
    }


def test_several_groups_run_as_one_compiled_graph(core):
    """With several groups the epochs go through a compiled graph, with the sync runner's results."""
    expected = SynchronousRunner(t(chain())).run(5)
    with RayRunner(t(chain()), core=core) as runner:
        assert runner._graph is not None
        assert expected == [runner.process() for _ in range(5)]
    assert runner._graph is None


def test_compiled_false_uses_classic_calls(core):
    """compiled=False runs the same tube on classic actor calls, with the same results."""
    with RayRunner(t(chain()), core=core, compiled=False) as runner:
        assert runner._graph is None
        assert [2, 3, 4] == [runner.process() for _ in range(3)]


@pytest.mark.parametrize("k", [1, 3])
def test_iter_and_run_run_exactly_n_epochs(tmp_path, k):
    """iter(n) and run(n) run exactly n epochs, also with epochs in flight (a node logs each)."""
    log = tmp_path / "epochs.txt"
    runner = RayRunner(t(chain(log)), max_epochs_in_flight=k)
    assert list(range(1, 11)) == list(runner.iter(10))
    assert 10 == len(log.read_text().split())
    runner.init()
    assert [1, 2, 3, 4] == runner.run(4)
    runner.deinit()
    assert [str(i) for i in [*range(1, 11), 1, 2, 3, 4]] == log.read_text().split()


def test_pipelined_results_keep_epoch_order_and_state():
    """k=3: results in epoch order; a stateful node in another group sees its inputs in epoch order."""
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "arr": {"type": "raynodes.ramp", "params": {"n": 64}, "depends": "a.value", "ray": {"group": "two"}},
        "keep": {"type": "raynodes.Keeper", "depends": "arr.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": "keep.value"},
    }
    expected = SynchronousRunner(t(nodes)).run(20)
    runner = RayRunner(t(nodes), max_epochs_in_flight=3, timeout=60)
    assert expected == runner.run(20)
    runner.deinit()


def test_kept_arrays_do_not_stop_the_graph():
    """Arrays a node keeps across epochs, and results the caller keeps, do not block later epochs."""
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "arr": {"type": "raynodes.ramp", "params": {"n": 300_000}, "depends": "a.value", "ray": {"group": "two"}},
        "keep": {"type": "raynodes.Keeper", "depends": "arr.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": ["arr.value", "keep.value"]},
    }
    with RayRunner(t(nodes), timeout=30) as runner:
        kept = [runner.process() for _ in range(6)]
    assert [(i + 1, float(sum(range(i + 1)))) for i in range(6)] == [k for _, k in kept]
    assert [float(i) for i in range(6)] == [float(arr[0]) for arr, _ in kept]
    assert all(isinstance(arr, np.ndarray) and arr.shape == (300_000,) for arr, _ in kept)


def test_node_error_keeps_type_note_and_remote_traceback(core):
    """A failing node: its own exception type, our note, the remote traceback as __cause__; the next epoch runs."""
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "b": {"type": "raynodes.boom", "depends": "a.value", "ray": {"group": "two"}},
        "c": {"type": "raynodes.add1", "depends": "b.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": "c.value"},
    }
    with RayRunner(t(nodes), core=core) as runner:
        assert 1 == runner.process()
        with pytest.raises(KeyError) as info:
            runner.process()
        assert 3 == runner.process()
        assert runner._graph is not None
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "'b'" in notes and "epoch 1" in notes
    assert "no key for 1" in str(info.value.__cause__) and "boom" in str(info.value.__cause__)


def test_timeout_then_deinit_and_init_again():
    """A stage slower than timeout: RayTimeoutError naming its group; the runner starts again after deinit()."""
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "s": {"type": "raynodes.sleep_for", "params": {"seconds": 3.0}, "depends": "a.value", "ray": {"group": "slow"}},
        "r": {"type": "return", "depends": "s.value"},
    }
    runner = RayRunner(t(nodes))
    runner.init()
    runner.timeout = 0.5
    with pytest.raises(RayTimeoutError) as info:
        runner.process()
    assert "slow" == info.value.group
    with pytest.raises(RunnerError, match="deinit"):
        runner.process()
    runner.timeout = 30
    runner.deinit()
    runner.init()
    assert runner._graph is not None
    assert 0 == runner.process()
    runner.deinit()


def test_callbacks_added_while_running_get_every_stage_events():
    """add_callback on a running runner rebuilds the graph so every stage reports its events."""
    seen: list = []
    with RayRunner(t(chain())) as runner:
        assert 2 == runner.process()
        runner.add_callback(lambda e: seen.append((e["node_id"], e["epoch"])))
        assert 3 == runner.process()
        assert runner._graph is not None
    assert {("a", Epoch(1)), ("b", Epoch(1)), ("c", Epoch(1))} <= set(seen)


def test_fallback_warns_once_and_compiled_true_raises(monkeypatch):
    """Where no compiled graph can run: "auto" warns once and uses classic calls, True raises."""
    monkeypatch.setattr(noob.runner.ray, "unavailable", lambda: "a reason given by the test")
    runner = RayRunner(t(chain()))
    with pytest.warns(CompiledFallbackWarning, match="a reason given by the test"):
        runner.init()
    assert runner._graph is None
    assert 2 == runner.process()
    runner.deinit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runner.init()  # once per runner
    runner.deinit()
    with pytest.raises(RunnerError, match="a reason given by the test") as info:
        RayRunner(t(chain()), compiled=True).init()
    assert "compiled='auto'" in str(info.value)


def test_compiled_option_is_checked():
    """compiled= takes "auto", True or False."""
    with pytest.raises(ValueError, match="compiled must be"):
        RayRunner(t(chain()), compiled="yes")


def test_a_value_ray_cannot_send_stops_one_epoch_not_the_runner(core):
    """A value that does not pickle stops Ray's graph: that epoch raises Ray's TypeError with a
    note, the next epoch compiles the graph again, and the actors count epochs from there."""
    tube = t({
        "a": {**COUNT, "ray": {"group": "one"}},
        "b": {"type": "raynodes.lock_at", "depends": "a.value", "params": {"at": 1}, "ray": {"group": "one"}},
        "c": {"type": "raynodes.fail_at", "depends": "b.value", "params": {"at": 3}, "ray": {"group": "two"}},
        "r": {"type": "return", "depends": "c.value"},
    })
    with RayRunner(tube, core=core, timeout=60) as runner:
        assert 0 == runner.process()
        with pytest.raises(TypeError) as info:
            runner.process()
        assert any("epoch 1 of tube 't'" in note and "compiles it again" in note for note in info.value.__notes__)
        assert 2 == runner.process()
        with pytest.raises(ValueError) as failed:
            runner.process()
        assert ["[noob] raised by node 'c' in epoch 3 of tube 't'"] == failed.value.__notes__
        assert 4 == runner.process()


@pytest.mark.parametrize("k", [1, 3])
def test_a_source_running_out_reaches_the_driver_through_the_graph(core, k):
    """A source's stage sends nothing to the driver; when it runs out, the stage that reports
    takes that to the driver, and run() stops as the sync runner does."""
    nodes = {
        "a": {**COUNT, "params": {"limit": 4}, "ray": {"group": "one"}},
        "b": {"type": "raynodes.add1", "depends": "a.value", "ray": {"group": "two"}},
        "r": {"type": "return", "depends": "b.value"},
    }
    expected = SynchronousRunner(t(nodes)).run()
    with RayRunner(t(nodes), core=core, max_epochs_in_flight=k) as runner:
        assert [1] == runner._graph.reporting  # the return's stage only
        assert expected == runner.run()


@pytest.mark.parametrize("k", [1, 3])
def test_views_of_rays_buffers_never_outlive_their_epoch(core, k):
    """A plain function reads another actor's array as Ray's read-only view (no copy); what it
    returns holding that view (the array, a tuple, a list) is detached before a node that keeps
    values sees it; a class node gets its own writeable copy. Nothing stops the graph."""
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "arr": {"type": "raynodes.ramp", "params": {"n": 300_000}, "depends": "a.value", "ray": {"group": "two"}},
        "seen": {"type": "raynodes.describe", "depends": "arr.value", "ray": {"group": "three"}},
        "same": {"type": "raynodes.passthrough", "depends": "arr.value", "ray": {"group": "three"}},
        "listed": {"type": "raynodes.as_list", "depends": "arr.value", "ray": {"group": "three"}},
        "paired": {"type": "raynodes.pair", "depends": "arr.value", "ray": {"group": "three"}},
        "keep_same": {"type": "raynodes.Store", "depends": "same.value", "ray": {"group": "three"}},
        "keep_list": {"type": "raynodes.Store", "depends": "listed.value", "ray": {"group": "three"}},
        "keep_pair": {"type": "raynodes.Store", "depends": "paired.value", "ray": {"group": "three"}},
        "keep_arr": {"type": "raynodes.Store", "depends": "arr.value", "ray": {"group": "four"}},
        "r": {"type": "return", "depends": ["seen.value", "keep_same.value", "keep_list.value", "keep_pair.value",
                                              "keep_arr.value"]},
    }
    expected = SynchronousRunner(t(nodes)).run(6)
    with RayRunner(t(nodes), core=core, timeout=30, max_epochs_in_flight=k) as runner:
        got = runner.run(6)
        assert {"arr.value"} == {f"{n}.{s}" for n, s in runner.plan.signal_slot if runner.plan.signal_slot[(n, s)] in
                                 ray_views(runner, "three")}
    assert [e[1:] for e in expected] == [g[1:] for g in got]  # every kept array is writeable, as in one process
    assert [e[0][2:] for e in expected] == [g[0][2:] for g in got]  # what 'seen' read
    assert [False] * 6 == [seen[1] for seen, *_ in got]  # as Ray's read-only view, not a copy


def ray_views(runner: RayRunner, group: str) -> frozenset:
    """The slots the actor of ``group`` reads as Ray's views."""
    return ray_get(runner.actors[group].__ray_call__.remote(lambda actor: actor.runner._view_slots))


def ray_get(ref):
    import ray

    return ray.get(ref, timeout=30)


def test_deinit_after_large_arrays_is_prompt_and_deinitialises_every_node(core, tmp_path):
    """After a graph carried large arrays, Ray leaves a loop waiting at teardown (30 s, then
    for good): deinit() still deinitialises that actor's nodes, replaces the actor, and
    returns long before Ray's 30 s; init() then runs again."""
    import time

    log = tmp_path / "life.txt"
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "arr": {"type": "raynodes.ramp", "params": {"n": 300_000}, "depends": "a.value", "ray": {"group": "two"}},
        "life": {"type": "raynodes.LogLifeAny", "params": {"path": str(log)}, "depends": "arr.value", "ray": {"group": "three"}},
        "seen": {"type": "raynodes.total", "depends": "life.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": "seen.value"},
    }
    runner = RayRunner(t(nodes), core=core, timeout=120)
    runner.init()
    assert [float(sum(range(i, i + 300_000))) for i in range(3)] == [runner.process()[0] for _ in range(3)]
    start = time.monotonic()
    runner.deinit()
    assert time.monotonic() - start < 20  # Ray's own teardown waits 30 s here
    assert ["init life", "deinit life"] == [" ".join(line.split()[:2]) for line in log.read_text().splitlines()]
    with runner:
        assert float(sum(range(300_000))) == runner.process()[0]  # its source starts again, as in one process


def test_the_driver_sleeps_through_most_of_a_long_wait(monkeypatch):
    """Epochs of ~50 ms: the driver sleeps through most of each wait (Ray's read would spin),
    never longer than an epoch takes."""
    import time
    import types

    import noob.runner.ray_compiled as rc

    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(rc, "time", types.SimpleNamespace(perf_counter=time.perf_counter, sleep=sleep))
    nodes = {
        "a": {**COUNT, "ray": {"group": "one"}},
        "b": {"type": "raynodes.sleep_for", "depends": "a.value", "params": {"seconds": 0.05}, "ray": {"group": "two"}},
        "r": {"type": "return", "depends": "b.value"},
    }
    with RayRunner(t(nodes), timeout=60) as runner:
        start = time.perf_counter()
        assert [0, 1, 2, 3, 4, 5] == [runner.process() for _ in range(6)]
        elapsed = time.perf_counter() - start
    assert len(slept) >= 4  # every epoch after the first
    assert all(s > 0.02 for s in slept[1:])  # most of 50 ms
    assert sum(slept) < elapsed - 6 * 0.05 * (1 - rc.SLEEP_SHARE)  # never through the end of an epoch
