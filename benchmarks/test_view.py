"""What the live view's observer costs per node epoch (issue 20: under 2 us with the view attached).

``test_ray_view_overhead``: the same comparison on ``RayRunner`` (see its docstring);
``test_ray_observation_cost_in_process``: its parts measured in one process, without Ray.

Workload: ``dispatch-chain{10,100}`` (a counter source, N ``plus1`` nodes, return: N + 2 node
calls per epoch), one ``process()`` per round. Rows, side by side in group ``view-chain{N}``:
``hand`` (the plain loop), ``compiled`` / ``python`` (no observer: the runner's fast path),
``compiled+hook`` / ``python+hook`` (a no-op ``Observer``: the observation hook's own cost, the
``timed`` wrapper and the runner's full path), ``compiled+view`` / ``python+view``
(``noob.view.Stats`` attached, as ``noob run --view`` attaches it, one signal picked). The
view's per-node-epoch cost is ``(median[impl+view] - median[impl]) / (N + 2)``, of which
``(median[impl+view] - median[impl+hook]) / (N + 2)`` is the observer's own. The web server is not running here: it only
works when a page asks (at most 20 status documents a second), in its own thread.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np
import pytest

from benchmarks.conftest import check_core, git_commit, implementations
from benchmarks.test_dispatch import chain_spec, hand_chain

VARIANTS = [v for impl in implementations() for v in ((impl,) if impl == "hand" else (impl, f"{impl}+hook", f"{impl}+view"))]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    "n", [pytest.param(n, marks=pytest.mark.benchmark(group=f"view-chain{n}")) for n in (10, 100)]
)
def test_view_observer(benchmark, make_runner, variant, n):
    impl, _, view = variant.partition("+")
    check_core(impl)
    benchmark.extra_info.update(implementation=variant, N=n, commit=git_commit(), numpy=np.__version__,
                                python=platform.python_version())
    stats = None
    if impl == "hand":
        epoch = hand_chain(n)
    else:
        runner = make_runner(chain_spec(n), impl)
        if view == "hook":
            from noob.runner.observe import Observer

            runner.add_observer(Observer())
        elif view == "view":
            from noob.view import Stats

            stats = Stats()
            runner.add_observer(stats)
            stats.pick(f"n{n - 1}", "value")
        epoch = runner.process
    assert epoch() == n
    last = benchmark(epoch)
    assert isinstance(last, int) and last >= n + 1
    assert epoch() == last + 1
    if stats is not None:  # the observer saw every call of every node
        doc = stats.status()
        assert {doc["nodes"][k]["calls"] for k in doc["nodes"]} == {last - n + 2}
        assert doc["epochs"] == last - n + 2


# ---------------------------------------------------------------- RayRunner with the view attached

RAY_VARIANTS = ("node", "node+view", "hand-cg")
RAY_EPOCHS = 300


def test_ray_view_overhead(benchmark):
    """``chain3`` (source, three ``plus1``, return: 5 node calls per epoch) on ``RayRunner``
    with ``placement="node"`` on its compiled graph, without and with ``noob.view.Stats``
    attached (one signal picked), beside the same graph written by hand in Ray
    (``hand-cg``), interleaved; per-epoch medians and minima of 9 rounds, ratios to
    ``hand-cg``, and the view's cost per epoch and per node epoch as the median of the
    per-round differences (paired: a busy moment of the machine hits both). Under
    ``--benchmark-disable``: a few epochs, nothing asserted about time.

        pytest benchmarks/test_view.py -k ray -s -p no:cacheprovider
    """
    pytest.importorskip("ray")
    from benchmarks.test_ray import cores, local_ray
    from benchmarks.test_ray_compiled import SPECS, Variant
    from noob import Tube
    from noob.runner.ray import RayRunner
    from noob.view import Stats

    quick = benchmark.disabled
    epochs, rounds = (3, 1) if quick else (RAY_EPOCHS, 9)
    ray_session = local_ray(4)
    next(ray_session)
    stats = Stats()
    watched = RayRunner(Tube.from_specification(SPECS["chain3"]()), placement="node", timeout=120)
    watched.add_observer(stats)
    stats.pick("n2", "value")
    watched.init()
    variants: dict[str, Any] = {"node": Variant("chain3", "node"), "hand-cg": Variant("chain3", "hand-cg")}
    try:
        assert watched._graph is not None and watched._watcher is not None
        watched.run(3)
        times: dict[str, list[float]] = {name: [] for name in RAY_VARIANTS}
        for _ in range(rounds):
            for name in RAY_VARIANTS:
                if name == "node+view":
                    start = time.perf_counter()
                    for _ in range(epochs):
                        watched.process()
                    times[name].append((time.perf_counter() - start) / epochs)
                else:
                    times[name].append(variants[name].seconds_per_epoch(epochs))
        med = {name: float(np.median(ts)) for name, ts in times.items()}
        benchmark.extra_info.update({f"{name}_ms": med[name] * 1e3 for name in RAY_VARIANTS}, cores=cores(), epochs=epochs,
                                    commit=git_commit())
        benchmark.pedantic(watched.process, rounds=1, iterations=1)
    finally:
        watched.deinit()
        for v in variants.values():
            v.close()
        next(ray_session, None)
    total = 3 + rounds * epochs + 1
    assert {n["calls"] for n in stats.status()["nodes"].values()} == {total}  # every call replayed (deinit delivers the last)
    assert stats.status(values=True)["values"]["n2.value"]["kind"] == "number"
    per_epoch = float(np.median([v - n for v, n in zip(times["node+view"], times["node"])]))
    low = {name: min(ts) for name, ts in times.items()}
    lines = [f"\nchain3 on RayRunner(placement='node'), compiled graph ({cores()} cores, {epochs} epochs x {rounds} rounds):",
             f"  {'variant':10} {'median ms':>9} {'/hand-cg':>9} {'min ms':>9} {'/hand-cg':>9}"]
    lines += [f"  {name:10} {med[name] * 1e3:9.3f} {med[name] / med['hand-cg']:9.2f} {low[name] * 1e3:9.3f} "
              f"{low[name] / low['hand-cg']:9.2f}" for name in RAY_VARIANTS]
    lines.append(f"  view attached: {per_epoch * 1e6:+.1f} us per epoch, {per_epoch * 1e6 / 5:+.2f} us per node epoch")
    print("\n".join(lines))


@pytest.mark.parametrize("core_name", [i for i in implementations() if i != "hand"])
def test_ray_observation_cost_in_process(benchmark, core_name):
    """What observing a ``RayRunner`` costs per node epoch, without Ray's noise: the actors'
    share (chain3's stage calls, ``placement="node"``, run in this process by ``_GroupRunner``
    with and without a ``Collector``: the cost on an epoch's path) and the driver's share (the
    ``_Watcher`` replaying the records into ``noob.view.Stats``, in its own thread). Medians
    of 5 interleaved rounds, printed; ``Ray`` is not started."""
    import statistics
    import threading
    import timeit
    import types

    pytest.importorskip("ray")
    from noob import Tube
    from noob.runner.observe import Collector
    from noob.runner.ray import RayRunner, _GroupRunner, _Watcher
    from noob.view import Stats

    check_core(core_name)
    runner = RayRunner(Tube.from_specification(chain_spec(3)), placement="node", core=core_name)
    layout, nodes = runner.layout, len(runner.plan.node_ids)
    quick = benchmark.disabled
    epochs, rounds = (50, 1) if quick else (20_000, 5)

    def actors(observed: bool) -> dict[str, Any]:
        out = {}
        for g in layout.groups:
            part = {"nodes": layout.group_nodes[g], "assets": [], "stages": [st for st in layout.stages if st.group == g],
                    "disabled": []}
            actor = _GroupRunner(Tube.from_specification(chain_spec(3)), core_name, g, part)
            actor.start_epochs(0)
            actor.init()
            if observed:
                actor.add_observer(Collector(nodes, maxlen=epochs * nodes))
            out[g] = actor
        return out

    def epochs_of(group: dict[str, Any]) -> Any:
        epoch = [0]

        def one() -> None:
            sent: dict[tuple[int, int], Any] = {}
            for st in layout.stages:
                out = group[st.group].call_compiled(st.index, None if st.in_from else (epoch[0], None),
                                                    tuple(sent[src] for src in st.in_from))
                out = (out,) if int(st.report_compiled) + len(st.out_slots) == 1 else out
                for j in range(len(st.out_slots)):
                    sent[(st.index, j)] = out[j + int(st.report_compiled)]
            epoch[0] += 1

        return one

    plain, observed = actors(False), actors(True)
    times: dict[str, list[float]] = {"plain": [], "observed": []}
    for _ in range(rounds):
        for name, group in (("plain", plain), ("observed", observed)):
            times[name].append(timeit.timeit(epochs_of(group), number=epochs) / epochs)
            for actor in group.values():
                for c in actor._observers:
                    c.take()
    actor_cost = (statistics.median(times["observed"]) - statistics.median(times["plain"])) / nodes
    stats = Stats()
    stats.attached(runner)
    watcher = _Watcher.__new__(_Watcher)
    watcher.runner, watcher.offsets = types.SimpleNamespace(_observe_lock=threading.RLock(), _observers=(stats,)), {}
    records = [(k % nodes, 1_000 + 10 * k, 1_005 + 10 * k) for k in range(epochs * nodes)]
    start = time.perf_counter()
    watcher._replay("g", (0, records, {}, []), 0)
    driver_cost = (time.perf_counter() - start) / len(records)
    benchmark.extra_info.update(actor_us=actor_cost * 1e6, driver_us=driver_cost * 1e6, commit=git_commit())
    print(f"\nobserving RayRunner ({core_name} core), per node epoch: actors +{actor_cost * 1e6:.2f} us "
          f"(on the epoch's path), driver replay {driver_cost * 1e6:.2f} us (its own thread)")
    benchmark.pedantic(epochs_of(observed), rounds=1, iterations=1)
    for group in (plain, observed):
        for actor in group.values():
            actor.deinit()
