"""What the live view's observer costs per node epoch (issue 20: under 2 us with the view attached).

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
