"""The asyncio runner: nodes start as soon as their inputs are ready, on a running event loop.

Owns: running one epoch as events on the loop — ``async def`` nodes as tasks, synchronous
nodes in a thread pool (or on the loop thread, see below), a bound on calls in flight —
and the async lifecycle (``await init()`` / ``deinit()``, async hooks and assets awaited on
the running loop), per-call node-scoped assets, draining an epoch when a node fails.
Must not: decide what is ready or whether a node is skipped (the core's ``Scheduler`` and
``Dispatcher.prepare_call`` / ``finish`` do, over the same plan the synchronous runner
uses), or restate what every runner does between epochs: the helpers that do not depend on how an
epoch runs (inputs, exhaustion, return shapes, maps, events, the store) live in
``TubeRunner``.

One epoch (``process()``)::

    ready = scheduler.start()                       # nodes without predecessors
    while ready or in flight:
        for node in ready (up to max_in_flight calls in flight):
            call = dispatcher.prepare_call(node, values)   # None: skipped (outputs NoEvent)
            None            -> ready += scheduler.done(node)
            loop node       -> result = fn(*args, **kwargs) right here; complete(node)
            async node      -> task on the loop
            sync node       -> thread pool
        await the next completion -> complete(node):
            dispatcher.finish(node, values, result)  # scatter, asset round trips
            callbacks; ready += scheduler.done(node)

Where nodes run:

- ``async def`` nodes (functions, ``process`` methods): tasks on the running loop.
- synchronous nodes: the runner's thread pool (``max_workers`` threads), so a blocking call
  never stalls the loop. A node runs on the loop thread instead when its function, class or
  process method is decorated with :func:`on_loop`, when its id is in ``loop_nodes``, or for
  every synchronous node with ``loop_nodes="all"`` — worth it for cheap nodes, where a thread
  hop (tens of µs) costs more than the call. ``return`` and ``gather`` always run on the loop.
- a ``map`` node runs its per-element region in one worker thread, exactly as the
  synchronous runner does (async nodes in the region are awaited on the loop meanwhile).
  It runs alone: the region writes per-element values (and sub-epochs) into the shared slot
  table, so calls already running finish first and no other node starts until it is done.

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
import concurrent.futures
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from noob.asset import AssetRuntime
from noob.event import Event, EventStore
from noob.exceptions import AssetError, SchedulerExhaustedError
from noob.node.adapters import MapNodeAdapter, ReturnNode
from noob.runner.base import TubeRunner, _also, _note
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
_TASK = 2  # an async def node: a task on the loop
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
    - ``max_in_flight``: at most this many node calls run at once (tasks plus threads).
    - ``exception_timeout``: seconds to wait for the rest of a failing epoch to stop.
    - ``loop_nodes``: ids of synchronous nodes to run on the loop thread, or ``"all"``.
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
    ):
        super().__init__(tube, store=store, max_iter_loops=max_iter_loops, core=core)
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")
        self.max_workers = max_workers
        self.max_in_flight = max_in_flight
        self.exception_timeout = exception_timeout
        plan = self.plan
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

        # -- bound to the loop at init()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock: asyncio.Lock | None = None
        self._pending_lifecycle: list[asyncio.Future] = []

    def _kind_of(self, i: int, loop_nodes: Collection[str] | str) -> int:
        node = self.nodes[self.plan.node_ids[i]]
        if i in self._in_region:
            return _REGION
        if isinstance(node, MapNodeAdapter):
            return _MAP
        if node.is_async and not node.is_generator:
            return _TASK
        if isinstance(node, ReturnNode) or getattr(node.obj, "__module__", "") == "noob.special":
            return _LOOP  # return and gather: cheap, and ours
        marked = any(
            getattr(x, "__noob_on_loop__", False)
            for x in (node.obj, getattr(node, "method", None), getattr(node.obj, "process", None))
        )
        if marked or loop_nodes == "all" or node.id in loop_nodes:
            return _LOOP
        return _THREAD

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

    def _bind_loop(self) -> asyncio.Lock:
        """Bind the runner to the running loop (once per loop); return the lock of its epochs."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._running and self._loop is not None and not self._loop.is_closed():
                raise RuntimeError("this AsyncRunner was started on another event loop; deinit() it there first")
            self._loop = loop
            self._lock = asyncio.Lock()
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"noob-{self.tube.tube_id}")
        assert self._lock is not None
        return self._lock

    async def _in_thread(self, fn: Callable, *args: Any) -> Any:
        loop = self._loop
        assert loop is not None, "bound by _bind_loop() first"
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

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
        async with self._bind_loop():
            await self._init_locked()

    async def _init_locked(self) -> None:
        if self._running:
            return
        await self._in_thread(self._start)

    async def deinit(self) -> None:
        """Deinitialise nodes, then close runner-scoped assets. Idempotent; always completes."""
        async with self._bind_loop():
            await self._settle_lifecycle()
            if not self._running and not self._initialised and not self._open_assets:
                return
            self._running = False
            error = await self._in_thread(self._stop)
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False)  # its threads are idle: every call has completed
        if error is not None:
            raise error

    async def __aenter__(self) -> AsyncRunner:
        await self.init()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.deinit()

    # ------------------------------------------------------------------ epochs
    async def process(self, **inputs: Any) -> Any:
        """Run one epoch and return the ``return`` node's value (``None`` if it did not fire)."""
        async with self._bind_loop():
            await self._settle_lifecycle(raise_errors=True)
            if not self._running:
                await self._init_locked()
            if self._exhausted:
                raise SchedulerExhaustedError(
                    f"every source of tube {self.tube.tube_id!r} is exhausted; call runner.deinit() and runner.init() to start again"
                )
            return await self._process_locked(inputs)

    async def _process_locked(self, inputs: Mapping[str, Any]) -> Any:
        values = self._values
        restore = self._set_inputs(inputs) if (inputs or self._process_input_slots) else None
        epoch = self._epoch
        self._epoch = epoch + 1
        if self.plan.uses_epoch or self._callbacks or self._region_slots:  # map failure notes and store sub-epochs read it
            values[self.plan.epoch_slot] = Epoch(epoch)
        for slot in self._region_slots:  # nodes in map regions only run if their map does
            values[slot] = NOEVENT
        failure: BaseException | None = None
        exhausted_now = 0
        stopped = False
        try:
            if self._process_assets:
                await self._in_thread(self._open_process_assets)
            exhausted_now = await self._run_epoch(epoch)
        except _NodeStopped:  # a plain function node raised StopIteration: as if its sources ran out
            stopped = self._exhausted = True
        except BaseException as exc:
            failure = exc
            raise
        finally:
            open_process = [a for a in self._process_assets if a in self._open_assets]
            close_error = await self._in_thread(self._close_assets, open_process, failure) if open_process else None
            _also(failure, close_error, "closing assets")
            self._end_epoch(epoch, restore)
        if close_error is not None:
            raise close_error
        if stopped:
            return None
        return self._epoch_result(exhausted_now)

    def _open_process_assets(self) -> None:
        for asset in self._process_assets:
            self._create_asset(asset)

    async def _run_epoch(self, epoch: int) -> int:
        """Run every node of the plan once; return how many generator nodes ran out."""
        loop = asyncio.get_running_loop()
        values = self._values
        scheduler = self._scheduler
        dispatcher = self._dispatcher
        prepare = dispatcher.prepare_call
        fns = self._fns
        kinds = self._kind
        asset_args = self._asset_args
        limit = self.max_in_flight
        ready = deque(scheduler.start())
        inflight: dict[asyncio.Future, int] = {}
        completed: deque[asyncio.Future] = deque()
        waiter: list[asyncio.Future | None] = [None]
        fut: asyncio.Future
        exhausted = 0
        exclusive = False  # a map node is in flight: nothing else may start
        failure: _Failure | None = None

        def on_done(fut: asyncio.Future) -> None:
            completed.append(fut)
            w = waiter[0]
            if w is not None and not w.done():
                w.set_result(None)

        try:
            while True:
                while ready and len(inflight) < limit and not exclusive:
                    i = ready.popleft()
                    kind = kinds[i]
                    if kind == _REGION:
                        ready.extend(scheduler.done(i))
                        continue
                    if kind == _MAP and inflight:  # wait until everything running is done
                        ready.appendleft(i)
                        break
                    call = prepare(i, values)
                    if call is None:  # skipped: its outputs are NoEvent, its successors decide for themselves
                        ready.extend(scheduler.done(i))
                        continue
                    args, kwargs = call
                    if kind == _LOOP and not asset_args[i]:
                        try:
                            result = fns[i](*args, **kwargs)
                        except StopIteration as exc:
                            result = self._stopped(i, exc)
                        except BaseException as exc:
                            raise _Failure(i, exc) from None
                        exhausted += self._complete(i, result, ready)
                        continue
                    if asset_args[i]:
                        fut = asyncio.ensure_future(self._call_with_assets(i, kind, args, kwargs))
                    elif kind == _TASK:
                        fut = loop.create_task(fns[i](*args, **kwargs))
                    else:
                        fut = loop.run_in_executor(self._pool, _call_in_thread, i, fns[i], args, kwargs)
                        exclusive = kind == _MAP
                    inflight[fut] = i
                    fut.add_done_callback(on_done)
                if not inflight:
                    break
                if not completed:
                    wake = waiter[0] = loop.create_future()
                    await wake
                    waiter[0] = None
                while completed:
                    fut = completed.popleft()
                    i = inflight.pop(fut)
                    if kinds[i] == _MAP:
                        exclusive = False
                    try:
                        result = fut.result()
                    except StopIteration as exc:  # only from an async node's task
                        result = self._stopped(i, exc)
                    except BaseException as exc:
                        raise _Failure(i, exc) from None
                    if type(result) is _Stopped:
                        result = self._stopped(i, result.exc)
                    exhausted += self._complete(i, result, ready)
        except _Failure as caught:
            failure = caught
        except BaseException:  # cancelled from outside
            await self._drain(inflight)
            raise
        if failure is None:
            return exhausted
        error = failure.exc
        self._name_failure(error, failure.node, epoch)
        await self._drain(inflight)
        if isinstance(error, StopIteration):  # cannot be raised through a coroutine (PEP 479)
            raise _NodeStopped(failure.node) from error
        raise error  # outside the except block: the user's exception keeps its own cause and context

    def _stopped(self, i: int, exc: StopIteration) -> Any:
        # the kernel's rule: StopIteration from a generator node means it ran out
        if self._dispatcher.flags[i] & self.core.F_GENERATOR:
            return EXHAUSTED
        raise _Failure(i, exc)

    def _complete(self, i: int, result: Any, ready: deque) -> int:
        """Store a finished node's result, tell callbacks, release its successors."""
        try:
            ran_out = self._dispatcher.finish(i, self._values, result)
            if self._callbacks and not ran_out:
                self._emit_node(i)
        except BaseException as exc:  # a result that does not fit its signals, a callback
            raise _Failure(i, exc) from None
        ready.extend(self._scheduler.done(i))
        return ran_out

    async def _drain(self, inflight: dict[asyncio.Future, int]) -> None:
        """Cancel tasks and wait for threads still running, for up to ``exception_timeout``."""
        if not inflight:
            return
        for fut in inflight:
            fut.cancel()  # a thread already running is not interrupted; its future is just let go
        _, pending = await asyncio.wait(list(inflight), timeout=self.exception_timeout)
        if pending:
            _logger.warning(
                "%d node call(s) of tube %r did not stop within exception_timeout=%ss: %s",
                len(pending), self.tube.tube_id, self.exception_timeout,
                ", ".join(repr(self.plan.node_ids[inflight[f]]) for f in pending),
            )

    async def _call_with_assets(self, i: int, kind: int, args: tuple, kwargs: dict) -> Any:
        """Call node ``i`` with node-scoped assets of its own, closed again before it completes."""
        opened: list[AssetRuntime] = []
        failure: BaseException | None = None
        args_l = list(args)
        try:
            for key, asset in self._asset_args[i]:
                runtime = asset.instantiate()  # own handle: concurrent calls never share one
                obj = await self._in_thread(self._make_asset, runtime)
                opened.append(runtime)
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
                error = await asyncio.shield(self._in_thread(self._close_runtimes, opened, failure))
                if error is not None and failure is None:
                    raise error
                _also(failure, error, "closing assets")

    def _make_asset(self, runtime: AssetRuntime) -> Any:
        try:
            return runtime.create(self._run_async)
        except Exception as exc:
            raise AssetError(
                f"asset {runtime.id!r} ({runtime.scope.value} scope) of tube {self.tube.tube_id!r} could not be created: "
                f"{type(exc).__name__}: {exc}",
                asset=runtime.id,
                scope=runtime.scope.value,
            ) from exc

    def _close_runtimes(self, runtimes: list[AssetRuntime], exc: BaseException | None = None) -> BaseException | None:
        error = None
        for runtime in reversed(runtimes):
            try:
                runtime.close(self._run_async, exc)
            except Exception as close_exc:
                _note(close_exc, f"[noob] raised while closing asset {runtime.id!r} of tube {self.tube.tube_id!r}")
                error = _also(error, close_exc, "closing assets")
        return error

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
    async def run(self, n: int | None = None) -> list | None:
        """Call ``process()`` ``n`` times (forever if ``None``) and return the non-``None`` results.

        Stops early, cleanly, when every source is exhausted. Returns ``None`` if there were
        no results, as the synchronous runner does.
        """
        self._check_no_process_inputs("run")
        if not self._running:
            await self.init()
        results = []
        count = 0
        try:
            while n is None or count < n:
                count += 1
                out = await self.process()
                if out is not None:
                    results.append(out)
                if self._exhausted:
                    break
        except (SchedulerExhaustedError, StopIteration):  # sources ran out, or a function node said so
            pass
        return results or None

    async def iter(self, n: int | None = None) -> AsyncIterator[Any]:
        """Yield ``n`` results (forever if ``None``); deinitialises the runner when done.

        With a ``return`` node, epochs that return ``None`` are skipped (at most
        ``max_iter_loops`` in a row). Leaving an ``async for`` early closes the generator only
        when it is collected; wrap it in ``contextlib.aclosing`` to deinitialise at once.
        """
        self._check_no_process_inputs("iter")
        await self.init()
        has_return = self._return_slot is not None
        try:
            yielded = 0
            while n is None or yielded < n:
                if self._exhausted:
                    return
                out = await self.process()
                loops = 1
                while has_return and out is None:
                    if self._exhausted:
                        return
                    self._check_loops(loops)
                    out = await self.process()
                    loops += 1
                yielded += 1
                yield out
        except (SchedulerExhaustedError, StopIteration):  # sources ran out, or a function node said so
            return
        finally:
            await self.deinit()

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

    def _lifecycle(self, fn: Callable[[int], None], i: int) -> asyncio.Future:
        self._bind_loop()
        fut = asyncio.ensure_future(self._in_thread(fn, i))
        self._pending_lifecycle.append(fut)
        return fut

    async def _settle_lifecycle(self, raise_errors: bool = False) -> None:
        pending, self._pending_lifecycle = self._pending_lifecycle, []
        if not pending:
            return
        results = await asyncio.gather(*pending, return_exceptions=True)
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


class _NodeStopped(Exception):
    """A non-generator node raised ``StopIteration`` (carried out of the epoch loop; see ``_process_locked``)."""


def _call_in_thread(i: int, fn: Callable, args: tuple, kwargs: dict) -> Any:
    try:
        return fn(*args, **kwargs)
    except StopIteration as exc:
        return _Stopped(exc)
