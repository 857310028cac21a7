"""Threads: runners on separate Tubes, one per thread, run at the same time and stay correct.

Each thread loads its own Tube from the same file and runs its own runner (sync, or async on
its own loop) with stateful nodes, a runner-scoped asset that round-trips and a
process-scoped one. A barrier starts them together, and a node waits on a second barrier
half-way through, so every runner is provably mid-run at the same moment; every result
sequence must be exactly the single-threaded one.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import pytest
import relnodes

from noob import SynchronousRunner, Tube
from noob.runner.asyncio import AsyncRunner

THREADS = 6
EPOCHS = 400

SPEC = {
    "noob_id": "rel-threads",
    "assets": {
        "box": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"},
        "pbox": {"type": "relnodes.CountedAsset", "scope": "process"},
    },
    "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "acc": {"type": "testnodes.Accumulate", "depends": "a.index"},
        "s": {"type": "testnodes.Scale", "params": {"factor": 2}, "depends": "acc.total"},
        "b": {"type": "testnodes.bump", "depends": [{"box": "assets.box"}]},
        "k": {"type": "relnodes.Tracked", "depends": [{"x": "s.scaled"}, {"pbox": "assets.pbox"}]},
        "w": {"type": "relnodes.rendezvous", "params": {"at": EPOCHS // 2}, "depends": "a.index"},
        "r": {"type": "return", "depends": [{"total": "k.value"}, {"box": "b.box"}]},
    },
}


def expected() -> list[dict]:
    out, total = [], 0
    for i in range(EPOCHS):
        total += i
        out.append({"total": 2 * total, "box": i + 1})
    return out


def run_sync(tube: Tube, core: str) -> list[Any]:
    runner = SynchronousRunner(tube, core=core)
    try:
        # the box list is one object mutated in place: snapshot its value each epoch
        return [{**(r := runner.process()), "box": r["box"][0]} for _ in range(EPOCHS)]
    finally:
        runner.deinit()


def run_async(tube: Tube, core: str) -> list[Any]:
    async def main() -> list[Any]:
        runner = AsyncRunner(tube, core=core)
        try:
            out = []
            for _ in range(EPOCHS):
                r = await runner.process()
                out.append({**r, "box": r["box"][0]})
            return out
        finally:
            await runner.deinit()

    return asyncio.run(main())


@pytest.fixture
def fast_switching() -> Any:
    """Switch threads every 50 µs, so that the runs interleave epoch by epoch."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(5e-5)
    yield
    sys.setswitchinterval(old)


@pytest.mark.parametrize("mix", ["sync", "async", "both"])
def test_runners_in_threads(core: str, mix: str, fast_switching: Any) -> None:
    """THREADS runners at once, each on its own Tube: each gets the single-threaded results."""
    relnodes.reset()
    relnodes.RENDEZVOUS[:] = [threading.Barrier(THREADS)]
    tubes = [Tube.from_specification(SPEC) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: dict[int, Any] = {}
    spans: dict[int, tuple[float, float]] = {}

    def work(i: int) -> None:
        use_async = mix == "async" or (mix == "both" and i % 2)
        barrier.wait()
        start = time.perf_counter()
        try:
            results[i] = (run_async if use_async else run_sync)(tubes[i], core)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's number
            results[i] = exc
        spans[i] = (start, time.perf_counter())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [False] * THREADS == [t.is_alive() for t in threads]
    want = expected()
    assert {i: True for i in range(THREADS)} == {i: results[i] == want for i in range(THREADS)}, {
        i: r for i, r in results.items() if r != want
    }
    # they ran at the same time: all met half-way (a broken barrier would have raised), so
    # every run started before the first one ended
    assert (False, max(s for s, _ in spans.values()) < min(e for _, e in spans.values())) == (relnodes.RENDEZVOUS[0].broken, True)
    assert {} == relnodes.balanced()
    assert THREADS == relnodes.LOG["init k"] == relnodes.LOG["deinit k"]
    assert THREADS * EPOCHS == relnodes.LOG["open pbox"] == relnodes.LOG["close pbox"]
