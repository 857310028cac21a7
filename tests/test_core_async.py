"""The core's event-driven kernels: ``Scheduler`` and ``Dispatcher.prepare_call`` / ``finish``.

Both twins give the same ready sequences on random DAGs, every node becomes ready exactly
once and only after its predecessors, and driving an epoch node by node gives the very
slot table ``Dispatcher.run`` gives.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_core import random_dag

from noob import Tube, _core
from noob.exceptions import AlreadyDoneError
from noob.types import MetaSignal

NOEVENT = MetaSignal.NoEvent


def drive(impl, n, indptr, indices, seed):
    """Run one epoch of a Scheduler, completing ready nodes in a seeded random order.

    Returns the log: the ``start()`` list, then ``(node, done(node))`` for every node.
    """
    rng = random.Random(seed)
    sched = impl.Scheduler(n, indptr, indices)
    ready = sched.start()
    log = [list(ready)]
    pool = list(ready)
    while pool:
        node = pool.pop(rng.randrange(len(pool)))
        released = sched.done(node)
        log.append((node, list(released)))
        pool.extend(released)
    assert 0 == sched.remaining
    return log


@pytest.mark.parametrize("seed", range(20))
def test_scheduler_matches_the_oracle(cores, seed):
    """Same start() and done() sequences as the pure-Python twin, for any completion order."""
    impl, oracle = cores
    n, src, dst = random_dag(seed)
    ip, ix = oracle.csr(n, src, dst)
    for order_seed in range(3):
        assert drive(oracle, n, ip, ix, order_seed) == drive(impl, n, ip, ix, order_seed)


@pytest.mark.parametrize("seed", range(10))
def test_scheduler_releases_after_predecessors(core, seed):
    """Every node is released exactly once, after all its predecessors are done."""
    impl = _core.get(core)
    n, src, dst = random_dag(seed, n=40, m=120)
    ip, ix = impl.csr(n, src, dst)
    log = drive(impl, n, ip, ix, seed)
    released_at = {node: -1 for node in log[0]}
    done_at = {}
    for step, (node, released) in enumerate(log[1:]):
        done_at[node] = step
        for r in released:
            assert r not in released_at
            released_at[r] = step
    assert sorted(released_at) == list(range(n)) == sorted(done_at)
    for s, d in zip(src, dst):
        assert done_at[s] <= released_at[d]


def test_scheduler_roots_are_generation_zero(core):
    """start() returns the nodes without predecessors, in id order: the toposort's first generation."""
    impl = _core.get(core)
    n, src, dst = random_dag(3)
    ip, ix = impl.csr(n, src, dst)
    _, generation, _ = impl.toposort(n, ip, ix)
    assert [i for i in range(n) if generation[i] == 0] == impl.Scheduler(n, ip, ix).start()


def test_scheduler_duplicate_edges_and_restart(core):
    """A node fed twice by the same predecessor waits for both edges; start() resets the epoch."""
    impl = _core.get(core)
    ip, ix = impl.csr(3, [0, 0, 1], [1, 1, 2])
    sched = impl.Scheduler(3, ip, ix)
    assert [0] == sched.start()
    assert [1] == sched.done(0)
    assert [0, 0, 1] == sched.pending.tolist()  # both edges 0 -> 1 done at once; 1 -> 2 waits
    assert [impl.STATE_DONE, impl.STATE_READY, impl.STATE_WAITING] == sched.state.tolist()
    assert [0] == sched.start()
    assert [impl.STATE_READY, impl.STATE_WAITING, impl.STATE_WAITING] == sched.state.tolist()
    assert 3 == sched.remaining


def test_scheduler_errors(core):
    """done() on a finished node, a waiting node or an unknown id raises, on both twins alike."""
    impl = _core.get(core)
    ip, ix = impl.csr(2, [0], [1])
    sched = impl.Scheduler(2, ip, ix)
    sched.start()
    with pytest.raises(ValueError, match="not ready"):
        sched.done(1)
    sched.done(0)
    with pytest.raises(AlreadyDoneError):
        sched.done(0)
    with pytest.raises(IndexError):
        sched.done(2)
    with pytest.raises(IndexError):
        sched.done(-1)
    with pytest.raises(ValueError, match="n \\+ 1"):
        impl.Scheduler(3, ip, ix)


