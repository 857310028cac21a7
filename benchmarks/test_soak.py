"""Soak: a million epochs, memory sampled with tracemalloc, growth per epoch reported.

Workloads (``SOAK`` epochs each, ``ASYNC_SOAK`` for the AsyncRunner):

- ``chain``: ``count_source -> plus1 -> plus1 -> plus1 -> return`` (the fast path);
- ``roundtrip``: a runner-scoped list travels ``assets.box -> bump -> bump`` and
  ``depends: b2.box`` hands it back as the next epoch's asset;
- ``callback``: ``chain`` with an ``add_callback`` that counts events (the full path:
  events built per node, ``EpochEnded`` per epoch);
- ``async``: ``chain`` on the ``AsyncRunner`` (nodes on the loop thread), on one loop.

``hand`` runs the same functions in a plain loop (the noise floor). Traced memory is sampled
every tenth of the run (every 10^5 epochs of 10^6); the first three samples are warm-up
(free lists, caches, asyncio internals), and growth is ``(last - fourth) / epochs between``. The assertion: under 1 byte
per epoch and under 256 KiB in all — one leaked object per epoch is >= 28 bytes.

With ``--benchmark-disable`` (CI) the counts drop to ``SOAK_CI`` / ``ASYNC_SOAK_CI`` so
the suite stays quick; the bound is asserted on what ran. ``NOOB_SOAK_EPOCHS`` overrides
the count (the async count is a tenth of it). Figures are printed and stored in
``extra_info`` (``growth_bytes_per_epoch``, ``samples``).
"""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import pytest

from benchmarks.nodes import count_source, plus1
from noob import Name, SynchronousRunner, Tube

SOAK, ASYNC_SOAK = 1_000_000, 100_000
SOAK_CI, ASYNC_SOAK_CI = 20_000, 2_000
SAMPLES = 10
WARMUP = 3  # samples left out: asyncio and the free lists settle in the first few
MAX_BYTES_PER_EPOCH = 1.0
MAX_GROWTH = 256 * 1024

CHAIN = {
    "noob_id": "soak-chain",
    "nodes": {
        "a": {"type": "benchmarks.nodes.count_source"},
        "p1": {"type": "benchmarks.nodes.plus1", "depends": "a.index"},
        "p2": {"type": "benchmarks.nodes.plus1", "depends": "p1.value"},
        "p3": {"type": "benchmarks.nodes.plus1", "depends": "p2.value"},
        "r": {"type": "return", "depends": "p3.value"},
    },
}


def bump(box: list) -> Annotated[list, Name("box")]:
    """``box[0] += 1``, in place; the same list goes on."""
    box[0] += 1
    return box


def new_box() -> list:
    return [0]


ROUNDTRIP = {
    "noob_id": "soak-roundtrip",
    "assets": {"box": {"type": "benchmarks.test_soak.new_box", "scope": "runner", "depends": "b2.box"}},
    "nodes": {
        "b1": {"type": "benchmarks.test_soak.bump", "depends": [{"box": "assets.box"}]},
        "b2": {"type": "benchmarks.test_soak.bump", "depends": [{"box": "b1.box"}]},
        "r": {"type": "return", "depends": "b1.box"},
    },
}


def epochs_for(workload: str, benchmark: Any) -> int:
    env = os.environ.get("NOOB_SOAK_EPOCHS")
    if env:
        n = int(env)
        return max(n // 10, SAMPLES) if workload == "async" else n
    if getattr(benchmark, "disabled", False):
        return ASYNC_SOAK_CI if workload == "async" else SOAK_CI
    return ASYNC_SOAK if workload == "async" else SOAK


def soak(step: Callable[[int], None], epochs: int) -> list[tuple[int, int]]:
    """Run ``step(k)`` for ``epochs`` epochs in ``SAMPLES`` blocks; ``[(epochs done, traced bytes)]``.

    The samples go into a preallocated array, so that recording them allocates nothing.
    """
    block = epochs // SAMPLES
    traced = np.zeros(SAMPLES, dtype=np.int64)
    tracemalloc.start()
    try:
        for i in range(SAMPLES):
            step(block)
            traced[i] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return [(block * (i + 1), int(b)) for i, b in enumerate(traced)]


def hand_step(workload: str, loop: asyncio.AbstractEventLoop) -> Callable[[int], None]:
    if workload == "roundtrip":
        state = [new_box()]

        def step(k: int) -> None:
            box = state[0]
            for _ in range(k):
                box = bump(bump(box))
            state[0] = box

        return step
    gen = count_source()
    events: list[int] = [0]
    if workload == "async":

        async def many(k: int) -> None:
            for _ in range(k):  # what an epoch of the AsyncRunner does, minus the runner
                plus1(plus1(plus1(next(gen))))

        return lambda k: loop.run_until_complete(many(k))

    def step(k: int) -> None:
        for _ in range(k):
            value = plus1(plus1(plus1(next(gen))))
            if workload == "callback":
                events[0] += 4
            assert value is not None

    return step


def runner_step(workload: str, impl: str, loop: asyncio.AbstractEventLoop) -> tuple[Callable[[int], None], Callable[[], None]]:
    if workload == "async":
        from noob.runner.asyncio import AsyncRunner

        arunner = AsyncRunner(Tube.from_specification(CHAIN), core=impl, loop_nodes="all")

        async def many(k: int) -> None:
            for _ in range(k):
                await arunner.process()

        loop.run_until_complete(arunner.init())
        return (lambda k: loop.run_until_complete(many(k))), (lambda: loop.run_until_complete(arunner.deinit()))
    runner = SynchronousRunner(Tube.from_specification(ROUNDTRIP if workload == "roundtrip" else CHAIN), core=impl)
    if workload == "callback":
        seen = [0]

        def count(event: Any) -> None:
            seen[0] += 1

        runner.add_callback(count)
    runner.init()
    process = runner.process

    def step(k: int) -> None:
        for _ in range(k):
            process()

    return step, runner.deinit


@pytest.mark.parametrize(
    "workload",
    [pytest.param(w, marks=pytest.mark.benchmark(group=f"soak-{w}")) for w in ("chain", "roundtrip", "callback", "async")],
)
def test_soak_memory_flat(bench, impl: str, workload: str) -> None:
    """A long run of each workload: traced memory does not grow with the number of epochs."""
    epochs = epochs_for(workload, bench)
    loop = asyncio.new_event_loop()
    try:
        if impl == "hand":
            step, stop = hand_step(workload, loop), (lambda: None)
        else:
            step, stop = runner_step(workload, impl, loop)
        step(10)  # warm up outside the trace
        samples: list[list[tuple[int, int]]] = []
        bench.pedantic(lambda: samples.append(soak(step, epochs)), rounds=1, iterations=1, warmup_rounds=0)
        stop()
    finally:
        loop.close()
    (trace,) = samples
    (first_epochs, first_bytes), (last_epochs, last_bytes) = trace[WARMUP], trace[-1]
    growth = (last_bytes - first_bytes) / (last_epochs - first_epochs)
    bench.extra_info.update(N=epochs, growth_bytes_per_epoch=round(growth, 4), samples=trace)
    print(f"\nsoak {workload} [{impl}]: {epochs} epochs, growth {growth:+.4f} B/epoch, traced {[b for _, b in trace]}")
    assert growth < MAX_BYTES_PER_EPOCH, f"{workload} [{impl}]: {growth:.3f} bytes/epoch ({trace})"
    assert last_bytes - first_bytes < MAX_GROWTH, f"{workload} [{impl}]: grew {last_bytes - first_bytes} bytes ({trace})"
