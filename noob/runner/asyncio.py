"""The asyncio runner: nodes start as soon as their inputs are ready, on a running event loop.

Owns: running epochs as events on the loop -- ``async def`` nodes awaited or as tasks,
synchronous nodes in a thread pool (or on the loop thread, see below), a bound on calls in
flight, pipelined epochs (``max_epochs_in_flight``) with the per-node and per-asset order
they keep -- and the async lifecycle (``await init()`` / ``deinit()``, async hooks and assets
awaited on the running loop), per-call node-scoped assets, draining an epoch when a node fails.
Must not: decide what is ready or whether a node is skipped (the core's ``Driver`` does, over
the same plan and ``Dispatcher`` the synchronous runner uses), or restate what every runner
does around an epoch: inputs, process-scoped assets, exhaustion, failure notes and results
are the epoch frame's (``noob.runner.frame``), ``run``/``iter`` the policy's
(``noob.runner.policy``), maps, events and the store ``TubeRunner``'s; the bookkeeping of
pipelined epochs is ``noob.runner.pipeline``.

One epoch (``_run_epoch``)::

    driver.start(values)
    work = driver.step()        # runs inline nodes and skips; None when nothing is ready
    while work or in flight:
        coroutine, alone        -> result = await it (no task)       ; work = driver.complete(node, result)
        coroutine, others ready -> task on the loop
        SEGMENT                 -> worker thread: driver.run_segment(node) runs the node and the
                                   chain of sync nodes after it (one hop for the whole chain)
        RUNNER                  -> node-scoped assets or a map: the runner calls it itself
        GATE                    -> pipelined epochs: wait until the node's turn (see below)
        await the next completion -> work = driver.complete(node, result)

Where nodes run:

- ``async def`` nodes: awaited directly by the epoch when nothing else is ready or running
  (a chain of them costs about a hand-written ``await`` chain); as tasks on the loop when
  they can overlap. A directly awaited node runs in the caller's task and context.
- synchronous nodes: worker threads, so a blocking call never stalls the loop. A worker runs
  a whole chain of them (each releasing exactly one synchronous successor) in one hop. When
  that chain is all the epoch has to do, it goes to the runner's chain worker (the core's
  ``Handoff``): the loop thread waits for it without the GIL for up to ``spin`` seconds, so a
  quick chain comes back with no thread wake-up and no self-pipe write; a slower one is
  awaited as any thread's future (and the next chain is not waited for). Chains that can
  overlap go to the thread pool (``max_workers`` threads), started in the order they became
  ready, and run in parallel. A node runs
  on the loop thread instead when its function, class or process method is decorated with
  :func:`on_loop`, when its id is in ``loop_nodes``, or for every synchronous node with
  ``loop_nodes="all"``. ``return`` and ``gather`` always run on the loop.
- a ``map`` node runs its per-element region in one worker thread, exactly as the
  synchronous runner does (async nodes in the region are awaited on the loop meanwhile).
  It runs alone: the region writes per-element values (and sub-epochs) into the shared slot
  table, so calls already running finish first and no other node starts until it is done.

Pipelined epochs (``max_epochs_in_flight=k`` > 1): up to ``k`` epochs run at once, each on
its own copy of the slot table, started in order; epoch e+1 starts once every source of
epoch e has run (so a source that runs out stops the next epoch from starting). What keeps
the synchronous runner's results:

- a stateful node (a class instance, a generator, a nested tube, ``gather``) runs epoch e+1
  only after its epoch e call;
- the users of a runner-scoped asset (its consumers and the node its ``depends`` round trip
  stores from) run epoch e+1 only after all of them ran epoch e; the asset's value moves on
  to epoch e+1 then;
- process-scoped assets are made per epoch; results, ``EpochEnded`` and the store come out
  in epoch order;
- stateless nodes (plain functions, ``return``) of different epochs overlap freely.
If epoch e fails, epochs after it that already started are abandoned (their ``process()``
raises ``RuntimeError``) -- they may have run some of their nodes; the same holds when a
plain function node of epoch e raises ``StopIteration`` (the run ends after epoch e, as with
the synchronous runner, but epoch e+1's first nodes may have run). Map nodes cannot be
pipelined (their region shares one slot table).

Node-scoped assets are created for each call (a copy of the asset's runtime, so two nodes
running at once never share one) and closed before the node's successors start. Process-
and runner-scoped assets are shared by every node of an epoch; the load-time ``RaceWarning``
about unordered users applies doubly here, since unordered nodes really do run at once.

Errors: the first exception a node raises stops new nodes from starting; async nodes still
running are cancelled and threads are drained, for up to ``exception_timeout`` seconds; then
it is raised from ``process()`` with its own type and the note
``[noob] raised by node 'b' in epoch 2 of tube 't'``. Node- and process-scoped assets are
closed and the runner stays usable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from noob.asset import AssetRuntime, AssetScope
from noob.event import Event, EventStore
from noob.exceptions import SchedulerExhaustedError
from noob.node.adapters import MapNodeAdapter
from noob.plan import NodeKind
from noob.runner.base import TubeRunner, _also
from noob.runner.pipeline import EPOCH as _EPOCH
from noob.runner.pipeline import LIFE as _LIFE
from noob.runner.pipeline import Gates as _Gates
from noob.runner.pipeline import Run as _Run
from noob.runner.pipeline import Turnstile as _Turnstile
from noob.runner.policy import iter_async, run_async
from noob.runner.session import settle
from noob.runner.sync import SynchronousRunner
from noob.tube import Tube
from noob.types import Epoch, MetaSignal

__all__ = ["AsyncRunner", "on_loop"]

NOEVENT = MetaSignal.NoEvent
EXHAUSTED = MetaSignal.Exhausted

_logger = logging.getLogger("noob.runner.asyncio")

# where a node's call runs
_LOOP = 0  # on the loop thread, inline in the epoch loop
_THREAD = 1  # in the runner's thread pool
_TASK = 2  # an async def node: awaited by the epoch, or a task on the loop
_REGION = 3  # inside a map region: the map node runs it; the epoch loop only marks it done
_MAP = 4  # a map node: runs its region in a worker thread, alone (see _run_epoch)

def on_loop(obj: Any) -> Any:
    """Mark a node function, class or process method to run on the event-loop thread.

    For cheap synchronous nodes the thread hop costs more than the call; a node that blocks
    must not use this (it would stall every other node of the epoch). ``async def`` nodes
    always run on the loop and need no mark.
    """
    obj.__noob_on_loop__ = True
    return obj


class _Done:
    """An awaitable that is already complete (``enable_node`` with nothing to initialise)."""

    def __await__(self) -> Any:
        return iter(())


async def _await(awaitable: Awaitable) -> Any:
    return await awaitable


class _Failure(Exception):
    """Carries a node's exception out of a worker thread (``StopIteration`` cannot pass
    through a future) or out of the epoch loop, with the node that raised it."""

    def __init__(self, node: int, exc: BaseException):
        super().__init__(node, exc)
        self.node = node
        self.exc = exc


class _Outside(Exception):
    """The epoch was cancelled from outside (not by a node): drain, then re-raise ``exc``."""

    def __init__(self, exc: BaseException):
        super().__init__(exc)
        self.exc = exc


def _node_error(i: int, exc: BaseException) -> Exception:
    """What a directly awaited node's exception means: the node failed, or (a CancelledError
    while our own task is being cancelled) the epoch was cancelled from outside."""
    if isinstance(exc, asyncio.CancelledError):
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return _Outside(exc)
    return _Failure(i, exc)


class _Workers:
    """The runner's worker threads: ``submit(fn, *args)`` runs ``fn(*args)`` in one of them
    and returns an asyncio future of its result, resolved on ``loop``.

    Leaner than ``loop.run_in_executor`` on a ``ThreadPoolExecutor`` (a ``SimpleQueue`` and one
    ``call_soon_threadsafe`` per call, no ``concurrent.futures`` future to chain): the hop to a
    thread and back is the cost of a synchronous node chain. Threads start on demand, up to
    ``max_workers`` (default: ``ThreadPoolExecutor``'s, ``min(32, cpus + 4)``), and stay
    until ``shutdown()``, or until the loop is closed (a runner never deinitialised).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_workers: int | None, name: str):
        self.loop = loop
        self.max_workers = max_workers if max_workers is not None else min(32, (os.cpu_count() or 1) + 4)
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers!r}")
        self.name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable, *args: Any) -> asyncio.Future:
        fut = self.loop.create_future()
        self._queue.put((fut, fn, args))
        if not self._idle.acquire(blocking=False) and len(self._threads) < self.max_workers:
            thread = threading.Thread(target=self._work, name=f"{self.name}_{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return fut

    def _work(self) -> None:
        get = self._queue.get
        call_soon = self.loop.call_soon_threadsafe
        while True:
            try:
                item = get(timeout=1.0)
            except queue.Empty:  # idle a second: a runner never deinitialised lets go once its loop is closed
                if self.loop.is_closed():
                    return
                continue
            if item is None:
                return
            fut, fn, args = item
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the loop: the future raises it there
                try:
                    call_soon(_set_exception, fut, exc)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
            else:
                try:
                    call_soon(_set_result, fut, result)
                except RuntimeError:
                    pass
            del item, fut, fn, args
            self._idle.release()

    def shutdown(self) -> None:
        """Let every thread end once the calls queued before this one are done (no waiting)."""
        for _ in self._threads:
            self._queue.put(None)
        self._threads = []


def _set_result(fut: asyncio.Future, result: Any) -> None:
    if not fut.done():
        fut.set_result(result)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class AsyncRunner(TubeRunner):
    """Runs a tube on the running asyncio loop, nodes concurrently as their inputs arrive.

    ``await init()`` / ``await deinit()`` (or ``async with runner:``) start and stop nodes and
    runner-scoped assets; ``await process(**inputs)`` runs one epoch and returns what the
    ``return`` node packed; ``await run(n)`` returns the list of results (``None`` if there
    were none, as the synchronous runner); ``async for result in runner.iter(n)`` yields them.
    Results are the synchronous runner's for every tube; only the order in which independent
    nodes run (and callbacks fire) differs.

    Arguments (besides the synchronous runner's ``tube``, ``store``, ``max_iter_loops``, ``core``):

    - ``max_workers``: threads for synchronous nodes (default: ``ThreadPoolExecutor``'s).
    - ``max_in_flight``: at most this many node calls run at once per epoch (tasks plus
      threads; a chain a worker runs in one hop counts once).
    - ``exception_timeout``: seconds to wait for the rest of a failing epoch to stop.
    - ``loop_nodes``: ids of synchronous nodes to run on the loop thread, or ``"all"``.
    - ``max_epochs_in_flight``: pipelined epochs (see the module docstring); 1, the default,
      runs one epoch at a time. ``run()``, ``iter()`` and concurrent ``process()`` calls use it.
    - ``spin``: seconds (0 to 0.01) the loop thread busy-waits for a lone chain of synchronous
      nodes in the chain worker, and the idle chain worker for the next chain, before falling
      back to a future, resp. sleeping. The event loop runs nothing else meanwhile; ``0``
      turns the busy-waiting off.
    """

    def __init__(
        self,
        tube: Tube,
        store: EventStore | None = None,
        max_iter_loops: int = 100,
        core: str | None = None,
        *,
        max_workers: int | None = None,
        max_in_flight: int = 128,
        exception_timeout: float = 10.0,
        loop_nodes: Collection[str] | Literal["all"] = (),
        max_epochs_in_flight: int = 1,
        spin: float = 1e-4,
    ):
        super().__init__(tube, store=store, max_iter_loops=max_iter_loops, core=core)
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")
        if max_epochs_in_flight < 1:
            raise ValueError(f"max_epochs_in_flight must be at least 1, got {max_epochs_in_flight!r}")
        if not (isinstance(spin, (int, float)) and 0 <= spin <= 0.01):
            raise ValueError(f"spin must be a number of seconds from 0 to 0.01, got {spin!r}")
        plan = self.plan
        if max_epochs_in_flight > 1 and plan.regions:
            maps = ", ".join(repr(plan.node_ids[m]) for m in sorted(plan.regions))
            raise ValueError(
                f"tube {tube.tube_id!r} has map nodes ({maps}), which cannot run pipelined epochs: "
                f"their regions share one slot table; use max_epochs_in_flight=1"
            )
        self.max_workers = max_workers
        self.max_in_flight = max_in_flight
        self.exception_timeout = exception_timeout
        self.max_epochs_in_flight = max_epochs_in_flight
        self.spin = float(spin)
        core_mod = self.core
        n = len(plan.node_ids)
        if loop_nodes != "all":
            unknown = sorted(set(loop_nodes) - set(plan.index))
            if unknown:
                raise KeyError(f"loop_nodes names nodes tube {tube.tube_id!r} does not have: {', '.join(map(repr, unknown))}")

        # -- the tables and state are TubeRunner's; map regions run in a worker thread
        for d in self._subs.values():
            d.hook_before = self._region_node_open
            d.hook_after = self._region_node_after
        self._in_region: set[int] = set().union(*plan.regions.values()) if plan.regions else set()
        self._region_open: dict[int, list[AssetRuntime]] = {}
        self._scheduler = core_mod.Scheduler(n, plan.indptr, plan.indices)

        # -- where each node runs, and which of its arguments are node-scoped assets
        self._kind = [self._kind_of(i, loop_nodes) for i in range(n)]
        self._asset_args = [self._node_asset_args(i) for i in range(n)]
        self._token = type(core_mod.SEGMENT)
        self._n_signal_slots = sum(len(s) for s in plan.signals)

        # -- pipelined epochs: who waits for whom (see _Gates)
        self._gates: _Gates | None = None
        self._gated = [False] * n
        self._is_source = [False] * n
        self._runs: dict[int, _Run] = {}
        self._last_run: _Run | None = None
        if max_epochs_in_flight > 1:
            self._gates = self._make_gates()
            for i in plan.sources:
                self._is_source[i] = True
            self._gated = [bool(self._gates.of[i]) or self._is_source[i] for i in range(n)]
        self._core_kinds = [self._core_kind(i) for i in range(n)]
        self._driver = self._new_driver()
        self._spare_drivers: list[Any] = []
        # no process inputs or assets, no maps, one epoch at a time: process()'s fast path
        self._plain_epochs = not (self._process_input_slots or self._process_assets or self._region_slots or self._gates)

        # -- bound to the loop at init()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: _Workers | None = None
        self._handoff: Any = None  # the core's Handoff: the worker that runs lone chains
        self._turnstile: _Turnstile | None = None
        self._pending_lifecycle: list[asyncio.Future | tuple[Callable[[int], None], int]] = []

    def _kind_of(self, i: int, loop_nodes: Collection[str] | str) -> int:
        node = self.nodes[self.plan.node_ids[i]]
        if i in self._in_region:
            return _REGION
        if isinstance(node, MapNodeAdapter):
            return _MAP
        if node.is_async and not node.is_generator:
            return _TASK
        if self.plan.kind[i] in (NodeKind.RETURN, NodeKind.GATHER):
            return _LOOP  # return and gather: cheap, and ours
        marked = any(
            getattr(x, "__noob_on_loop__", False)
            for x in (node.obj, getattr(node, "method", None), getattr(node.obj, "process", None))
        )
        if marked or loop_nodes == "all" or node.id in loop_nodes:
            return _LOOP
        return _THREAD

    def _core_kind(self, i: int) -> int:
        """The kind the core's Driver knows node ``i`` by (``KIND_*``)."""
        c = self.core
        kind = self._kind[i]
        if kind == _REGION:
            return c.KIND_REGION
        if self._gated[i]:
            return c.KIND_GATE
        if kind == _MAP or self._asset_args[i]:
            return c.KIND_RUNNER
        return {_LOOP: c.KIND_INLINE, _THREAD: c.KIND_THREAD, _TASK: c.KIND_TASK}[kind]

    def _new_driver(self) -> Any:
        return self.core.Driver(self._dispatcher, self._scheduler, self._core_kinds)

    def _make_gates(self) -> _Gates:
        """Groups of nodes that keep per-epoch order (see ``_Gates``)."""
        plan = self.plan
        groups: list[list[int]] = [[i] for i in range(len(plan.node_ids)) if plan.stateful[i]]
        slots: list[list[int]] = [[] for _ in groups]
        for asset_id, users in plan.asset_users.items():
            if AssetScope(self.assets[asset_id].scope) == AssetScope.runner and users:
                groups.append(users)
                slots.append([plan.asset_slot[asset_id]])
        return _Gates(groups, slots, len(plan.node_ids))

    def _node_asset_args(self, i: int) -> list[tuple[int | str, AssetRuntime]]:
        """``[(position or keyword, asset)]`` of the node-scoped assets node ``i`` takes."""
        if not self.plan.node_assets[i]:
            return []
        t = self.plan.tables
        slots = {slot: self.assets[asset_id] for asset_id, slot in self.plan.node_assets[i]}
        a0, a1, npos = int(t["arg_ptr"][i]), int(t["arg_ptr"][i + 1]), int(t["n_pos"][i])
        names = t["kwnames"][i] or ()
        out: list[tuple[int | str, AssetRuntime]] = []
        for k in range(a0, a1):
            src = int(t["arg_src"][k])
            if src in slots:
                out.append((k - a0 if k - a0 < npos else names[k - a0 - npos], slots[src]))
        return out

    # ------------------------------------------------------------------ threads and the loop
    def _run_async(self, awaitable: Any) -> Any:
        """Await ``awaitable`` on the runner's loop from a worker thread and return its result.

        Lifecycle hooks, asset factories and async nodes inside map regions are called in
        worker threads; this is how their coroutines reach the running loop.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return super()._run_async(awaitable)
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            raise RuntimeError("noob's AsyncRunner cannot block its own event loop waiting for a coroutine")
        return asyncio.run_coroutine_threadsafe(_await(awaitable), loop).result()

    def _callable_for(self, node: Any) -> Callable:
        # async nodes outside map regions are awaited by the epoch loop itself; everything
        # else is the synchronous runner's callable (async region nodes block their thread)
        i = self.plan.index[node.id]
        if self._kind[i] == _TASK:
            return self._with_events(node, node.target())
        fn = super()._callable_for(node)
        if isinstance(node, MapNodeAdapter):
            close_leftovers = self._close_region_leftovers

            def run_map(*args: Any, **kwargs: Any) -> Any:
                try:
                    return fn(*args, **kwargs)
                except BaseException as exc:  # a region node failed: close what it had open
                    close_leftovers(exc)
                    raise

            return run_map
        return fn

    def _bind_loop(self) -> _Turnstile:
        """Bind the runner to the running loop (once per loop); return its turnstile."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._running and self._loop is not None and not self._loop.is_closed():
                raise RuntimeError("this AsyncRunner was started on another event loop; deinit() it there first")
            self._loop = loop
            self._turnstile = _Turnstile(self.max_epochs_in_flight)
            self._turnstile.on_idle = self._reset_gates
            self._close_workers()  # bound to the old loop
        if self._pool is None:
            self._pool = _Workers(loop, self.max_workers, f"noob-{self.tube.tube_id}")
            self._handoff = self.core.Handoff(loop, self.spin, f"noob-{self.tube.tube_id}_chain")
        assert self._turnstile is not None
        return self._turnstile

    def _close_workers(self) -> None:
        """Let the worker threads go (each ends once its call, if any, is done; no waiting)."""
        pool, self._pool = self._pool, None
        handoff, self._handoff = self._handoff, None
        if pool is not None:
            pool.shutdown()
        if handoff is not None:
            handoff.close()

    def _settled(self, fn: Callable, *args: Any) -> Awaitable[Any]:
        """``fn(*args)`` in a worker thread, awaited to its end even if the caller is cancelled
        (lifecycle and asset calls: see ``noob.runner.session.settle``)."""
        assert self._pool is not None, "bound by _bind_loop() first"
        return settle(self._pool.submit(fn, *args))

    async def _in_thread(self, fn: Callable, *args: Any) -> Any:
        assert self._pool is not None, "bound by _bind_loop() first"
        return await self._pool.submit(fn, *args)

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._running

    def child_runner(self, tube: Tube) -> SynchronousRunner:
        """The runner of a nested tube (``type: tube`` node): synchronous, on this runner's core."""
        return SynchronousRunner(tube, core=self.core.IMPLEMENTATION)

    async def init(self) -> None:
        """Initialise enabled nodes (in spec order), then runner-scoped assets. Idempotent.

        Hooks and factories run in a worker thread; ``async`` ones are awaited on this loop.
        """
        turnstile = self._bind_loop()
        await turnstile.enter(_LIFE)
        try:
            await self._init_locked()
        finally:
            turnstile.leave(_LIFE)

    async def _init_locked(self) -> None:
        if self._running:
            return
        await self._settled(self._start)
        self._reset_gates()

    def _reset_gates(self) -> None:
        if self._gates is not None:
            self._gates.reset(self._epoch)

    async def deinit(self) -> None:
        """Deinitialise nodes, then close runner-scoped assets. Idempotent; always completes.

        Waits for epochs still running (pipelined epochs) first.
        """
        turnstile = self._bind_loop()
        await turnstile.enter(_LIFE)
        try:
            await self._settle_lifecycle()
            if not self._running and not self._initialised and not self._open_assets:
                return
            self._running = False
            error = await self._settled(self._stop)
            self._close_workers()  # idle: every call has completed
        finally:
            turnstile.leave(_LIFE)
        if error is not None:
            raise error

    async def __aenter__(self) -> AsyncRunner:
        await self.init()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.deinit()

    # ------------------------------------------------------------------ epochs
    async def process(self, **inputs: Any) -> Any:
        """Run one epoch and return the ``return`` node's value (``None`` if it did not fire).

        With ``max_epochs_in_flight`` > 1, concurrent calls run pipelined epochs, started in
        call order; each returns its own epoch's result, in epoch order.
        """
        turnstile = self._turnstile
        if (
            inputs or turnstile is None or self._pending_lifecycle or not self._running or self._exhausted
            or self._loop is not asyncio.get_running_loop() or self._pool is None
            or not self._plain or not turnstile.can(_EPOCH)
        ):
            return await self._process(inputs)
        # the plain case: running, in order, nothing to set up or tear down around the epoch
        turnstile.epochs += 1
        epoch = self._epoch
        self._epoch = epoch + 1
        values = self._values
        if self._stamp_epoch:
            values[self._epoch_slot] = Epoch(epoch)
        try:
            exhausted_now = await self._run_epoch(self._driver, values, epoch)
        except _NodeStopped:  # a plain function node raised StopIteration: as if its sources ran out
            self._exhausted = True
            return None
        finally:
            self._last_epoch = epoch
            turnstile.leave(_EPOCH)
        if exhausted_now:
            self._check_exhausted()
        if self._return_slot is None:
            return None
        result = values[self._return_slot]
        return None if result is NOEVENT else result

    @property
    def _plain(self) -> bool:
        """True if an epoch needs nothing around ``_run_epoch`` (``process()``'s fast path)."""
        return self._plain_epochs and not self._callbacks and not self._observers

    async def _process(self, inputs: Mapping[str, Any]) -> Any:
        """``process()`` when the runner must start, wait its turn, or set up the epoch."""
        turnstile = self._turnstile
        if self._loop is not asyncio.get_running_loop() or self._pool is None or turnstile is None:
            turnstile = self._bind_loop()
        await turnstile.enter(_EPOCH)  # first: epochs start in the order process() was called
        try:
            if self._pending_lifecycle:
                await self._settle_lifecycle(raise_errors=True)
            if not self._running:  # no other epoch is in flight: they would need a running runner
                await self._init_locked()
        except BaseException:
            self._leave_epoch(turnstile)
            raise
        if self._exhausted:
            self._leave_epoch(turnstile)
            raise self._exhausted_error()
        if self._gates is not None:
            return await self._process_pipelined(inputs, turnstile)
        try:
            return await self._process_in_order(inputs)
        finally:
            turnstile.leave(_EPOCH)

    def _leave_epoch(self, turnstile: _Turnstile) -> None:
        if turnstile.sources_pending and self._gates is not None:
            turnstile.sources_pending = False
        turnstile.leave(_EPOCH)

    async def _process_in_order(self, inputs: Mapping[str, Any]) -> Any:
        """One epoch at a time: the epoch frame's steps (``noob.runner.frame``) around
        ``_run_epoch``; process-scoped assets open and close in a worker thread."""
        values = self._values
        epoch = self._epoch
        restore = self._open_epoch(epoch, inputs)
        failure: BaseException | None = None
        close_error: BaseException | None = None
        exhausted_now = 0
        stopped = False
        try:
            if self._process_assets:
                await self._settled(self._open_process_assets)
            exhausted_now = await self._run_epoch(self._driver, values, epoch)
        except _NodeStopped:  # a plain function node raised StopIteration: as if its sources ran out
            stopped = True
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if self._process_assets:
                close_error = await self._settled(self._close_process_assets, failure)
            self._end_epoch(epoch, restore)
        return self._outcome(close_error, stopped, exhausted_now)

    async def _run_epoch(self, driver: Any, values: list, epoch: int, run: _Run | None = None) -> int:
        """Run every node of the plan once over ``values``; return how many generator nodes ran out."""
        driver.start(values)
        if self._callbacks:
            driver.emit = self._emit_node if values is self._values else functools.partial(self._emit_from, values)
        else:
            driver.emit = None
        failure: _Failure | None = None
        outside: BaseException | None = None
        inflight: dict[asyncio.Future, int] = {}
        threads: set[asyncio.Future] = set()  # the in-flight calls running in worker threads
        try:
            work = driver.step()
            token = self._token
            # the hot path: an async node with nothing else ready or running is just awaited
            while work is not None and type(work) is not token and not driver.n_ready:
                i = driver.node
                try:
                    result = await work
                except BaseException as exc:
                    raise _node_error(i, exc) from None
                work = driver.complete(i, result)
            if work is not None or run is not None:
                await self._run_events(driver, work, inflight, threads, run)
        except _Failure as caught:
            failure = caught
        except _Outside as out:  # cancelled from outside while a node was awaited directly
            outside = out.exc
        except asyncio.CancelledError as exc:  # cancelled from outside while waiting for nodes
            outside = exc
        except BaseException as exc:  # from the core: a node run inline, a result stored, a callback
            failure = _Failure(driver.node, exc)
        if failure is None and outside is None:
            return driver.exhausted
        self._abandon(driver, run)
        await self._drain(inflight, threads, driver)
        if outside is not None:
            raise outside
        assert failure is not None
        error = failure.exc
        if failure.node >= 0:
            self._name_failure(error, failure.node, epoch)
        if isinstance(error, StopIteration):  # cannot be raised through a coroutine (PEP 479)
            raise _NodeStopped(failure.node) from error
        raise error  # outside the except block: the user's exception keeps its own cause and context

    async def _run_events(self, driver: Any, work: Any, inflight: dict[asyncio.Future, int], threads: set[asyncio.Future],
                          run: _Run | None) -> None:
        """The general epoch loop: tasks, worker threads, the runner's own calls, gates."""
        try:
            await self._events_loop(driver, work, inflight, threads, run)
        except (_Failure, _Outside, asyncio.CancelledError):
            raise
        except BaseException as exc:  # from the core (a node run inline, a result stored): here, so that
            raise _Failure(driver.node, exc) from None  # a StopIteration does not leave the coroutine (PEP 479)

    async def _events_loop(self, driver: Any, work: Any, inflight: dict[asyncio.Future, int], threads: set[asyncio.Future],
                           run: _Run | None) -> None:
        loop = asyncio.get_running_loop()
        core = self.core
        segment, gate = core.SEGMENT, core.GATE  # anything else handed out is core.RUNNER
        token = self._token
        kinds = self._kind
        fns = self._fns
        limit = self.max_in_flight
        pool = self._pool
        handoff = self._handoff
        assert pool is not None and handoff is not None, "bound by _bind_loop() first"
        todo: deque[tuple[Any, int]] = deque()
        if work is not None:
            todo.append((work, driver.node))
        segments: dict[asyncio.Future, tuple[list[int], list[int]]] = {}
        gated_futures: set[asyncio.Future] = set()
        completed: deque[asyncio.Future] = deque()
        waiter: list[asyncio.Future | None] = [None]
        exclusive = False  # a map node is in flight: nothing else may start

        def on_done(fut: asyncio.Future) -> None:
            completed.append(fut)
            w = waiter[0]
            if w is not None and not w.done():
                w.set_result(None)

        def more(work: Any) -> None:
            if work is not None:
                todo.append((work, driver.node))

        while True:
            if run is not None:
                if run.abandoned is not None:
                    raise _Failure(-1, run.abandoned)
                while run.unparked:
                    todo.append((gate, run.unparked.popleft()))
            while todo and len(inflight) < limit and not exclusive:
                work, i = todo[0]
                if type(work) is token:
                    if work is gate:
                        assert run is not None and self._gates is not None
                        if not self._gates.open(i, run.epoch):
                            todo.popleft()
                            run.parked.append(i)
                            continue
                    elif work is segment:
                        todo.popleft()
                        emitted: list[int] = []
                        released: list[int] = []
                        if (handoff.idle and not inflight and not todo and not driver.n_ready
                                and (run is None or not run.parked)):
                            # the only work there is: the chain worker, a round trip with no wake-up
                            # (chains that can overlap go to the pool, started in the order they were ready)
                            fut = handoff.call(driver.run_segment, (i, emitted, released))
                            if fut is None:  # done while the loop waited (at most `spin`)
                                more(self._segment_done(driver, handoff.take(), emitted, released))
                                continue
                        else:
                            fut = pool.submit(driver.run_segment, i, emitted, released)
                        threads.add(fut)
                        segments[fut] = (emitted, released)
                        inflight[fut] = i
                        fut.add_done_callback(on_done)
                        more(driver.step())
                        continue
                    if kinds[i] == _MAP and inflight:
                        break  # a map runs alone: wait until everything running is done
                    todo.popleft()
                    call = driver.prepare(i)
                    if call is None:  # skipped: its outputs are NoEvent, its successors decide for themselves
                        if work is gate:
                            self._gate_done(i, run)
                        more(driver.release(i))
                        continue
                    args, kwargs = call
                    kind = kinds[i]
                    if kind == _LOOP and not self._asset_args[i]:  # a gated node the loop runs inline
                        try:
                            result = fns[i](*args, **kwargs)
                        except StopIteration as exc:
                            result = self._stopped(i, exc)
                        except BaseException as exc:
                            raise _Failure(i, exc) from None
                        self._gate_done(i, run)
                        more(driver.complete(i, result))
                        continue
                    if self._asset_args[i]:
                        fut = asyncio.ensure_future(self._call_with_assets(i, kind, args, kwargs))
                    elif kind == _TASK:
                        fut = asyncio.ensure_future(fns[i](*args, **kwargs))  # any awaitable
                    else:
                        fut = pool.submit(_call_in_thread, i, fns[i], args, kwargs)
                        threads.add(fut)
                        exclusive = kind == _MAP
                    if work is gate:
                        gated_futures.add(fut)
                else:  # a coroutine of an async node
                    todo.popleft()
                    if not inflight and not todo and not driver.n_ready and (run is None or not run.parked):
                        try:
                            result = await work
                        except BaseException as exc:
                            raise _node_error(i, exc) from None
                        more(driver.complete(i, result))
                        continue
                    fut = asyncio.ensure_future(work)  # a coroutine, or any awaitable an async node returns
                inflight[fut] = i
                fut.add_done_callback(on_done)
                more(driver.step())
            if not inflight and not todo and not (run is not None and (run.parked or run.unparked)):
                return
            if not completed:
                wake = waiter[0] = loop.create_future()
                if run is not None:
                    run.waiter = wake
                await wake
                waiter[0] = None
                if run is not None:
                    run.waiter = None
            if not completed:
                continue  # woken for unparked gated nodes or an abandoned epoch
            fut = completed.popleft()
            i = inflight.pop(fut)
            threads.discard(fut)
            if kinds[i] == _MAP:
                exclusive = False
            done_segment = segments.pop(fut, None)
            if done_segment is not None:
                more(self._segment_done(driver, fut.result(), *done_segment))
                continue
            try:
                result = fut.result()
            except StopIteration as exc:  # only from an async node's task
                result = self._stopped(i, exc)
            except BaseException as exc:
                raise _Failure(i, exc) from None
            if type(result) is _Stopped:
                result = self._stopped(i, result.exc)
            if fut in gated_futures:
                gated_futures.discard(fut)
                work = driver.complete(i, result)
                self._gate_done(i, run)
                more(work)
            else:
                more(driver.complete(i, result))

    @staticmethod
    def _segment_done(driver: Any, res: tuple[int, BaseException] | None, emitted: list[int], released: list[int]) -> Any:
        """A worker chain is done: emit its events, raise its failure, or queue what it released."""
        if driver.emit is not None:
            for j in emitted:
                driver.emit(j)
        if res is not None:
            raise _Failure(*res)
        return driver.resume(released)  # its successors start after its events are out

    def _gate_done(self, i: int, run: _Run | None) -> None:
        """A gated node is done in ``run``'s epoch: move its groups on, count its sources."""
        if run is None or self._gates is None:
            return
        self._gates.done(i, run, self._runs, self._values)
        if self._is_source[i]:
            run.sources_left -= 1
            if run.sources_left == 0:
                self._sources_done(run)

    def _sources_done(self, run: _Run) -> None:
        if run.sources_left < 0:
            return
        run.sources_left = -1
        if run.driver.exhausted:
            self._check_exhausted(run.epoch)
        assert self._turnstile is not None
        self._turnstile.sources_done()

    def _stopped(self, i: int, exc: StopIteration) -> Any:
        # the kernel's rule: StopIteration from a generator node means it ran out
        if self._dispatcher.flags[i] & self.core.F_GENERATOR:
            return EXHAUSTED
        raise _Failure(i, exc)

    def _abandon(self, driver: Any, run: _Run | None) -> None:
        """An epoch failed: stop its worker chains; with pipelining, abandon the epochs after it."""
        driver.stop = True
        if run is None:
            return
        assert self._turnstile is not None
        self._turnstile.broken = True
        if run.sources_left >= 0:
            self._sources_done(run)
        for later in self._runs.values():
            if later.epoch > run.epoch and later.abandoned is None:
                later.abandoned = _Abandoned(
                    f"epoch {later.epoch} of tube {self.tube.tube_id!r} was abandoned because epoch {run.epoch} failed"
                )
                later.wake()

    async def _drain(self, inflight: dict[asyncio.Future, int], threads: set[asyncio.Future], driver: Any) -> None:
        """Cancel tasks and wait for threads still running, for up to ``exception_timeout``.

        A thread cannot be interrupted: the wait is for it to finish its call (a worker chain
        stops after its current node, ``driver.stop``). One still running after the timeout is
        let go -- its result is dropped, and if it was a chain the next epoch gets a fresh
        driver, since the old one is still being written to.
        """
        if not inflight:
            return
        for fut in inflight:
            if fut not in threads:
                fut.cancel()
        _, pending = await asyncio.wait(list(inflight), timeout=self.exception_timeout)
        if pending:
            _logger.warning(
                "%d node call(s) of tube %r did not stop within exception_timeout=%ss: %s",
                len(pending), self.tube.tube_id, self.exception_timeout,
                ", ".join(repr(self.plan.node_ids[inflight[f]]) for f in pending),
            )
            for fut in pending:
                fut.cancel()
            if driver is self._driver and any(f in threads for f in pending):
                self._driver = self._new_driver()

    # ------------------------------------------------------------------ pipelined epochs
    async def _process_pipelined(self, inputs: Mapping[str, Any], turnstile: _Turnstile) -> Any:
        """One pipelined epoch, admitted by ``process()``: own slot table, in-order end."""
        template = self._values
        epoch = self._epoch
        restore = self._open_epoch(epoch, inputs)  # into the template: this epoch copies it
        values = list(template)
        self._restore_inputs(restore)
        driver = self._spare_drivers.pop() if self._spare_drivers else self._new_driver()
        run = _Run(epoch, values, driver, sum(1 for i in self.plan.sources), self._last_run)
        self._last_run = run
        self._runs[epoch] = run
        failure: BaseException | None = None
        close_error: BaseException | None = None
        exhausted_now = 0
        stopped = False
        try:
            if self._process_assets:
                run.runtimes = [a.instantiate() for a in self._process_assets]
                await self._settled(self._open_runtimes, run)
            exhausted_now = await self._run_epoch(driver, values, epoch, run)
        except _NodeStopped:  # a plain function node raised StopIteration: as if its sources ran out
            stopped = self._exhausted = True
        except BaseException as exc:
            failure = exc
            if run.abandoned is None:
                self._abandon(driver, run)
        finally:
            if run.sources_left >= 0:
                self._sources_done(run)
            if run.runtimes:
                close_error = await self._settled(self._close_runtimes, run.runtimes, failure)
                _also(failure, close_error, "closing assets")
            try:
                if run.prev is not None and not run.prev.ended.done():
                    await asyncio.shield(run.prev.ended)  # epochs end in order
            finally:
                if failure is None and run.abandoned is not None:  # finished, but after a failed epoch
                    failure = run.abandoned
                if failure is None:
                    n_sig = self._n_signal_slots
                    template[:n_sig] = values[:n_sig]
                    self._dispatcher.ran[:] = driver.ran
                self._end_epoch(epoch, None)
                run.ended.set_result(None)
                del self._runs[epoch]
                if self._last_run is run:
                    self._last_run = None
                run.prev = None
                if not driver.stop:
                    self._spare_drivers.append(driver)
                turnstile.leave(_EPOCH)
        if failure is not None:
            raise failure
        return self._outcome(close_error, stopped, exhausted_now)  # no await since the template was written

    def _open_runtimes(self, run: _Run) -> None:
        for runtime in run.runtimes:
            run.values[self.plan.asset_slot[runtime.id]] = self._make_asset(runtime)

    def _emit_from(self, values: list, i: int) -> None:
        """``_emit_node`` for a pipelined epoch's own slot table."""
        plan = self.plan
        node_id = plan.node_ids[i]
        epoch = values[plan.epoch_slot]
        stamp = datetime.now(UTC)
        for name in plan.signals[i]:
            event = self._events.new(node_id, name, epoch, values[plan.signal_slot[(node_id, name)]], stamp)
            for cb in self._callbacks:
                cb(event)

    async def _call_with_assets(self, i: int, kind: int, args: tuple, kwargs: dict) -> Any:
        """Call node ``i`` with node-scoped assets of its own, closed again before it completes."""
        opened: list[AssetRuntime] = []
        failure: BaseException | None = None
        args_l = list(args)
        try:
            for key, asset in self._asset_args[i]:
                runtime = asset.instantiate()  # own handle: concurrent calls never share one
                opened.append(runtime)  # first: an open cut short by a cancellation is closed too
                obj = await self._settled(self._make_asset, runtime)
                if isinstance(key, int):
                    args_l[key] = obj
                else:
                    kwargs[key] = obj
            fn = self._fns[i]
            if kind == _TASK:
                return await fn(*args_l, **kwargs)
            if kind == _LOOP:
                try:
                    return fn(*args_l, **kwargs)
                except StopIteration as exc:
                    return _Stopped(exc)
            return await self._in_thread(_call_in_thread, i, fn, tuple(args_l), kwargs)
        except BaseException as exc:
            failure = exc.exc if isinstance(exc, _Failure) else exc
            raise
        finally:
            if opened:
                error = await self._settled(self._close_runtimes, opened, failure)
                if error is not None and failure is None:
                    raise error
                _also(failure, error, "closing assets")

    # -- map regions (called by the sub-dispatchers, in the map's worker thread)
    def _region_node_open(self, i: int) -> None:
        opened = self._region_open.setdefault(i, [])
        for asset_id, slot in self.plan.node_assets[i]:
            runtime = self.assets[asset_id].instantiate()
            self._values[slot] = self._make_asset(runtime)
            opened.append(runtime)

    def _region_node_after(self, i: int) -> None:
        opened = self._region_open.pop(i, None)
        if opened:
            error = self._close_runtimes(opened)
            for asset_id, slot in self.plan.node_assets[i]:
                self._values[slot] = None
            if error is not None:
                raise error
        if self._callbacks:
            node_id = self.plan.node_ids[i]
            epoch = self._values[self.plan.epoch_slot]
            stamp = datetime.now(UTC)
            events = [
                self._events.new(node_id, name, epoch, self._values[self.plan.signal_slot[(node_id, name)]], stamp)
                for name in self.plan.signals[i]
            ]
            # callbacks run on the loop thread, like every other callback
            loop = self._loop
            assert loop is not None, "map regions only run during process()"
            loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[Any]) -> None:
        for event in events:
            for cb in self._callbacks:
                cb(event)

    def _close_region_leftovers(self, exc: BaseException | None) -> None:
        leftovers, self._region_open = self._region_open, {}
        for opened in leftovers.values():
            self._close_runtimes(opened, exc)

    # ------------------------------------------------------------------ run / iter
    def run(self, n: int | None = None) -> Awaitable[list | None]:
        """Call ``process()`` ``n`` times (forever if ``None``) and return the non-``None`` results.

        Stops early, cleanly, when every source is exhausted. Returns ``None`` if there were
        no results, as the synchronous runner does. With ``max_epochs_in_flight`` > 1 the
        epochs are pipelined; results still come in epoch order. A ``KeyboardInterrupt``
        deinitialises the runner and is raised again (never partial results). A required
        process-scoped input raises ``InputMissingError`` here, when called, before any await.
        (The rules: ``noob.runner.policy``.)
        """
        self._check_no_process_inputs("run")
        return run_async(self, n, *self._epoch_calls())

    def iter(self, n: int | None = None) -> AsyncIterator[Any]:
        """Yield ``n`` results (forever if ``None``).

        With a ``return`` node, epochs that return ``None`` are skipped (at most
        ``max_iter_loops`` in a row). Deinitialises the runner when done only if it started it
        (not inside ``async with runner:``). Leaving an ``async for`` early closes the generator
        only when it is collected; wrap it in ``contextlib.aclosing`` to end at once. Pipelined
        (``max_epochs_in_flight`` > 1), no more epochs are started than results are still
        wanted. Raises ``InputMissingError`` when called, as ``run()``.
        """
        self._check_no_process_inputs("iter")
        return iter_async(self, n, *self._epoch_calls())

    def _epoch_calls(self) -> tuple[Callable, Callable, Callable, int]:
        """``(collect, submit, drain, window)`` for the run/iter policy: one ``process()`` per
        epoch, as tasks when epochs are pipelined."""
        k = self.max_epochs_in_flight
        if k == 1:
            return (self._await_process, _no_submit, _no_drain, 1)
        return (_await_task, self._process_task, _cancel_tasks, k)

    def _await_process(self, _: Any) -> Awaitable[Any]:
        return self.process()

    def _process_task(self) -> asyncio.Task:
        return asyncio.get_running_loop().create_task(self._pipelined_process())

    async def _pipelined_process(self) -> Any:
        try:
            return await self.process()
        except _Abandoned:
            if self._exhausted:  # an earlier epoch's function node raised StopIteration: the run ends there
                raise SchedulerExhaustedError(f"the sources of tube {self.tube.tube_id!r} ran out") from None
            raise

    # ------------------------------------------------------------------ nodes at runtime
    def enable_node(self, node_id: str) -> Awaitable[None]:
        """Enable a node between epochs; returns an awaitable that finishes its ``init``.

        The node takes part from the next ``process()`` on; if the runner is running, its
        init runs in a task that the next ``process()`` waits for (and raises from, if it
        failed) when the caller did not ``await`` it.
        """
        i = self._node_index(node_id)
        self.nodes[node_id].enabled = True
        self._dispatcher.set_flag(i, self.core.F_ENABLED, True)
        if self._running and i not in self._initialised:
            return self._lifecycle(self._init_node, i)
        return _Done()

    def disable_node(self, node_id: str) -> Awaitable[None]:
        """Disable a node between epochs: it is skipped (with what requires it) and deinitialised.

        Returns an awaitable that finishes the node's ``deinit``.
        """
        i = self._node_index(node_id)
        self.nodes[node_id].enabled = False
        self._dispatcher.set_flag(i, self.core.F_ENABLED, False)
        if i in self._initialised:
            return self._lifecycle(self._deinit_or_raise, i)
        return _Done()

    def _deinit_or_raise(self, i: int) -> None:
        error = self._deinit_node(i)
        if error is not None:
            raise error

    def _lifecycle(self, fn: Callable[[int], None], i: int) -> Awaitable[None]:
        """Run ``fn(i)`` (a node's init or deinit) in a worker thread; the next ``process()``
        waits for it. Called with no running loop (``Tube.enable_node`` from plain code, say),
        it runs at the next ``process()``."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._pending_lifecycle.append((fn, i))
            return _Done()
        self._bind_loop()
        fut = asyncio.ensure_future(self._in_thread(fn, i))
        self._pending_lifecycle.append(fut)
        return fut

    async def _settle_lifecycle(self, raise_errors: bool = False) -> None:
        pending, self._pending_lifecycle = self._pending_lifecycle, []
        if not pending:
            return
        calls: list[Awaitable[Any]] = [self._settled(*p) if isinstance(p, tuple) else p for p in pending]
        results = await asyncio.gather(*calls, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors and raise_errors:
            raise errors[0]

    # ------------------------------------------------------------------ callbacks
    def add_callback(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` for every event a node emits, and for each ``EpochEnded``.

        Callbacks run on the loop thread, in the order nodes finish.
        """
        self._callbacks.append(callback)
        for i in range(len(self.plan.node_ids)):
            self._dispatcher.set_flag(i, self.core.F_HOOK_AFTER, True)


class _Stopped:
    """A ``StopIteration`` caught in a thread (it cannot be raised into a future)."""

    __slots__ = ("exc",)

    def __init__(self, exc: StopIteration):
        self.exc = exc


class _Abandoned(RuntimeError):
    """A pipelined epoch given up because an earlier one failed (or ended the run)."""


class _NodeStopped(Exception):
    """A non-generator node raised ``StopIteration`` (carried out of the epoch loop; see ``_process_locked``)."""


def _no_submit() -> None:
    return None


async def _no_drain(pending: Any) -> None:
    return None


async def _await_task(task: asyncio.Task) -> Any:
    return await task


async def _cancel_tasks(tasks: Collection[asyncio.Task]) -> None:
    """Let go of pipelined epochs still in flight when a run ends early."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _call_in_thread(i: int, fn: Callable, args: tuple, kwargs: dict) -> Any:
    try:
        return fn(*args, **kwargs)
    except StopIteration as exc:
        return _Stopped(exc)