# ---------------------------------------------------------------- prepare_call / finish == run


def random_tube(seed: int, n: int = 25) -> dict:
    """A random tube of ``mix`` nodes (optional keywords, NoEvent on multiples of 3) and
    ``odd_noevent`` nodes (one required positional), fed by a counter."""
    rng = random.Random(seed)
    nodes: dict = {"src": {"type": "noob.testing.count_source"}}
    names = ["src"]
    for i in range(n):
        deps = [f"{names[j]}.{'index' if names[j] == 'src' else 'value'}" for j in rng.sample(range(len(names)), min(len(names), rng.randint(1, 3)))]
        if rng.random() < 0.3:
            nodes[f"n{i}"] = {"type": "testnodes.odd_noevent", "depends": deps[0]}
        else:
            nodes[f"n{i}"] = {"type": "testnodes.mix", "depends": [{k: d} for k, d in zip("abc", deps)]}
        names.append(f"n{i}")
    return {"noob_id": f"rand{seed}", "nodes": nodes}


def _dispatcher(spec, core, disabled):
    tube = Tube.from_specification(spec)
    plan = tube.plan(core)
    impl = plan.core
    fns = [tube.nodes[k].instantiate().target() for k in plan.node_ids]
    flags = np.array([0 if k in disabled else impl.F_ENABLED for k in plan.node_ids], dtype=np.uint8)
    flags[plan.index["src"]] |= impl.F_GENERATOR
    return plan, plan.dispatcher(fns, flags), list(plan.initial_values)


@pytest.mark.parametrize("seed", range(12))
def test_prepare_call_and_finish_match_run(core, seed):
    """Driving an epoch with Scheduler + prepare_call + finish gives run()'s slot table and `ran`."""
    spec = random_tube(seed)
    rng = random.Random(seed)
    disabled = set(rng.sample([f"n{i}" for i in range(25)], 3))
    plan, by_run, values_run = _dispatcher(spec, core, disabled)
    _, by_step, values_step = _dispatcher(spec, core, disabled)
    sched = plan.core.Scheduler(len(plan.node_ids), plan.indptr, plan.indices)
    for _epoch in range(6):
        by_run.run(values_run)
        pool = sched.start()
        while pool:
            node = pool.pop(rng.randrange(len(pool)))
            call = by_step.prepare_call(node, values_step)
            if call is not None:
                args, kwargs = call
                by_step.finish(node, values_step, by_step.fns[node](*args, **kwargs))
            pool.extend(sched.done(node))
        assert values_run == values_step
        assert by_run.ran.tolist() == by_step.ran.tolist()


def test_prepare_call_shapes(core):
    """prepare_call gives (args, kwargs), leaves out optional keywords that did not fire, and
    returns None (outputs NoEvent) for a skipped node; finish flags a source that ran out."""
    spec = {"noob_id": "p", "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "odd": {"type": "testnodes.odd_noevent", "depends": "src.index"},
        "m": {"type": "testnodes.mix", "depends": [{"a": "src.index"}, {"b": "odd.value"}]},
        "p": {"type": "testnodes.pos_only", "depends": ["src.index", "src.index"]},
        "need": {"type": "testnodes.plus1", "depends": "odd.value"},
    }}
    plan, d, values = _dispatcher(spec, core, set())
    i = plan.index
    values[plan.signal_slot[("src", "index")]] = 4
    values[plan.signal_slot[("odd", "value")]] = NOEVENT
    values[plan.signal_slot[("need", "value")]] = 123
    assert ((), {"a": 4}) == d.prepare_call(i["m"], values)
    assert ((4, 4), {}) == d.prepare_call(i["p"], values)
    assert d.prepare_call(i["need"], values) is None
    assert NOEVENT is values[plan.signal_slot[("need", "value")]]
    assert 0 == d.finish(i["p"], values, 0)
    assert (0, 1) == (values[plan.signal_slot[("p", "value")]], int(d.ran[i["p"]]))
    assert 1 == d.finish(i["src"], values, MetaSignal.Exhausted)
    assert d.flags[i["src"]] & plan.core.F_EXHAUSTED
    assert d.prepare_call(i["src"], values) is None
    with pytest.raises(IndexError):
        d.prepare_call(len(plan.node_ids), values)
    with pytest.raises(IndexError):
        d.finish(-1, values, 0)


