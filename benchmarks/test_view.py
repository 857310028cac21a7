"""What the live view's observer costs per node epoch (issue 20: under 2 us with the view attached).

``test_ray_view_overhead``: the same comparison on ``RayRunner`` (see its docstring).

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
