"""The one run/iter policy of every runner: which epochs start, which results come out, when it ends.

Owns: the rules behind ``run(n)`` and ``iter(n)`` on every runner, written once --

- ``run(n)`` runs exactly ``n`` epochs (forever if ``None``) and returns their non-``None``
  results (``None`` if there were none, as the original does);
- ``iter(n)`` yields ``n`` results (forever if ``None``); with a ``return`` node an epoch
  without a result is skipped, at most ``max_iter_loops`` in a row (then ``RuntimeError``);
- with several epochs in flight (``window`` > 1) an epoch is only started while the epochs
  in flight are fewer than the results still wanted: no epoch runs whose result would be
  dropped (``iter(10)`` with ``window=3`` runs 10 epochs when every epoch has a result);
- the end when sources run out: ``SchedulerExhaustedError`` or a plain function node's
  ``StopIteration`` from an epoch, or the runner marked exhausted after one; epochs already
  admitted finish and their results come out, no new one starts;
- Ctrl-C in ``run()``: the runner is deinitialised, the ``KeyboardInterrupt`` raised again with
  a note saying how many results had come (a failing deinit is attached to it, not raised);
- the lifecycle: both start a runner that is not running; ``iter()`` deinitialises it at the
  end only if it started it itself (inside ``with runner:`` the runner stays up), ``run()``
  leaves it running (as the original 1003 does).

Must not: run an epoch, or know how one runs. A runner hands the policy two callables:
``submit()`` starts one epoch and returns a handle (or nothing, for runners that run one
epoch at a time), ``collect(handle)`` finishes it and returns its result; ``drain(handles)``
lets go of epochs still in flight when the caller stops early. The policy is the same for
the synchronous, asyncio and Ray runners; the two pumps below differ only in ``await``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from noob.exceptions import SchedulerExhaustedError
from noob.runner.session import also as _also

__all__ = ["Policy", "iter_async", "iter_sync", "plain_loop", "run_async", "run_sync"]

#: what ends a run quietly: the sources ran out, or a plain function node said "no more"
ENDS = (SchedulerExhaustedError, StopIteration)


class Policy:
    """The counters of one ``run()``/``iter()`` call and its two decisions, ``admit`` and ``take``.

    ``n``: epochs (``run``) or results (``iter``) wanted, ``None`` for no limit. ``iterating``:
    ``iter()`` rather than ``run()``. ``skip_none``: an epoch whose result is ``None`` gives
    nothing (always for ``run()``; for ``iter()`` only with a ``return`` node).
    """

    __slots__ = ("ended", "handed", "iterating", "loops", "max_loops", "n", "skip_none", "started", "tube_id")

    def __init__(self, runner: Any, n: int | None, iterating: bool):
        self.n = None if n is None else max(int(n), 0)
        self.iterating = iterating
        self.skip_none = not iterating or runner._return_slot is not None
        self.max_loops = runner.max_iter_loops
        self.tube_id = runner.tube.tube_id
        self.started = 0  # epochs started
        self.handed = 0  # results handed out
        self.loops = 0  # epochs in a row without a result (iter only)
        self.ended = False

    def admit(self, in_flight: int) -> bool:
        """May one more epoch start, with ``in_flight`` epochs started but not yet collected?"""
        if self.ended:
            return False
        n = self.n
        if n is None:
            return True
        if self.iterating:
            return self.handed + in_flight < n
        return self.started < n

    def fill(self, runner: Any, pending: deque, submit: Callable[[], Any], window: int) -> bool:
        """Start epochs (``submit()``) into ``pending`` while ``window`` and the policy allow;
        ``True`` while there is an epoch to collect. An exhausted runner starts none."""
        if runner._exhausted:
            self.ended = True
        while len(pending) < window and self.admit(len(pending)):
            self.started += 1
            pending.append(submit())
        return bool(pending)

    def collected(self, runner: Any, out: Any) -> bool:
        """One epoch collected with result ``out``: ``True`` if it is handed out. After an
        epoch that left the runner exhausted no epoch starts; those in flight still come."""
        if runner._exhausted:
            self.ended = True
        return self.take(out)

    def take(self, out: Any) -> bool:
        """Account for one collected epoch's result; ``True`` if it is handed out."""
        if out is None and self.skip_none:
            if self.iterating and not self.ended:
                self.loops += 1
                if self.loops >= self.max_loops:
                    raise RuntimeError(
                        f"Reached maximum process calls per iteration ({self.max_loops}) without a result "
                        f"from tube {self.tube_id!r}; raise max_iter_loops if this is expected"
                    )
            return False
        self.loops = 0
        self.handed += 1
        if self.iterating and self.n is not None and self.handed >= self.n:
            self.ended = True
        return True


def _one(_: Any = None) -> None:
    return None


def pump(runner: Any, policy: Policy, collect: Callable[[Any], Any], submit: Callable[[], Any] = _one,
         drain: Callable[[deque], None] | None = None, window: int = 1) -> Iterator[Any]:
    """The results ``policy`` hands out, epochs started by ``submit`` and finished by ``collect``."""
    pending: deque = deque()
    try:
        while policy.fill(runner, pending, submit, window):
            try:
                out = collect(pending.popleft())
            except ENDS:
                return
            if policy.collected(runner, out):
                yield out
    finally:
        if pending and drain is not None:
            drain(pending)