def test_twins_document_the_same_api():
    """Both twins expose Scheduler, prepare_call and finish with docstrings."""
    for name in ("compiled", "python"):
        if name == "compiled" and not _core.compiled_available():
            continue
        impl = _core.get(name)
        for obj in (impl.Scheduler, impl.Scheduler.start, impl.Scheduler.done, impl.Dispatcher.prepare_call, impl.Dispatcher.finish,
                    impl.Driver, impl.Driver.start, impl.Driver.step, impl.Driver.complete, impl.Driver.release,
                    impl.Driver.prepare, impl.Driver.run_segment, impl.Driver.resume):
            assert obj.__doc__
        assert (0, 1, 2, 3, 4, 5) == (impl.KIND_INLINE, impl.KIND_THREAD, impl.KIND_TASK, impl.KIND_RUNNER, impl.KIND_REGION, impl.KIND_GATE)
        assert ["GATE", "RUNNER", "SEGMENT"] == sorted(t.name for t in (impl.SEGMENT, impl.RUNNER, impl.GATE))


# ---------------------------------------------------------------- Driver: the async runner's epoch


def _driver(spec, core, kinds_seed, disabled=frozenset()):
    """A Dispatcher + Driver over ``spec`` with random kinds (no regions, no gates unless asked)."""
    plan, d, values = _dispatcher(spec, core, disabled)
    impl = plan.core
    rng = random.Random(kinds_seed)
    choices = [impl.KIND_INLINE, impl.KIND_THREAD, impl.KIND_TASK, impl.KIND_RUNNER, impl.KIND_GATE]
    kinds = [rng.choice(choices) for _ in plan.node_ids]
    sched = impl.Scheduler(len(plan.node_ids), plan.indptr, plan.indices)
    return plan, d, values, impl.Driver(d, sched, kinds), kinds


def drive_driver(impl, drv, d, values, rng, threads=None):
    """One epoch through ``drv``: hand-outs completed in a seeded random order; segments in
    ``threads`` (a ThreadPoolExecutor) when given, else right here. Returns the hand-out log."""
    drv.start(values)
    log = []
    held = []  # (work, node) handed out, not yet completed
    running = []  # segment futures
    work = drv.step()
    while True:
        while work is not None:
            held.append((work, drv.node))
            log.append((type(work).__name__ if isinstance(work, type(impl.SEGMENT)) else "call", drv.node))
            work = drv.step()
        if not held and not running:
            break
        if running and (not held or rng.random() < 0.5):
            fut, released = running.pop(0)
            assert fut.result() is None
            work = drv.resume(released)
            continue
        w, i = held.pop(rng.randrange(len(held)))
        if w is impl.SEGMENT:
            released: list = []
            if threads is None:
                assert drv.run_segment(i, [], released) is None
                work = drv.resume(released)
            else:
                running.append((threads.submit(drv.run_segment, i, [], released), released))
                work = drv.step()
        elif w is impl.RUNNER or w is impl.GATE:
            call = drv.prepare(i)
            work = drv.release(i) if call is None else drv.complete(i, d.fns[i](*call[0], **call[1]))
        else:  # KIND_TASK: step called the node; with these sync nodes ``w`` is its result
            work = drv.complete(i, w)
    assert 0 == drv.remaining
    return log


