"""RayRunner: what only the Ray runner has — placement, data between actors, epochs in flight,
remote failures, dead actors, timeouts, and the CLI."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import ray

from noob import SynchronousRunner, Tube
from noob.exceptions import RaceWarning, SpecError
from noob.runner import get_runner
from noob.runner.ray import RayActorLostError, RayRunner, RayTimeoutError

ROOT = Path(__file__).parents[2]


def _seed() -> None:
    random.seed(0)
    np.random.seed(0)
COUNT = {"type": "raynodes.count"}


def t(nodes: dict, **extra) -> Tube:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaceWarning)  # two users of one asset: on purpose here
        return Tube.from_specification({"noob_id": "t", "nodes": nodes, **extra})


def three_groups() -> dict:
    """A source and two stages, each in its own group, reporting their process ids."""
    return {
        "a": {**COUNT, "ray": {"group": "one"}},
        "b": {"type": "raynodes.where", "depends": "a.value", "ray": {"group": "two"}},
        "c": {"type": "raynodes.where", "depends": "b.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": "c.value"},
    }


# ---------------------------------------------------------------- placement


def test_get_runner_ray():
    """get_runner("ray") is RayRunner."""
    assert RayRunner is get_runner("ray")


def test_local_ray_runs_actors_at_the_drivers_priority(core):
    """A Ray that connect() starts runs its workers at niceness 0 (Ray's default is 15)."""
    tube = t({"a": COUNT, "n": {"type": "raynodes.niceness", "depends": "a.value"}, "r": {"type": "return", "depends": "n.value"}})
    with RayRunner(tube, core=core) as runner:
        assert os.nice(0) == runner.process()
    assert "RAY_worker_niceness" not in os.environ  # set for the raylet's start only


def test_default_placement_is_one_actor(core):
    """Without groups, the whole tube runs in one actor (group 'main'), not in the driver."""
    tube = t({"a": COUNT, "b": {"type": "raynodes.where", "depends": "a.value"}, "r": {"type": "return", "depends": "b.value"}})
    with RayRunner(tube, core=core) as runner:
        results = [runner.process() for _ in range(3)]
        assert ["main"] == list(runner.actors)
    assert [0, 1, 2] == [x for _, x in results]
    assert 1 == len({p for p, _ in results})
    assert os.getpid() not in {p for p, _ in results}


def test_groups_run_in_separate_processes(core):
    """``ray: {group: ...}`` puts nodes in their own actors; the return node follows its upstream node."""
    with RayRunner(t(three_groups()), core=core) as runner:
        (pid_c, (pid_b, x)) = runner.process()
        assert ["one", "two", "three"] == runner.layout.groups
        assert "three" == runner.layout.node_group[runner.plan.index["r"]]
    assert (0, True) == (x, len({pid_b, pid_c, os.getpid()}) == 3)


def test_groups_argument_overrides_spec(core):
    """RayRunner(groups=...) overrides the spec's groups; ungrouped nodes join their upstream group."""
    runner = RayRunner(t(three_groups()), core=core, groups={"b": "one", "c": "one"})
    assert ["one", "one", "one", "one"] == runner.layout.node_group


def test_placement_node_gives_each_node_an_actor(core):
    """placement="node": each ungrouped node is its own actor, the return node joins its upstream's; results are unchanged."""
    tube = t({"a": COUNT, "b": {"type": "raynodes.add1", "depends": "a.value"}, "r": {"type": "return", "depends": "b.value"}})
    with RayRunner(tube, core=core, placement="node") as runner:
        assert ["a", "b"] == list(runner.actors)
        assert "b" == runner.layout.node_group[runner.plan.index["r"]]
        assert [1, 2, 3] == [runner.process() for _ in range(3)]


def test_bad_ray_options_are_load_errors():
    """Unknown Ray options and wrong values are collected into one SpecError with YAML paths."""
    tube = t({"a": {**COUNT, "ray": {"colour": "red", "num_cpus": -1}}, "b": {"type": "raynodes.add1", "depends": "a.value", "ray": {"group": 3}}})
    with pytest.raises(SpecError) as info:
        RayRunner(tube, groups={"zz": "x"})
    paths = sorted(p.path for p in info.value.problems)
    assert ["groups", "nodes.a.ray.colour", "nodes.a.ray.num_cpus", "nodes.b.ray.group"] == paths


def test_two_actors_taking_one_asset_is_a_load_error():
    """Two groups taking one runner asset directly: a SpecError at construction naming both nodes and the fix."""
    tube = t(
        {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}], "ray": {"group": "x"}},
         "c": {"type": "testnodes.read", "depends": [{"box": "assets.res"}], "ray": {"group": "y"}}},
        assets={"res": {"type": "testnodes.CountedAsset", "scope": "runner", "params": {"size": 1}}},
    )
    with pytest.raises(SpecError) as info:
        RayRunner(tube)
    (problem,) = info.value.problems
    assert "nodes.c.depends[0]" == problem.path
    assert "'a' (group 'x') and 'c' (group 'y') both take it directly" in str(problem)
    assert "put 'a' and 'c' in one group" in str(problem)