async def apump(runner: Any, policy: Policy, collect: Callable[[Any], Any], submit: Callable[[], Any] = _one,
                drain: Callable[[deque], Any] | None = None, window: int = 1) -> AsyncIterator[Any]:
    """:func:`pump` for an asyncio runner: ``collect`` returns an awaitable, ``drain`` may too."""
    pending: deque = deque()
    try:
        while policy.fill(runner, pending, submit, window):
            try:
                out = await collect(pending.popleft())
            except ENDS:
                return
            if policy.collected(runner, out):
                yield out
    finally:
        if pending and drain is not None:
            await drain(pending)


def _interrupted(runner: Any, exc: BaseException, n_results: int) -> None:
    runner._note_interrupt(exc, n_results)


def plain_loop(runner: Any, n: int | None, results: list) -> None:
    """``n`` epochs of ``runner.process()`` (forever if ``None``), non-``None`` results appended
    to ``results``; stops after the epoch that left the runner exhausted."""
    process = runner.process
    count = 0
    while n is None or count < n:
        count += 1
        out = process()
        if out is not None:
            results.append(out)
        if runner._exhausted:
            break


def run_sync(runner: Any, n: int | None, collect: Callable[[Any], Any] | None = None, submit: Callable[[], Any] = _one,
             drain: Callable[[deque], None] | None = None, window: int = 1,
             loop: Callable[[Any, int | None, list], None] = plain_loop) -> list | None:
    """``run(n)`` of a runner whose ``process()`` is synchronous (see the module docstring).

    One epoch at a time, the epochs are ``loop(runner, n, results)``: by default
    :func:`plain_loop`, as cheap as a hand-written loop of ``process()`` calls; a runner may
    give its own with the same contract (the synchronous runner calls its core directly).
    """
    runner._check_no_process_inputs("run")
    results: list = []
    try:
        if not runner.running:
            runner.init()
        if collect is None and window == 1:
            try:
                loop(runner, n, results)
            except ENDS:
                pass
        else:
            assert collect is not None, "a window needs a collect()"
            results.extend(pump(runner, Policy(runner, n, False), collect, submit, drain, window))
    except ENDS:  # exhausted before the first epoch
        pass
    except KeyboardInterrupt as exc:
        _interrupted(runner, exc, len(results))
        runner._running = False
        _also(exc, runner._teardown(), "stopping")  # a failing deinit must not hide the Ctrl-C
        raise
    return results or None


def iter_sync(runner: Any, n: int | None, collect: Callable[[Any], Any], submit: Callable[[], Any] = _one,
              drain: Callable[[deque], None] | None = None, window: int = 1) -> Iterator[Any]:
    """``iter(n)`` of a runner whose ``process()`` is synchronous: checks inputs when called,
    then (a generator) starts the runner on the first ``next()``."""
    runner._check_no_process_inputs("iter")
    return _iter_sync(runner, n, collect, submit, drain, window)


def _iter_sync(runner: Any, n: int | None, collect: Callable[[Any], Any], submit: Callable[[], Any],
               drain: Callable[[deque], None] | None, window: int) -> Iterator[Any]:
    started_here = not runner.running
    runner.init()
    try:
        yield from pump(runner, Policy(runner, n, True), collect, submit, drain, window)
    finally:
        if started_here:
            runner.deinit()


async def run_async(runner: Any, n: int | None, collect: Callable[[Any], Any], submit: Callable[[], Any] = _one,
                    drain: Callable[[deque], Any] | None = None, window: int = 1) -> list | None:
    """``run(n)`` of an asyncio runner (the caller checked its inputs when it was called)."""
    results: list = []
    try:
        if not runner.running:
            await runner.init()
        if window == 1:  # one epoch at a time: the plain loop of process() calls, as run_sync's
            process = runner.process
            count = 0
            while (n is None or count < n) and not runner._exhausted:
                count += 1
                out = await process()
                if out is not None:
                    results.append(out)
        else:
            async for out in apump(runner, Policy(runner, n, False), collect, submit, drain, window):
                results.append(out)
    except ENDS:
        pass
    except KeyboardInterrupt as exc:
        _interrupted(runner, exc, len(results))
        try:
            await runner.deinit()
        except Exception as later:
            _also(exc, later, "stopping")  # a failing deinit must not hide the Ctrl-C
        raise
    return results or None


async def iter_async(runner: Any, n: int | None, collect: Callable[[Any], Any], submit: Callable[[], Any] = _one,
                     drain: Callable[[deque], Any] | None = None, window: int = 1) -> AsyncIterator[Any]:
    """``iter(n)`` of an asyncio runner (the caller checked its inputs when it was called)."""
    started_here = not runner.running
    await runner.init()
    results = apump(runner, Policy(runner, n, True), collect, submit, drain, window)
    try:
        async for out in results:
            yield out
    finally:
        try:
            await results.aclose()  # type: ignore[attr-defined]
        finally:
            if started_here:
                await runner.deinit()
