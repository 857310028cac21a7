"""The core's ``Handoff``: one worker thread, a bounded wait on the loop thread, a future otherwise.

Both twins: results and exceptions come back through ``take()`` when the call finished
while the loop waited, or through an asyncio future when it did not (or when the caller
asked not to wait); a call that ran longer than ``spin`` makes the next one not wait; the
state machine survives calls that finish right at the end of the wait; ``close()`` lets the
thread go once its call is done. The AsyncRunner's use of it is in ``test_async_runner.py``.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest

from noob import AsyncRunner, Tube, _core


def handoff(core: str, spin: float, name: str = "noob-test-handoff") -> Any:
    return _core.get(core).Handoff(asyncio.get_running_loop(), spin, name)


async def result_of(h: Any, fn: Any, *args: Any, wait: bool = True) -> tuple[bool, Any]:
    """``(waited, result)``: True if ``call`` returned ``None`` (the loop waited for it)."""
    fut = h.call(fn, args, wait)
    if fut is None:
        return True, h.take()
    return False, await asyncio.wait_for(fut, 5)


def test_a_quick_call_is_waited_for(core):
    async def main() -> None:
        h = handoff(core, spin=0.05)  # 50 ms: a cold worker thread starts well within it
        try:
            assert h.idle
            waited, out = await result_of(h, lambda x: x + 1, 41)
            assert (waited, out) == (True, 42)
            assert h.idle
            waited, thread = await result_of(h, threading.get_ident)
            assert waited and thread != threading.get_ident()
        finally:
            h.close()

    asyncio.run(main())


def test_wait_false_and_spin_zero_give_a_future(core):
    async def main() -> None:
        h = handoff(core, spin=0.05)
        z = handoff(core, spin=0.0, name="noob-test-handoff-zero")
        try:
            assert await result_of(h, pow, 2, 10, wait=False) == (False, 1024)
            assert await result_of(z, pow, 2, 5) == (False, 32)
            assert 0.0 == z.spin and h.spin == pytest.approx(0.05)
        finally:
            h.close()
            z.close()

    asyncio.run(main())


def test_exceptions_keep_their_object(core):
    err = KeyError("kept")

    def boom() -> None:
        raise err

    async def main() -> None:
        h = handoff(core, spin=0.05)
        try:
            for wait in (True, False):
                with pytest.raises(KeyError) as info:
                    await result_of(h, boom, wait=wait)
                assert info.value is err
                assert h.idle
        finally:
            h.close()

    asyncio.run(main())


def test_a_slow_call_stops_the_next_wait(core):
    """The loop waits at most ``spin``; after a call longer than that, the next is not waited for."""

    async def main() -> None:
        h = handoff(core, spin=0.01)
        try:
            t0 = time.perf_counter()
            fut = h.call(time.sleep, (0.1,))
            waited_for = time.perf_counter() - t0
            assert fut is not None  # 100 ms > 10 ms: the loop stopped waiting
            assert waited_for < 0.09  # it did not block the loop for the whole call
            assert await asyncio.wait_for(fut, 5) is None
            waited, out = await result_of(h, abs, -3)
            assert (waited, out) == (False, 3)  # the last call was slow: no busy-wait
            waited, out = await result_of(h, abs, -4)
            assert (waited, out) == (True, 4)  # the last call was quick: waited again
        finally:
            h.close()

    asyncio.run(main())


def test_misuse_is_refused(core):
    async def main() -> None:
        with pytest.raises(ValueError, match="spin"):
            handoff(core, spin=-1.0)
        with pytest.raises(ValueError, match="spin"):
            handoff(core, spin=float("nan"))
        h = handoff(core, spin=0.01)
        try:
            with pytest.raises(RuntimeError, match="take"):
                h.take()
            gate = threading.Event()
            fut = h.call(gate.wait, (5,), False)
            assert not h.idle
            with pytest.raises(RuntimeError, match="in hand"):
                h.call(abs, (1,))
            gate.set()
            assert await asyncio.wait_for(fut, 5) is True
        finally:
            h.close()
        assert not h.idle
        with pytest.raises(RuntimeError, match="close"):
            h.call(abs, (1,))

    asyncio.run(main())


def _threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_close_ends_the_thread_after_its_call(core):
    name = f"noob-test-close-{core}"

    async def main() -> None:
        h = handoff(core, spin=0.001, name=name)
        assert await result_of(h, abs, -1) in ((True, 1), (False, 1))
        assert len(_threads_named(name)) == 1
        gate = threading.Event()
        fut = h.call(gate.wait, (5,), False)
        h.close()  # while the call runs: it still completes and resolves its future
        gate.set()
        assert await asyncio.wait_for(fut, 5) is True
        for thread in _threads_named(name):
            thread.join(5)
        assert not _threads_named(name)

        idle = handoff(core, spin=0.001, name=name)
        await result_of(idle, abs, -1)
        await asyncio.sleep(0.05)  # past its busy-wait: the worker sleeps on its lock
        idle.close()
        for thread in _threads_named(name):
            thread.join(5)
        assert not _threads_named(name)

    asyncio.run(main())


def test_a_cancelled_future_is_left_alone(core):
    async def main() -> None:
        h = handoff(core, spin=0.001)
        try:
            gate = threading.Event()
            fut = h.call(gate.wait, (5,), False)
            fut.cancel()
            gate.set()
            deadline = time.monotonic() + 5
            while not h.idle and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            assert h.idle
            assert await result_of(h, abs, -2, wait=False) == (False, 2)
        finally:
            h.close()

    asyncio.run(main())


def test_calls_that_end_as_the_wait_ends(core):
    """Many calls lasting about ``spin``: each either waited for or resolved, never lost or twice."""
    rng = random.Random(7)
    spin = 20e-6

    def work(k: int, delay: float) -> int:
        end = time.perf_counter() + delay
        while time.perf_counter() < end:
            pass
        return k

    async def main() -> tuple[int, int]:
        h = handoff(core, spin=spin)
        waited = 0
        try:
            for k in range(2000):
                was_waited, out = await result_of(h, work, k, rng.uniform(0, 2 * spin), wait=rng.random() < 0.9)
                assert out == k
                waited += was_waited
                if k % 97 == 0:
                    await asyncio.sleep(0)
        finally:
            h.close()
        return waited, 2000 - waited

    waited, resolved = asyncio.run(main())
    assert waited + resolved == 2000


def _chain(n: int, tube_id: str = "handoff-chain") -> dict:
    nodes: dict = {"a": {"type": "noob.testing.count_source"}}
    prev = "a.index"
    for k in range(n):
        nodes[f"p{k}"] = {"type": "testnodes.plus1", "depends": [{"x": prev}]}
        prev = f"p{k}.value"
    nodes["r"] = {"type": "return", "depends": prev}
    return {"noob_id": tube_id, "nodes": nodes}


@pytest.mark.parametrize("spin", [0.0, 1e-4, 0.01])
def test_runner_results_do_not_depend_on_spin(core, spin):
    runner = AsyncRunner(Tube.from_specification(_chain(5)), core=core, spin=spin)
    assert asyncio.run(runner.run(20)) == [k + 5 for k in range(20)]


@pytest.mark.parametrize("bad", [-1e-6, 0.5, "1e-4", None])
def test_runner_refuses_a_bad_spin(bad):
    with pytest.raises(ValueError, match="spin must be a number of seconds from 0 to 0.01"):
        AsyncRunner(Tube.from_specification(_chain(1)), spin=bad)


def test_runner_deinit_lets_the_chain_worker_go(core):
    runner = AsyncRunner(Tube.from_specification(_chain(3, f"deinit-{core}")), core=core)
    name = f"noob-deinit-{core}_chain"

    async def main() -> None:
        await runner.init()
        assert await runner.process() == 3
        assert len(_threads_named(name)) == 1
        await runner.deinit()

    asyncio.run(main())
    for thread in _threads_named(name):
        thread.join(5)
    assert not _threads_named(name)


def test_a_runner_never_deinitialised_loses_its_worker_with_its_loop(core):
    """``asyncio.run(runner.run(n))`` leaves the runner initialised; its loop closes, the worker goes."""
    runner = AsyncRunner(Tube.from_specification(_chain(2, f"leak-{core}")), core=core)
    name = f"noob-leak-{core}_chain"
    assert asyncio.run(runner.run(3)) == [2, 3, 4]
    assert runner.running
    threads = _threads_named(name) + _threads_named(f"noob-leak-{core}_0")  # the chain worker, a pool thread
    assert len(threads) == 2
    for thread in threads:
        thread.join(5)  # they nap a second at a time, then see the closed loop
        assert not thread.is_alive()
    assert asyncio.run(runner.run(2)) == [5, 6]  # a new loop: a new worker
