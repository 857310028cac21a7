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
def test_scheduler_matches_the_oracle(core, seed):
    """Same start() and done() sequences as the pure-Python twin, for any completion order."""
    impl, oracle = _core.get(core), _core.get("python")
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
        for obj in (impl.Scheduler, impl.Scheduler.start, impl.Scheduler.done, impl.Dispatcher.prepare_call, impl.Dispatcher.finish):
            assert obj.__doc__
