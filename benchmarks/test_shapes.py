"""Small tubes of every shape (issue 21): the per-epoch fixed cost, and ``run(n)`` against a loop
of ``process()`` calls.

- ``kitchen_sink``: a generator source, a class node (``RunningSum``), a map over a 3-element
  list, ``plus1`` per element, the gather collapsing the map, ``sum_list``, a dict-form return
  fed before and after the map. The hand loop makes the same calls in the same order.
- ``asset10_nocopy``: a runner-scoped ``int`` asset through 10 ``plus1`` nodes and stored back
  (``depends: n9.value``; nothing else reads ``n9.value``, so the runner stores the object
  itself, no copy); the return takes ``n8.value``. The hand loop keeps the integer in a cell.
- ``run100-*``: one round is ``runner.run(100)`` on ``dispatch-chain10``'s tube, ``gather-n10``'s,
  ``kitchen_sink`` and ``asset10_nocopy``; the hand loop runs 100 epochs and keeps the results
  that are not ``None``. Compare with 100 × the single-epoch groups.
"""

from __future__ import annotations

import pytest

from benchmarks.nodes import RunningSum, count_source, make_int, make_items, plus1, sum_list
from benchmarks.test_composition import gather_spec, hand_gather
from benchmarks.test_dispatch import chain_spec, hand_chain

ITEMS = 3
NODES = 10
RUN = 100


def kitchen_sink_spec() -> dict:
    return {"noob_id": "kitchen_sink", "nodes": {
        "src": {"type": "benchmarks.nodes.count_source"},
        "acc": {"type": "benchmarks.nodes.RunningSum", "depends": "src.index"},
        "items": {"type": "benchmarks.nodes.make_items", "params": {"n": ITEMS}, "depends": "acc.value"},
        "m": {"type": "map", "depends": "items.value"},
        "p": {"type": "benchmarks.nodes.plus1", "depends": "m.value"},
        "g": {"type": "gather", "depends": [{"value": "p.value"}, {"n": "m.n"}]},
        "s": {"type": "benchmarks.nodes.sum_list", "depends": "g.value"},
        "ret": {"type": "return", "depends": [{"acc": "acc.value"}, {"total": "s.value"}]},
    }}


def hand_kitchen_sink():
    src = count_source()
    acc = RunningSum()

    def epoch() -> dict:
        a = acc.process(next(src))
        items = make_items(a, n=ITEMS)
        gathered = []
        for item in items:
            gathered.append(plus1(item))
        return {"acc": a, "total": sum_list(gathered)}

    return epoch


def asset_nocopy_spec(n: int = NODES) -> dict:
    nodes: dict = {}
    prev = "assets.x"
    for i in range(n):
        nodes[f"n{i}"] = {"type": "benchmarks.nodes.plus1", "depends": prev}
        prev = f"n{i}.value"
    nodes["ret"] = {"type": "return", "depends": f"n{n - 2}.value"}
    return {"noob_id": f"asset{n}_nocopy", "nodes": nodes, "assets": {
        "x": {"type": "benchmarks.nodes.make_int", "scope": "runner", "depends": f"n{n - 1}.value"},
    }}


def hand_asset_nocopy(n: int = NODES):
    fns = [plus1] * n
    state = [make_int()]

    def epoch() -> int:
        x = state[0]
        ret = None
        for k, fn in enumerate(fns):
            x = fn(x)
            if k == n - 2:
                ret = x
        state[0] = x
        return ret

    return epoch


def expected_kitchen_sink(epochs: int) -> list[dict]:
    out, total = [], 0
    for k in range(epochs):
        total += k
        out.append({"acc": total, "total": sum(range(total + 1, total + ITEMS + 1))})
    return out


@pytest.mark.benchmark(group="kitchen_sink")
def test_kitchen_sink(bench, impl, make_runner):
    epoch = hand_kitchen_sink() if impl == "hand" else make_runner(kitchen_sink_spec(), impl).process
    assert expected_kitchen_sink(3) == [epoch() for _ in range(3)]
    bench(epoch)


@pytest.mark.benchmark(group=f"asset{NODES}_nocopy")
def test_asset_nocopy(bench, impl, make_runner):
    bench.extra_info["N"] = NODES
    epoch = hand_asset_nocopy() if impl == "hand" else make_runner(asset_nocopy_spec(), impl).process
    # epoch k: the asset holds 10k, n8 gives 10k + 9
    assert [9, 19, 29] == [epoch() for _ in range(3)]
    last = bench(epoch)
    assert last + NODES == epoch()


def _hand_run(epoch):
    def run() -> list | None:
        results = []
        for _ in range(RUN):
            out = epoch()
            if out is not None:
                results.append(out)
        return results or None

    return run


RUN_CASES = {
    "chain10": (lambda: chain_spec(10), lambda: hand_chain(10)),
    "gather-n10": (gather_spec, hand_gather),
    "kitchen_sink": (kitchen_sink_spec, hand_kitchen_sink),
    f"asset{NODES}_nocopy": (asset_nocopy_spec, hand_asset_nocopy),
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.benchmark(group=f"run{RUN}-{c}")) for c in RUN_CASES]
)
def test_run_n(bench, impl, make_runner, case):
    spec, hand = RUN_CASES[case]
    bench.extra_info["N"] = RUN
    run = _hand_run(hand()) if impl == "hand" else (lambda r: lambda: r.run(RUN))(make_runner(spec(), impl))
    first = run()
    assert first is not None and len(first) == (RUN // 10 if case == "gather-n10" else RUN)
    bench(run)
