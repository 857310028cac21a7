"""Assets (issue 3, Performance): a float64 array modified in place by 10 nodes.

- runner scope: created once in ``init()``; enters the epoch through ``n0``, travels
  ``n0.array -> n1 -> … -> n9`` and ``depends: n9.array`` makes it the asset of the next epoch
  (round-trip, no copies). The hand loop does the same 10 calls on one array.
- process scope: created (``make_array``) at the start of each epoch; the hand loop rebuilds it
  each epoch too.

The return node takes ``n8.array``, the very same object, so ``process()`` hands the array
back for checking without creating a later consumer of ``n9.array`` (which, by the original's
rule, would make the runner store a copy as the next epoch's asset).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from benchmarks.conftest import check_core, implementations
from benchmarks.nodes import make_array, scale_inplace

NODES = 10
FACTOR = 1.0000001  # scale_inplace's default
ROWS = COLS = 1000


def asset_spec(scope: str, n: int = NODES, rows: int = ROWS, cols: int = COLS) -> dict:
    nodes: dict = {}
    prev = "assets.arr"
    for i in range(n):
        nodes[f"n{i}"] = {"type": "benchmarks.nodes.scale_inplace", "depends": [{"array": prev}]}
        prev = f"n{i}.array"
    asset: dict = {
        "type": "benchmarks.nodes.make_array",
        "scope": scope,
        "params": {"rows": rows, "cols": cols},
    }
    if scope == "runner":
        asset["depends"] = f"n{n - 1}.array"
        nodes["ret"] = {"type": "return", "depends": f"n{n - 2}.array"}
    else:
        nodes["ret"] = {"type": "return", "depends": f"n{n - 1}.array"}
    return {"noob_id": f"asset-{scope}", "assets": {"arr": asset}, "nodes": nodes}


def hand_runner_scope(n: int = NODES, rows: int = ROWS, cols: int = COLS):
    fns = [scale_inplace] * n
    state = [make_array(rows, cols)]  # created once, like init()

    def epoch() -> np.ndarray:
        array = state[0]
        for fn in fns:
            array = fn(array)
        state[0] = array  # the round-trip: n9.array becomes the next epoch's asset
        return array

    return epoch


def hand_process_scope(n: int = NODES, rows: int = ROWS, cols: int = COLS):
    fns = [scale_inplace] * n

    def epoch() -> np.ndarray:
        array = make_array(rows, cols)
        for fn in fns:
            array = fn(array)
        return array

    return epoch


def expected_after(calls: int, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    array = make_array(rows, cols)
    for _ in range(calls):
        array = scale_inplace(array)
    return array


@pytest.mark.benchmark(group="asset-runner-1000x1000-10nodes")
def test_runner_scope_asset(bench, impl, make_runner):
    bench.extra_info["N"] = NODES
    epoch = hand_runner_scope() if impl == "hand" else make_runner(asset_spec("runner"), impl).process
    first = epoch()
    np.testing.assert_array_equal(first, expected_after(NODES))
    before = float(first[0, 0])
    last = bench(epoch)
    assert last is first, "the runner-scoped array was replaced (copied?) between epochs"
    after_bench = float(last[0, 0])
    assert after_bench > before
    again = epoch()
    assert again is first
    assert again[0, 0] == pytest.approx(after_bench * FACTOR**NODES, rel=1e-12)


@pytest.mark.benchmark(group="asset-process-1000x1000-10nodes")
def test_process_scope_asset(bench, impl, make_runner):
    bench.extra_info["N"] = NODES
    epoch = hand_process_scope() if impl == "hand" else make_runner(asset_spec("process"), impl).process
    expected = expected_after(NODES)
    first = epoch()
    np.testing.assert_array_equal(first, expected)
    last = bench(epoch)
    assert last is not first, "a process-scoped asset must be rebuilt each epoch"
    np.testing.assert_array_equal(last, expected)


@pytest.mark.parametrize("core", [c for c in implementations() if c != "hand"])
def test_runner_asset_memory_flat(core, make_runner):
    """10 000 epochs of the runner-scoped round-trip: no per-epoch copies of the array."""
    check_core(core)
    epochs, rows, cols = 10_000, 200, 200
    runner = make_runner(asset_spec("runner", rows=rows, cols=cols), core)
    array = runner.process()
    size = array.nbytes
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        for _ in range(epochs):
            assert runner.process() is array
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - baseline < 2 * size, (
        f"peak traced memory grew by {peak - baseline} bytes over {epochs} epochs (array: {size} bytes)"
    )
    assert current - baseline < size
