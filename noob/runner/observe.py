"""The observation hook: how a runner tells an observer what it runs, and when.

Owns: the :class:`Observer` protocol (every method a no-op, override what you need) and
:func:`timed`, the wrapper a runner puts around a node's callable while an observer is attached.
Must not: keep statistics or decide anything (that is the observer's job, e.g. ``noob.view``),
or cost anything when no observer is attached: a runner without observers calls its nodes'
callables unwrapped, and its fast paths stay as they are.

Attach with ``runner.add_observer(observer)``; detach with ``runner.remove_observer(observer)``.
What a runner reports, and from where:

- ``attached(runner)`` / ``detached(runner)``: once each, from ``add_observer`` /
  ``remove_observer``. ``runner.plan.node_ids[i]`` names node ``i``; ``runner.plan.signals[i]``
  are its signals, in the order of a tuple return.
- ``node_started(i, t0)`` and ``node_finished(i, t0, t1, result)``: around every call of node
  ``i`` (``time.perf_counter_ns()`` values; ``result`` is what the node returned, before it is
  split into signals). An ``async def`` node is timed from its call to the end of its await.
  In map regions each element's call is reported. These run in the thread that calls the node
  (a worker thread of ``AsyncRunner``), so an observer must be thread-safe and quick: its time
  is added to the node's.
- ``node_failed(i, epoch, exc)``: a node raised; ``exc`` already carries the runner's note
  naming node, epoch and tube. ``epoch`` is an ``int`` or, inside a map, an ``Epoch`` path.
- ``epoch_ended(epoch)``: after every epoch, also one that failed.

A node's ``StopIteration`` (a source running out) is neither a finish nor a failure.

On ``RayRunner`` the nodes run in actors: the driver's observers get ``epoch_ended`` and
``node_failed`` (read back from the failure's note), not ``node_started`` / ``node_finished``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from time import perf_counter_ns
from types import CoroutineType
from typing import Any

__all__ = ["Observer", "timed"]


class Observer:
    """Receives what a runner does; subclass and override the methods you need."""

    def attached(self, runner: Any) -> None:
        """Called once by ``runner.add_observer(self)``."""

    def detached(self, runner: Any) -> None:
        """Called once by ``runner.remove_observer(self)``."""

    def node_started(self, node: int, t0: int) -> None:
        """Node ``node`` (an index into ``runner.plan.node_ids``) is being called."""

    def node_finished(self, node: int, t0: int, t1: int, result: Any) -> None:
        """Node ``node`` returned ``result``; the call took ``t1 - t0`` nanoseconds."""

    def node_failed(self, node: int, epoch: Any, exc: BaseException) -> None:
        """Node ``node`` raised ``exc`` in ``epoch`` (the exception already has its note)."""

    def epoch_ended(self, epoch: int) -> None:
        """Epoch ``epoch`` is over (whether it returned, skipped or failed)."""


def timed(fn: Callable, node: int, observers: Sequence[Observer]) -> Callable:
    """``fn``, calling every observer's ``node_started`` / ``node_finished`` around each call.

    A call that returns a coroutine (an ``async def`` node) gives back a coroutine that reports
    when the await ends. Exceptions pass through untouched (failures are reported by the runner
    once it has named them).
    """
    starts = tuple(o.node_started for o in observers)
    ends = tuple(o.node_finished for o in observers)

    async def finish_later(t0: int, awaitable: Any) -> Any:
        result = await awaitable
        t1 = perf_counter_ns()
        for end in ends:
            end(node, t0, t1, result)
        return result

    if len(observers) == 1:  # the usual case, one loop-free call each side (~0.1 µs less per call)
        (start,), (end,) = starts, ends

        def call(*args: Any, **kwargs: Any) -> Any:
            t0 = perf_counter_ns()
            start(node, t0)
            result = fn(*args, **kwargs)
            if type(result) is CoroutineType:
                return finish_later(t0, result)
            end(node, t0, perf_counter_ns(), result)
            return result

    else:

        def call(*args: Any, **kwargs: Any) -> Any:
            t0 = perf_counter_ns()
            for start in starts:
                start(node, t0)
            result = fn(*args, **kwargs)
            if type(result) is CoroutineType:
                return finish_later(t0, result)
            t1 = perf_counter_ns()
            for end in ends:
                end(node, t0, t1, result)
            return result

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call
