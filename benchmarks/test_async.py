"""AsyncRunner: concurrency and per-epoch overhead (issue 5, Performance).

Workloads, one ``await runner.process()`` per round on a loop kept for the whole benchmark:

- ``async-sleep10``: 10 independent nodes that each ``await asyncio.sleep(0.01)``. Run
  concurrently, an epoch takes about one sleep (~10 ms), not ten; every round asserts it
  stays under 50 ms, so the benchmark fails if concurrency breaks. ``hand`` is
  ``asyncio.gather`` of the same 10 coroutines; ``compiled`` / ``python`` the AsyncRunner
  on that core.
- ``async-trivial-fanout10-x100``: a counter source -> 10 ``plus1`` branches -> ``sum_all``,
  100 epochs per round (so the ~9 µs of entering the loop once per round,
  ``run_until_complete``, is not counted as per-epoch cost). The cost of running trivial
  nodes, side by side for ``hand`` (the plain loop), the ``SynchronousRunner`` and the
  ``AsyncRunner`` with synchronous nodes in its thread pool (``threads``, the default) or on
  the loop thread (``loop``, ``loop_nodes="all"``), on each core.
- ``async-chain10-async-x100``: a counter source (on the loop) -> 10 ``async def`` ``aplus1``
  nodes -> return, 100 epochs per round. ``hand`` is the hand-written ``x = await f(x)``
  chain over the same coroutine functions. Nothing can overlap, so the runner awaits each
  node directly (no task per node).
- ``async-chain10-sync-threads-x100`` / ``-vs-one-hop``: the sync chain of
  ``benchmarks.test_dispatch.chain_spec(10)`` in the AsyncRunner's default mode (sync nodes
  off the loop thread): the whole chain runs in one hop per epoch to the chain worker, which
  the loop busy-waits for (``spin``, no thread wake-up). ``hand`` is the
  plain loop, resp. the plain loop run in one ``loop.run_in_executor`` hop per epoch (what a
  hand-written asyncio program does to keep blocking code off the loop). ``-spin0``: the
  runner with ``spin=0`` (no busy-waiting: one future and one thread wake-up per epoch)
  beside the plain loop, to show what the chain worker's wait buys.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks.nodes import count_source, plus1, sum_all
from benchmarks.test_dispatch import chain_spec, fanout_spec, hand_chain

SLEEP = 0.01
N_SLEEPERS = 10
FANOUT = 10
EPOCHS = 100  # epochs per round of the trivial-node benchmark


CHAIN = 10


async def aplus1(x: int) -> int:
    """``x + 1``, as an ``async def`` node (signal ``value``)."""
    return x + 1


def async_chain_spec(n: int) -> dict:
    spec = chain_spec(n)
    for node in spec["nodes"].values():
        if node["type"] == "benchmarks.nodes.plus1":
            node["type"] = "benchmarks.test_async.aplus1"
    return spec


async def sleep_node(x: int, delay: float = SLEEP) -> int:
    """``x`` after ``await asyncio.sleep(delay)``."""
    await asyncio.sleep(delay)
    return x


def sleepers_spec() -> dict:
    nodes: dict = {"src": {"type": "benchmarks.nodes.count_source"}}
    for i in range(N_SLEEPERS):
        nodes[f"s{i}"] = {"type": "benchmarks.test_async.sleep_node", "depends": [{"x": "src.index"}]}
    nodes["sum"] = {"type": "benchmarks.nodes.sum_all", "depends": [f"s{i}.value" for i in range(N_SLEEPERS)]}
    nodes["ret"] = {"type": "return", "depends": "sum.value"}
    return {"noob_id": "sleepers", "nodes": nodes}


@pytest.fixture
def loop():
    """One event loop for the whole benchmark; every round runs on it."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def make_async_runner(loop):
    """Factory: ``make_async_runner(spec, impl, **kw)`` is an initialised ``AsyncRunner`` on
    ``impl``'s core, bound to ``loop``; deinitialised at teardown."""
    from noob import AsyncRunner, Tube

    runners = []

    def make(spec: dict, impl: str, **kwargs: Any) -> Any:
        runner = AsyncRunner(Tube.from_specification(spec), core=impl, **kwargs)
        runners.append(runner)
        loop.run_until_complete(runner.init())
        return runner

    yield make
    for runner in reversed(runners):
        loop.run_until_complete(runner.deinit())


def _epochs(process: Callable[[], Any]) -> Callable[[], Any]:
    def many() -> Any:
        for _ in range(EPOCHS):
            last = process()
        return last

    return many


def _epochs_on(loop: asyncio.AbstractEventLoop, process: Callable[[], Any]) -> Callable[[], Any]:
    async def many() -> Any:
        for _ in range(EPOCHS):
            last = await process()
        return last

    return lambda: loop.run_until_complete(many())


