"""AsyncRunner pipelined epochs: throughput of a 3-stage pipeline (issue 11).

Workload ``pipeline3-10ms-x30``: a counter source -> three ``async def`` stages that each
``await asyncio.sleep(0.01)`` -> return, 30 epochs per round (``run(30)`` on a fresh runner).
In order, an epoch takes the three stages one after the other (~30 ms, ~900 ms a round);
with ``max_epochs_in_flight=3`` epoch e+1's first stage runs while epoch e's second does, so
a round takes about 30 + 2 stage times (~320 ms): throughput ~2.8x. ``hand`` is the
hand-written equivalent: the same three awaits per epoch one after the other (``in-order``),
resp. three stage coroutines connected by ``asyncio.Queue``s (``pipelined``).

Every round asserts the 30 results in epoch order; a pipelined round must take less than
the least an in-order one can take (30 x 3 stages), so the benchmark fails if epochs stop
overlapping.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from benchmarks.nodes import count_source

STAGE = 0.01
EPOCHS = 30
IN_FLIGHT = 3


async def stage(x: int, delay: float = STAGE) -> int:
    """``x + 1`` after ``await asyncio.sleep(delay)`` (signal ``value``)."""
    await asyncio.sleep(delay)
    return x + 1


def pipeline_spec() -> dict:
    return {"noob_id": "pipeline3", "nodes": {
        "src": {"type": "benchmarks.nodes.count_source"},
        "s1": {"type": "benchmarks.test_pipeline.stage", "depends": [{"x": "src.index"}]},
        "s2": {"type": "benchmarks.test_pipeline.stage", "depends": [{"x": "s1.value"}]},
        "s3": {"type": "benchmarks.test_pipeline.stage", "depends": [{"x": "s2.value"}]},
        "ret": {"type": "return", "depends": "s3.value"},
    }}  # fmt: skip


async def hand_in_order(src) -> list:
    out = []
    for _ in range(EPOCHS):
        out.append(await stage(await stage(await stage(next(src)))))
    return out


async def hand_pipelined(src) -> list:
    queues = [asyncio.Queue(1) for _ in range(3)]
    out: list = []

    async def worker(k: int) -> None:
        for _ in range(EPOCHS):
            x = await stage(await queues[k].get())
            if k < 2:
                await queues[k + 1].put(x)
            else:
                out.append(x)

    async def feed() -> None:
        for _ in range(EPOCHS):
            await queues[0].put(next(src))

    await asyncio.gather(feed(), *(worker(k) for k in range(3)))
    return out


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(mode, marks=pytest.mark.benchmark(group=f"pipeline3-10ms-x{EPOCHS}-{mode}"))
        for mode in ("in-order", "pipelined")
    ],
)
def test_pipeline_throughput(bench, impl, mode):
    from noob import AsyncRunner, Tube

    bench.extra_info.update(N=3, epochs=EPOCHS, mode=mode, stage_ms=STAGE * 1000)
    loop = asyncio.new_event_loop()
    starts = iter(range(0, 10**9, EPOCHS))

    async def one_round() -> list:
        if impl == "hand":
            src = count_source(next(starts))
            return await (hand_in_order(src) if mode == "in-order" else hand_pipelined(src))
        runner = AsyncRunner(Tube.from_specification(pipeline_spec()), core=impl,
                             max_epochs_in_flight=IN_FLIGHT if mode == "pipelined" else 1)
        try:
            return await runner.run(EPOCHS)
        finally:
            await runner.deinit()

    def timed() -> tuple[list, float]:
        start = time.perf_counter()
        out = loop.run_until_complete(one_round())
        elapsed = time.perf_counter() - start
        if mode == "pipelined":
            # sleeps only ever take longer: no in-order round can beat EPOCHS * 3 stages, so a
            # round under that proves the epochs overlapped (and stays true on a loaded machine)
            limit = EPOCHS * 3 * STAGE
            assert elapsed < limit, f"{EPOCHS} pipelined epochs took {elapsed * 1000:.0f} ms: epochs do not overlap"
        return out, elapsed

    try:
        out, _ = bench.pedantic(timed, rounds=3, iterations=1)
        assert out[1:] == [x + 1 for x in out[:-1]] and len(out) == EPOCHS and out[0] % EPOCHS == 3
    finally:
        loop.close()
