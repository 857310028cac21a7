"""Composition workloads (issue 4): gather n=10 over a counter, and a map over a 100-element
list feeding a gather; each against a hand-written loop doing the same calls.

One round is one ``process()`` (gather) or one epoch with its 100 sub-epochs (map).
"""

from __future__ import annotations

import pytest

from benchmarks.nodes import count_source, plus1

ITEMS = 100


def gather_spec() -> dict:
    return {"noob_id": "gather10", "nodes": {
        "src": {"type": "benchmarks.nodes.count_source"},
        "g": {"type": "gather", "params": {"n": 10}, "depends": [{"value": "src.index"}]},
        "ret": {"type": "return", "depends": "g.value"},
    }}


def map_spec() -> dict:
    return {"noob_id": "map100", "nodes": {
        "src": {"type": "benchmarks.nodes.count_source"},
        "items": {"type": "benchmarks.nodes.make_items", "params": {"n": ITEMS}, "depends": "src.index"},
        "m": {"type": "map", "depends": "items.value"},
        "p": {"type": "benchmarks.nodes.plus1", "depends": "m.value"},
        "g": {"type": "gather", "depends": [{"value": "p.value"}, {"n": "m.n"}]},
        "s": {"type": "benchmarks.nodes.sum_list", "depends": "g.value"},
        "ret": {"type": "return", "depends": "s.value"},
    }}


def hand_gather():
    src = count_source()
    items: list = []

    def epoch():
        nonlocal items
        items.append(next(src))
        if len(items) >= 10:
            out, items = items, []
            return out
        return None

    return epoch


def hand_map():
    from benchmarks.nodes import make_items, sum_list

    src = count_source()

    def epoch():
        values = make_items(next(src), n=ITEMS)
        return sum_list([plus1(v) for v in values])

    return epoch


@pytest.mark.benchmark(group="gather-n10")
def test_gather_n10(bench, impl, make_runner):
    epoch = hand_gather() if impl == "hand" else make_runner(gather_spec(), impl).process
    results = [epoch() for _ in range(10)]
    assert [None] * 9 + [list(range(10))] == results
    bench(epoch)


@pytest.mark.benchmark(group=f"map{ITEMS}-gather")
def test_map_gather(bench, impl, make_runner):
    epoch = hand_map() if impl == "hand" else make_runner(map_spec(), impl).process
    # epoch k maps [k, k+1, ..., k+99] through plus1 and sums
    assert sum(range(1, ITEMS + 1)) == epoch()
    bench(epoch)