@pytest.mark.parametrize("seed", range(12))
def test_driver_matches_run(core, seed):
    """An epoch through the Driver, any kinds and completion order, gives run()'s slot table and `ran`."""
    spec = random_tube(seed)
    rng = random.Random(seed)
    disabled = set(rng.sample([f"n{i}" for i in range(25)], 3))
    plan, by_run, values_run = _dispatcher(spec, core, disabled)
    _, d, values, drv, _ = _driver(spec, core, seed, disabled)
    for _epoch in range(6):
        by_run.run(values_run)
        drive_driver(plan.core, drv, d, values, rng)
        assert values_run == values
        assert by_run.ran.tolist() == drv.ran.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_driver_segments_in_threads_match_run(core, seed):
    """Segments in real worker threads, the caller stepping meanwhile, still give run()'s slot table."""
    import concurrent.futures

    spec = random_tube(seed, n=40)
    rng = random.Random(seed)
    plan, by_run, values_run = _dispatcher(spec, core, set())
    _, d, values, drv, _ = _driver(spec, core, seed + 100)
    with concurrent.futures.ThreadPoolExecutor(4) as threads:
        for _epoch in range(8):
            by_run.run(values_run)
            drive_driver(plan.core, drv, d, values, rng, threads)
            assert values_run == values
            assert by_run.ran.tolist() == drv.ran.tolist()


@pytest.mark.parametrize("seed", range(8))
def test_driver_twins_hand_out_the_same(cores, seed):
    """Both twins hand out the same nodes (and tokens) in the same order for the same kinds."""
    spec = random_tube(seed)
    logs = []
    for name in ("compiled", "python"):
        plan, d, values, drv, _ = _driver(spec, name, seed)
        logs.append([drive_driver(plan.core, drv, d, values, random.Random(seed)) for _ in range(3)])
    assert logs[1] == logs[0]


def _chain_driver(core, kinds_of):
    """src -> a -> b -> {c, d}; c -> e: a Driver with ``kinds_of(name, impl)``."""
    spec = {"noob_id": "ch", "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "a": {"type": "testnodes.plus1", "depends": "src.index"},
        "b": {"type": "testnodes.plus1", "depends": "a.value"},
        "c": {"type": "testnodes.plus1", "depends": "b.value"},
        "d": {"type": "testnodes.plus1", "depends": "b.value"},
        "e": {"type": "testnodes.plus1", "depends": "c.value"},
    }}
    plan, d, values = _dispatcher(spec, core, set())
    impl = plan.core
    kinds = [kinds_of(k, impl) for k in plan.node_ids]
    return plan, impl, values, impl.Driver(d, impl.Scheduler(len(kinds), plan.indptr, plan.indices), kinds)


def test_driver_segment_runs_a_chain_and_stops_at_a_fork(core):
    """run_segment runs src, a, b in one call; at b's fork it queues c and d for the caller."""
    plan, impl, values, drv = _chain_driver(core, lambda k, impl: impl.KIND_THREAD)
    drv.start(values)
    assert impl.SEGMENT is drv.step()
    assert plan.index["src"] == drv.node
    emitted: list = []
    released: list = []
    assert drv.run_segment(drv.node, emitted, released) is None
    assert (3, 0) == (drv.n_done, drv.n_ready)  # src, a, b done; c and d handed back, not queued
    assert [plan.index["c"], plan.index["d"]] == released
    assert [] == emitted  # no node flagged C_HOOK_AFTER
    assert (impl.SEGMENT, plan.index["c"]) == (drv.resume(released), drv.node)
    after_c: list = []
    assert drv.run_segment(drv.node, [], after_c) is None  # c, then e (c's only successor)
    assert [] == after_c
    assert (impl.SEGMENT, plan.index["d"]) == (drv.step(), drv.node)
    assert drv.run_segment(drv.node, [], []) is None
    assert drv.step() is None and 0 == drv.remaining
    assert 2 == values[plan.signal_slot[("b", "value")]] and 4 == values[plan.signal_slot[("e", "value")]]