def test_asset_round_trip_stays_in_its_actor():
    """The node an asset depends on joins the asset's actor, so the round trip never leaves it."""
    tube = t(
        {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}], "ray": {"group": "x"}},
         "b": {"type": "testnodes.bump", "depends": [{"box": "a.box"}]},
         "post": {"type": "testnodes.bump", "depends": [{"box": "b.box"}], "ray": {"group": "y"}},
         "r": {"type": "return", "depends": "post.box"}},
        assets={"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}},
    )
    runner = RayRunner(tube, placement="node")
    assert {"a": "x", "b": "x", "post": "y", "r": "y"} == dict(zip(runner.plan.node_ids, runner.layout.node_group))
    expected = SynchronousRunner(Tube.from_specification(tube.spec)).run(3)
    assert expected == runner.run(3)
    runner.deinit()


def test_map_region_in_another_group_is_a_load_error():
    """A node that runs once per element of a map cannot be placed in another actor than the map."""
    tube = Tube.from_specification(ROOT / "tests" / "data" / "map" / "map_gather.yaml")
    plan = tube.plan()
    m, region = next(iter(plan.regions.items()))
    inner = plan.node_ids[min(region)]
    with pytest.raises(SpecError) as info:
        RayRunner(tube, groups={plan.node_ids[m]: "one", inner: "two"})
    assert f"node {inner!r} runs once per element of map {plan.node_ids[m]!r}" in str(info.value)


def test_map_and_gather_feed_another_actor(core):
    """A map with its gather in one actor feeds a node in another; results equal the sync runner's."""
    path = ROOT / "tests" / "data" / "map" / "map_gather.yaml"
    tube = Tube.from_specification(path)
    last = [k for k in tube.plan().node_ids if k != "r" and tube.plan().index[k] not in set().union(*tube.plan().regions.values())][-1]
    _seed()
    expected = SynchronousRunner(Tube.from_specification(path), core=core).run(3)
    runner = RayRunner(tube, core=core, groups={last: "after"}, actor_setup=_seed)
    assert expected == runner.run(3)
    assert 2 == len(runner.actors)
    runner.deinit()