@pytest.mark.benchmark(group=f"async-sleep{N_SLEEPERS}")
def test_concurrent_sleeps(bench, impl, loop, make_async_runner):
    bench.extra_info["N"] = N_SLEEPERS
    if impl == "hand":
        src = count_source()

        async def epoch() -> int:
            x = next(src)
            return sum_all(*await asyncio.gather(*(sleep_node(x) for _ in range(N_SLEEPERS))))
    else:
        epoch = make_async_runner(sleepers_spec(), impl).process

    def timed() -> tuple[int, float]:
        start = time.perf_counter()
        result = loop.run_until_complete(epoch())
        elapsed = time.perf_counter() - start
        # ten 10 ms sleeps: concurrent, about 10 ms; one after the other, 100 ms
        assert elapsed < 0.05, f"epoch took {elapsed * 1000:.1f} ms: nodes are not running concurrently"
        return result, elapsed

    assert timed()[0] == 0  # epoch 0: index 0 everywhere
    result, _ = bench(timed)
    assert result % N_SLEEPERS == 0 and result > 0


@pytest.mark.parametrize(
    "runner",
    [
        pytest.param(mode, marks=pytest.mark.benchmark(group=f"async-trivial-fanout{FANOUT}-x{EPOCHS}-{mode}"))
        for mode in ("sync", "threads", "loop")
    ],
)
def test_trivial_overhead(bench, impl, runner, loop, make_runner, make_async_runner):
    # the hand-written loop ignores `runner`: each group shows it beside the three runner modes
    bench.extra_info.update(N=FANOUT, epochs=EPOCHS, runner=runner)
    if impl == "hand":
        src = count_source()
        fns = [plus1] * FANOUT

        def epoch() -> int:
            index = next(src)
            return sum_all(*[fn(index) for fn in fns])

        rounds = _epochs(epoch)
    elif runner == "sync":
        rounds = _epochs(make_runner(fanout_spec(FANOUT), impl).process)
    else:
        r = make_async_runner(fanout_spec(FANOUT), impl, loop_nodes="all" if runner == "loop" else ())
        rounds = _epochs_on(loop, r.process)
    assert rounds() == FANOUT * EPOCHS  # epochs 0..99: the last returns FANOUT * (99 + 1)
    last = bench(rounds)
    assert isinstance(last, int) and last > FANOUT * EPOCHS and last % FANOUT == 0
    assert rounds() == last + FANOUT * EPOCHS


@pytest.mark.benchmark(group=f"async-chain{CHAIN}-async-x{EPOCHS}")
def test_async_chain(bench, impl, loop, make_async_runner):
    bench.extra_info.update(N=CHAIN, epochs=EPOCHS)
    if impl == "hand":
        src = count_source()
        fns = [aplus1] * CHAIN

        async def epoch() -> int:
            x = next(src)
            for fn in fns:
                x = await fn(x)
            return x
    else:
        epoch = make_async_runner(async_chain_spec(CHAIN), impl, loop_nodes={"src"}).process
    rounds = _epochs_on(loop, epoch)
    assert rounds() == CHAIN + EPOCHS - 1  # epochs 0..99: the last returns 99 + CHAIN
    last = bench(rounds)
    assert rounds() == last + EPOCHS


@pytest.mark.parametrize(
    "baseline",
    [
        pytest.param("loop", marks=pytest.mark.benchmark(group=f"async-chain{CHAIN}-sync-threads-x{EPOCHS}")),
        pytest.param("hop", marks=pytest.mark.benchmark(group=f"async-chain{CHAIN}-sync-threads-x{EPOCHS}-vs-one-hop")),
        pytest.param("spin0", marks=pytest.mark.benchmark(group=f"async-chain{CHAIN}-sync-threads-x{EPOCHS}-spin0")),
    ],
)
def test_sync_chain_in_threads(bench, impl, baseline, loop, make_async_runner):
    # the runner rows ignore `baseline`: each group shows them beside one hand-written baseline
    bench.extra_info.update(N=CHAIN, epochs=EPOCHS, baseline=baseline)
    if impl == "hand" and baseline in ("loop", "spin0"):
        rounds = _epochs(hand_chain(CHAIN))
    elif impl == "hand":
        chain = hand_chain(CHAIN)
        pool = concurrent.futures.ThreadPoolExecutor(1)

        async def epoch() -> int:
            return await loop.run_in_executor(pool, chain)

        rounds = _epochs_on(loop, epoch)
    else:  # spin0: the runner without busy-waiting for its chain worker (a future per hop)
        spin = 0.0 if baseline == "spin0" else 1e-4
        rounds = _epochs_on(loop, make_async_runner(chain_spec(CHAIN), impl, spin=spin).process)
    assert rounds() == CHAIN + EPOCHS - 1
    last = bench(rounds)
    assert rounds() == last + EPOCHS
    if impl == "hand" and baseline == "hop":
        pool.shutdown()
