"""The observation hook: how a runner tells an observer what it runs, and when.

Owns: the :class:`Observer` protocol (every method a no-op, override what you need),
:func:`timed`, the wrapper a runner puts around a node's callable while an observer is attached,
and for runners whose nodes run in other processes, :class:`Collector` (records calls where
they run) and :data:`UNSENT` (the result of a replayed call whose value stayed there).
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
- ``epoch_started(epoch)``: once per epoch, when its inputs are set and before its first
  node runs (in the thread that calls ``process()``); ``epoch_ended(epoch)``: after every
  epoch that started, also one that failed. Started minus ended is the number of epochs in
  flight (more than one only with ``max_epochs_in_flight`` > 1).
- ``source_exhausted(i, epoch)``: node ``i`` (a source) ran out in ``epoch``; once per source
  until the runner starts again (``deinit()`` + ``init()``).

A node's ``StopIteration`` (a source running out) is neither a finish nor a failure.

All runners report through the shared epoch frame (``noob.runner.frame``) and :func:`timed`.
On ``RayRunner`` the nodes run in actors: each actor records its calls with a
:class:`Collector` (only while an observer is attached), and a thread of the driver takes
them every ~0.15 s and replays them as ``node_started`` / ``node_finished`` (in that
thread, times moved onto the driver's clock, durations as measured). The result of a
replayed call stays in its actor (``result`` is :data:`UNSENT`), except for the nodes an
observer asks for with ``remote_values()``: at most every ``SAMPLE_PERIOD_NS`` per node,
made small in the actor by the function the observer gives. ``node_failed`` comes from the
failure as it reaches the driver (named by the actor's note). Attaching or detaching
while a compiled graph runs needs no recompile: an actor switches between two stages.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter_ns
from types import CoroutineType
from typing import Any

__all__ = ["SAMPLE_PERIOD_NS", "UNSENT", "Collector", "Observer", "timed"]

#: how often, at most, a node's result leaves a Ray actor for an observer (nanoseconds)
SAMPLE_PERIOD_NS = 100_000_000
#: calls a Collector keeps between two takes (older ones are dropped: at ~7 takes a second,
#: far more than Ray's per-epoch cost lets an actor make)
COLLECT_MAX = 1 << 17
_NEVER = 1 << 62


class _Unsent:
    """The type of :data:`UNSENT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSENT"

    def __reduce__(self) -> str:
        return "UNSENT"


#: ``result`` of a call replayed from another process whose value stayed there
UNSENT: Any = _Unsent()


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

    def epoch_started(self, epoch: int) -> None:
        """Epoch ``epoch`` starts (its inputs are set; no node of it has run yet)."""

    def epoch_ended(self, epoch: int) -> None:
        """Epoch ``epoch`` is over (whether it returned, skipped or failed)."""

    def source_exhausted(self, node: int, epoch: int) -> None:
        """Source ``node`` ran out in epoch ``epoch`` (reported once until the runner restarts)."""

    def remote_values(self) -> Mapping[int, Callable[[Any], Any] | None]:
        """Nodes whose results this observer reads when they run in another process (Ray
        actors), each with a picklable function that makes a result small there (``None``:
        sent as it is). Asked about every ~0.15 s; other calls arrive with :data:`UNSENT`."""
        return {}


class Collector(Observer):
    """Records node calls where they run (a Ray actor) for a driver to take and replay.

    ``node_started`` / ``node_finished`` cost a list store and a ``deque.append`` (atomic
    under the GIL, so :meth:`take` may run in another thread while nodes run); the result
    of a node in :meth:`want` is kept, made small, at most every ``SAMPLE_PERIOD_NS``.
    """

    def __init__(self, n: int, period_ns: int = SAMPLE_PERIOD_NS, maxlen: int = COLLECT_MAX) -> None:
        self.calls: deque[tuple[int, int, int]] = deque(maxlen=maxlen)  # (node, t0, t1)
        self.running = [0] * n  # t0 of the call in progress per node, 0 when none
        self.due = [_NEVER] * n
        self.samples: dict[int, tuple[int, Any]] = {}  # node -> (t1, small result)
        self.reducers: Mapping[int, Callable[[Any], Any] | None] = {}
        self.period_ns = period_ns

    def node_started(self, node: int, t0: int) -> None:
        self.running[node] = t0

    def node_finished(self, node: int, t0: int, t1: int, result: Any) -> None:
        self.running[node] = 0
        self.calls.append((node, t0, t1))
        if t1 >= self.due[node]:
            self._sample(node, t1, result)

    def node_failed(self, node: int, epoch: Any, exc: BaseException) -> None:
        self.running[node] = 0

    def _sample(self, node: int, t1: int, result: Any) -> None:
        self.due[node] = t1 + self.period_ns
        if node not in self.reducers:  # no longer wanted
            self.due[node] = _NEVER
            return
        reduce = self.reducers[node]
        try:
            small = result if reduce is None else reduce(result)
        except Exception as exc:  # noqa: BLE001 -- a failing reducer must not fail the node
            small = f"<not sampled: {type(exc).__name__}: {exc}>"
        self.samples[node] = (t1, small)

    def want(self, reducers: Mapping[int, Callable[[Any], Any] | None]) -> None:
        """Sample the results of these nodes from now on (and no others)."""
        old = self.reducers
        self.reducers = dict(reducers)
        for i in range(len(self.due)):
            if i in self.reducers:
                if i not in old:
                    self.due[i] = 0
            else:
                self.due[i] = _NEVER

    def take(self) -> tuple[int, list[tuple[int, int, int]], dict[int, tuple[int, Any]], list[tuple[int, int]]]:
        """``(now, calls, samples, running)``: ``perf_counter_ns()`` now, the calls that
        finished since the last take, the latest sample per node since then, and
        ``(node, t0)`` of the calls in progress."""
        calls = self.calls
        taken = [calls.popleft() for _ in range(len(calls))]
        samples = {}
        for node in list(self.samples):
            got = self.samples.pop(node, None)
            if got is not None:
                samples[node] = got
        running = [(i, t0) for i, t0 in enumerate(self.running) if t0]
        return perf_counter_ns(), taken, samples, running


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