# ---------------------------------------------------------------- data between actors


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-graph", "classic"])
def test_arrays_go_actor_to_actor_not_through_the_driver(monkeypatch, compiled):
    """An 8 MB array crosses three actors; the driver only ever fetches statuses and the small result.

    Classic calls hand the array on read-only from the object store; a compiled graph hands
    on the actor's own copy out of Ray's channel (a view would stall the channel if kept).
    """
    tube = t({
        "src": {"type": "raynodes.big", "ray": {"group": "one"}},
        "mid": {"type": "raynodes.passthrough", "depends": "src.value", "ray": {"group": "two"}},
        "end": {"type": "raynodes.describe", "depends": "mid.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": "end.value"},
    })
    fetched: list = []

    def spying(real):
        def spy(refs, *args, **kwargs):
            out = real(refs, *args, **kwargs)
            fetched.append(out)
            return out
        return spy

    with RayRunner(tube, compiled=compiled) as runner:
        if compiled:
            monkeypatch.setattr(runner._graph, "fetch", spying(runner._graph.fetch))
        else:
            monkeypatch.setattr(ray, "get", spying(ray.get))
        pid_end, writeable, total, nbytes = runner.process()
        monkeypatch.undo()
    n = 8 * 1024 * 1024 // 8
    assert (compiled, float(n * (n - 1) // 2), 8 * 1024 * 1024) == (writeable, total, nbytes)
    assert fetched
    assert not any(isinstance(x, np.ndarray) for out in fetched for x in (out if isinstance(out, (list, tuple)) else [out]))


def test_values_crossing_actors_are_copies(core):
    """A node mutating what it received from another actor does not change the producer's object."""
    tube = t({
        "a": COUNT,
        "h": {"type": "raynodes.Holder", "depends": "a.value", "ray": {"group": "x"}},
        "m": {"type": "raynodes.append_one", "depends": "h.value", "ray": {"group": "y"}},
        "r": {"type": "return", "depends": "m.value"},
    })
    with RayRunner(tube, core=core) as runner:
        assert [[1], [1], [1]] == [runner.process() for _ in range(3)]
    with SynchronousRunner(Tube.from_specification(tube.spec), core=core) as sync:  # one process: one list
        assert [[1], [1, 1], [1, 1, 1]] == [list(sync.process()) for _ in range(3)]


# ---------------------------------------------------------------- epochs in flight


def _stamped(delay: float) -> Tube:
    return t({
        "a": {**COUNT, "ray": {"group": "one"}},
        "s1": {"type": "raynodes.stamp", "params": {"seconds": delay}, "depends": "a.value", "ray": {"group": "two"}},
        "s2": {"type": "raynodes.stamp", "params": {"seconds": delay}, "depends": "s1.value", "ray": {"group": "three"}},
        "r": {"type": "return", "depends": ["s1.value", "s2.value"]},  # joins s2's group, the deepest
    })


def test_epochs_in_flight_overlap_and_come_back_in_order(core):
    """With max_epochs_in_flight=3, stage s1 works on epoch e+1 while s2 works on epoch e; results stay in order."""
    runner = RayRunner(_stamped(0.1), core=core, max_epochs_in_flight=3)
    results = runner.run(6)
    runner.deinit()
    assert [0, 1, 2, 3, 4, 5] == [s2[0] for _, s2 in results]
    overlaps = [results[e + 1][0][1] < results[e][1][2] for e in range(5)]  # s1(e+1) starts before s2(e) ends
    assert all(overlaps)


def test_lock_step_by_default(core):
    """max_epochs_in_flight=1: an epoch's first stage starts only after the previous epoch ended."""
    runner = RayRunner(_stamped(0.02), core=core)
    results = runner.run(4)
    runner.deinit()
    assert all(results[e + 1][0][1] >= results[e][1][2] for e in range(3))


def test_iter_and_exhaustion_with_epochs_in_flight(core):
    """iter() streams in order; a finite source ends run() and iter() cleanly with k epochs in flight."""
    tube = t({"g": {"type": "raynodes.count", "params": {"limit": 4}, "ray": {"group": "src"}},
              "b": {"type": "raynodes.add1", "depends": "g.value", "ray": {"group": "stage"}},
              "r": {"type": "return", "depends": "b.value"}})
    runner = RayRunner(tube, core=core, max_epochs_in_flight=3)
    assert [1, 2, 3, 4] == runner.run(10)
    runner.deinit()
    assert [1, 2, 3, 4] == list(runner.iter())
    assert [1, 2] == list(RayRunner(Tube.from_specification(tube.spec), core=core, max_epochs_in_flight=3).iter(2))


# ---------------------------------------------------------------- failures


def test_node_error_is_the_users_exception_with_note_and_remote_traceback(core):
    """A node failing in an actor raises its own KeyError, noted with node/epoch/tube, remote traceback as cause."""
    tube = t({"a": {**COUNT, "ray": {"group": "one"}}, "b": {"type": "raynodes.boom", "depends": "a.value", "ray": {"group": "two"}},
              "r": {"type": "return", "depends": "b.value"}})
    with RayRunner(tube, core=core) as runner:
        assert 0 == runner.process()
        with pytest.raises(KeyError) as info:
            runner.process()
        assert 2 == runner.process()  # still usable
    assert ["[noob] raised by node 'b' in epoch 1 of tube 't'"] == info.value.__notes__
    assert "raise KeyError" in str(info.value.__cause__)
    assert "raynodes.py" in str(info.value.__cause__)


def test_every_actor_deinitialises_even_if_one_fails(tmp_path, core):
    """deinit() runs every actor's node deinit; the first failure is raised after all of them ran."""
    log = tmp_path / "life.txt"
    tube = t({
        "a": {**COUNT, "ray": {"group": "one"}},
        "l1": {"type": "raynodes.LogLife", "params": {"path": str(log), "fail_deinit": True}, "depends": "a.value", "ray": {"group": "two"}},
        "l2": {"type": "raynodes.LogLife", "params": {"path": str(log)}, "depends": "l1.value", "ray": {"group": "three"}},
    })
    runner = RayRunner(tube, core=core)
    runner.process()
    with pytest.raises(RuntimeError, match="deinit of l1 failed"):
        runner.deinit()
    lines = sorted(line.split()[0] + " " + line.split()[1] for line in log.read_text().splitlines())
    assert ["deinit l1", "deinit l2", "init l1", "init l2"] == lines
    assert not runner.actors


def test_killed_actor_is_an_error_naming_its_nodes(tmp_path, core):
    """An actor killed mid-run: RayActorLostError naming its group and nodes; deinit completes; init starts afresh."""
    tube = t(three_groups())
    runner = RayRunner(tube, core=core)
    runner.process()
    ray.kill(runner.actors["two"])
    _wait_dead(runner.actors["two"])
    with pytest.raises(RayActorLostError) as info:
        runner.process()
    assert ("two", ("b",)) == (info.value.group, info.value.nodes)
    assert "group 'two' (nodes 'b') died" in str(info.value)
    runner.deinit()
    assert not runner.actors
    runner.init()
    assert 0 == runner.process()[1][1]
    runner.deinit()


def test_waits_have_a_reported_timeout(core):
    """A node slower than timeout: RayTimeoutError naming the actor's nodes and the limit."""
    tube = t({"a": COUNT, "s": {"type": "raynodes.sleep_for", "params": {"seconds": 2.0}, "depends": "a.value", "ray": {"group": "slow"}},
              "r": {"type": "return", "depends": "s.value"}})
    runner = RayRunner(tube, core=core)
    runner.init()  # starting actors may take longer than the limit on a busy machine
    runner.timeout = 0.5
    with pytest.raises(RayTimeoutError) as info:
        runner.process()
    runner.timeout = 30
    runner.deinit()
    assert (0.5, "slow") == (info.value.timeout, info.value.group)
    assert "within 0.5 s" in str(info.value) and "'s'" in str(info.value) and "timeout=" in str(info.value)


# ---------------------------------------------------------------- runtime API


def test_enable_disable_store_and_collect_return(core):
    """disable_node/enable_node reach the node's actor; store and collect_return read the last epoch."""
    tube = t({"a": {**COUNT, "ray": {"group": "one"}}, "b": {"type": "raynodes.add1", "depends": "a.value", "ray": {"group": "two"}},
              "r": {"type": "return", "depends": "b.value"}})
    with RayRunner(tube, core=core) as runner:
        assert 1 == runner.process()
        runner.disable_node("b")
        assert None is runner.process()
        runner.enable_node("b")
        assert 3 == runner.process()
        assert 3 == runner.collect_return()
        store = runner.store
        assert [3] == [e["value"] for e in store.events[next(iter(store.events))]["b"]["value"]]


# ---------------------------------------------------------------- CLI


def test_cli_run_with_ray_runner():
    """``noob run tube.yaml --runner ray`` gives the sync runner's results."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "noob", "run", str(ROOT / "tests" / "data" / "cli" / "basic.yaml"), "-n", "3", "-f", "json", "-q"]
    sync = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    on_ray = subprocess.run([*cmd, "--runner", "ray"], capture_output=True, text=True, timeout=180, env=env, check=False)
    assert (0, sync.stdout) == (on_ray.returncode, on_ray.stdout), on_ray.stderr
    assert sync.stdout.strip()



def _wait_dead(actor, seconds: float = 30.0) -> None:
    """Return once ``actor`` answers calls with RayActorError (``ray.kill`` is asynchronous)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            ray.get(actor.ping.remote(), timeout=seconds)
        except ray.exceptions.RayActorError:
            return
        time.sleep(0.05)
    raise AssertionError("the killed actor still answers")


def test_actors_are_reused_and_dead_idle_ones_replaced(core):
    """deinit() returns actors to the pool; the next runner reuses them, or starts fresh ones if they died idle."""
    import noob.runner.ray as noob_ray

    tube = t(three_groups())
    with RayRunner(tube, core=core) as first:
        pid_c, (pid_b, _) = first.process()
    with RayRunner(Tube.from_specification(tube.spec), core=core) as second:
        again_c, (again_b, _) = second.process()
    assert {pid_b, pid_c} & {again_b, again_c}  # processes of the first runner served the second
    for idle in noob_ray._pool.values():
        for actor in idle:
            ray.kill(actor)
            _wait_dead(actor)
    with RayRunner(Tube.from_specification(tube.spec), core=core) as third:
        pid_c3, (pid_b3, x) = third.process()
    assert (0, set()) == (x, {pid_b3, pid_c3} & {pid_b, pid_c, again_b, again_c})


def test_ray_key_in_the_spec():
    """``ray:`` on a node is kept as written (to_dict round trip) and must be a mapping."""
    tube = t({"a": {**COUNT, "ray": {"group": "g", "num_cpus": 1}}})
    assert {"type": "raynodes.count", "ray": {"group": "g", "num_cpus": 1}} == tube.spec.nodes["a"].to_dict()
    with pytest.raises(SpecError) as info:
        t({"a": {**COUNT, "ray": "g"}})
    assert ["nodes.a.ray"] == [p.path for p in info.value.problems]
