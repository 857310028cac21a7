"""``run(n)`` against a loop of ``process()`` calls: the run/iter policy (``noob.runner.policy``)
must cost no more per epoch than the caller's own loop.

Workload: the chain of 10 ``plus1`` nodes after a counter source (``test_dispatch``), 100
epochs per round, on the synchronous runner and on the ``AsyncRunner`` (``loop_nodes="all"``,
so no thread hop hides the loop's cost). Groups ``policy-<runner>-chain10-x100-<way>``:
``way`` is ``run`` (one ``run(100)``) or ``loop`` (100 ``process()`` calls); ``hand`` is the
hand-written loop over the same functions in both.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.test_async import make_async_runner  # noqa: F401 - fixture
from benchmarks.test_dispatch import chain_spec, hand_chain

N = 10
EPOCHS = 100


def _hand(n: int):
    epoch = hand_chain(n)

    def rounds() -> int:
        for _ in range(EPOCHS):
            last = epoch()
        return last

    return rounds


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize(
    "way", [pytest.param(w, marks=pytest.mark.benchmark(group=f"policy-sync-chain{N}-x{EPOCHS}-{w}")) for w in ("run", "loop")]
)
def test_sync_run_vs_loop(bench, impl, make_runner, way):
    bench.extra_info.update(N=N, epochs=EPOCHS)
    if impl == "hand":
        rounds = _hand(N)
    else:
        runner = make_runner(chain_spec(N), impl)
        process = runner.process

        def rounds() -> int:
            if way == "run":
                return runner.run(EPOCHS)[-1]
            for _ in range(EPOCHS):
                last = process()
            return last

    first = rounds()
    assert first == N + EPOCHS - 1
    assert rounds() == first + EPOCHS
    bench(rounds)


@pytest.mark.parametrize(
    "way", [pytest.param(w, marks=pytest.mark.benchmark(group=f"policy-async-chain{N}-x{EPOCHS}-{w}")) for w in ("run", "loop")]
)
def test_async_run_vs_loop(bench, impl, loop, make_async_runner, way):  # noqa: F811 - the fixture
    bench.extra_info.update(N=N, epochs=EPOCHS)
    if impl == "hand":
        rounds = _hand(N)
    else:
        runner = make_async_runner(chain_spec(N), impl, loop_nodes="all")

        async def many() -> int:
            if way == "run":
                return (await runner.run(EPOCHS))[-1]
            for _ in range(EPOCHS):
                last = await runner.process()
            return last

        def rounds() -> int:
            return loop.run_until_complete(many())

    first = rounds()
    assert first == N + EPOCHS - 1
    assert rounds() == first + EPOCHS
    bench(rounds)