def test_driver_segment_leaves_other_kinds_to_the_loop(core):
    """A segment stops before a node that is not a thread node; step() runs that one inline."""
    inline = {"b", "e"}
    plan, impl, values, drv = _chain_driver(core, lambda k, impl: impl.KIND_INLINE if k in inline else impl.KIND_THREAD)
    drv.start(values)
    assert impl.SEGMENT is drv.step()
    released: list = []
    assert drv.run_segment(drv.node, [], released) is None  # src, a; b is inline
    assert (2, [plan.index["b"]]) == (drv.n_done, released)
    assert (impl.SEGMENT, plan.index["c"]) == (drv.resume(released), drv.node)  # b ran inline, c and d queued


def test_driver_reports_failures_and_emits(core):
    """A raising node: step() raises with `node` set; run_segment returns (node, exc); emit sees ran nodes."""
    spec = {"noob_id": "f", "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "a": {"type": "testnodes.plus1", "depends": "src.index"},
        "b": {"type": "testnodes.boom", "depends": "a.value"},
    }}
    plan, d, values = _dispatcher(spec, core, set())
    impl = plan.core
    n = len(plan.node_ids)
    for i in range(n):
        d.set_flag(i, impl.F_HOOK_AFTER, True)
    sched = impl.Scheduler(n, plan.indptr, plan.indices)
    seen: list = []
    inline = impl.Driver(d, sched, [impl.KIND_INLINE] * n, emit=seen.append)
    inline.start(values)
    assert inline.step() is None  # epoch 0: boom(1) is fine
    inline.start(values)
    with pytest.raises(ValueError, match="two is not allowed"):  # epoch 1: boom(2) raises
        inline.step()
    assert plan.index["b"] == inline.node
    assert [plan.index[k] for k in ("src", "a", "b", "src", "a")] == seen
    plan, d, values = _dispatcher(spec, core, set())
    for i in range(n):
        d.set_flag(i, impl.F_HOOK_AFTER, True)
    threaded = impl.Driver(d, sched, [impl.KIND_THREAD] * n)
    outcomes = []
    for _epoch in range(2):
        threaded.start(values)
        emitted: list = []
        assert impl.SEGMENT is threaded.step()
        outcomes.append((threaded.run_segment(threaded.node, emitted, []), emitted, threaded.remaining))
    assert (None, [0, 1, 2], 0) == outcomes[0]
    failed, emitted, remaining = outcomes[1]
    assert plan.index["b"] == failed[0] and isinstance(failed[1], ValueError)
    assert ([plan.index["src"], plan.index["a"]], 1) == (emitted, remaining)  # b is not released


def test_driver_gate_and_region_kinds(core):
    """GATE nodes are handed out unchecked; REGION nodes are just marked done; bad ids raise."""
    plan, impl, values, drv = _chain_driver(
        core, lambda k, impl: impl.KIND_GATE if k == "a" else (impl.KIND_REGION if k in ("c", "e") else impl.KIND_INLINE))
    drv.start(values)
    assert (impl.GATE, plan.index["a"]) == (drv.step(), drv.node)
    assert drv.release(plan.index["a"]) is None  # a done without running: b, d skipped; c, e regions
    assert 0 == drv.remaining
    assert [0, 0, 0, 0, 0] == [int(drv.ran[plan.index[k]]) for k in ("a", "b", "c", "d", "e")]
    with pytest.raises(IndexError):
        drv.complete(len(plan.node_ids), 0)
    with pytest.raises(ValueError, match="cover"):
        impl.Driver(drv.dispatcher, impl.Scheduler(2, [0, 0, 0], []), [0, 0])
    n = len(plan.node_ids)
    sched = impl.Scheduler(n, plan.indptr, plan.indices)
    with pytest.raises(ValueError, match="kinds must be 0 to 5.*\\[9\\]"):
        impl.Driver(drv.dispatcher, sched, [9] * n)
    with pytest.raises(ValueError, match="slot table has 1 entries"):
        impl.Driver(drv.dispatcher, sched, [0] * n).start([None])
