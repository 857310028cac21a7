"""Per-epoch dispatch cost: one ``process()`` per round (issue 2, Performance).

Workloads: a chain of N ``plus1`` nodes after a counter source (N = 10, 100, 1000) and a
fan-out of 100 ``plus1`` branches of the source merged by one ``sum_all`` node. The ``hand``
case runs one epoch of the equivalent hand-written loop over the very same functions.
"""

from __future__ import annotations

import pytest

from benchmarks.nodes import count_source, plus1, sum_all

FANOUT = 100


def chain_spec(n: int) -> dict:
    nodes: dict = {"src": {"type": "benchmarks.nodes.count_source"}}
    prev = "src.index"
    for i in range(n):
        nodes[f"n{i}"] = {"type": "benchmarks.nodes.plus1", "depends": prev}
        prev = f"n{i}.value"
    nodes["ret"] = {"type": "return", "depends": prev}
    return {"noob_id": f"chain{n}", "nodes": nodes}


def fanout_spec(n: int) -> dict:
    nodes: dict = {"src": {"type": "benchmarks.nodes.count_source"}}
    for i in range(n):
        nodes[f"b{i}"] = {"type": "benchmarks.nodes.plus1", "depends": "src.index"}
    nodes["sum"] = {"type": "benchmarks.nodes.sum_all", "depends": [f"b{i}.value" for i in range(n)]}
    nodes["ret"] = {"type": "return", "depends": "sum.value"}
    return {"noob_id": f"fanout{n}", "nodes": nodes}


def hand_chain(n: int):
    src = count_source()
    fns = [plus1] * n

    def epoch() -> int:
        x = next(src)
        for fn in fns:
            x = fn(x)
        return x

    return epoch


def hand_fanout(n: int):
    src = count_source()
    fns = [plus1] * n

    def epoch() -> int:
        index = next(src)
        values = [fn(index) for fn in fns]
        return sum_all(*values)

    return epoch


@pytest.mark.parametrize(
    "n", [pytest.param(n, marks=pytest.mark.benchmark(group=f"dispatch-chain{n}")) for n in (10, 100, 1000)]
)
def test_chain(bench, impl, make_runner, n):
    bench.extra_info["N"] = n
    epoch = hand_chain(n) if impl == "hand" else make_runner(chain_spec(n), impl).process
    assert epoch() == n  # epoch 0: index 0
    last = bench(epoch)
    # epoch k returns k + n: the benchmarked value is plausible and the next one follows it
    assert isinstance(last, int) and last >= n + 1
    assert epoch() == last + 1


@pytest.mark.benchmark(group=f"dispatch-fanout{FANOUT}")
def test_fanout(bench, impl, make_runner):
    n = FANOUT
    bench.extra_info["N"] = n
    epoch = hand_fanout(n) if impl == "hand" else make_runner(fanout_spec(n), impl).process
    assert epoch() == n  # epoch 0: n * (0 + 1)
    last = bench(epoch)
    # epoch k returns n * (k + 1)
    assert isinstance(last, int) and last % n == 0 and last >= 2 * n
    assert epoch() == last + n
