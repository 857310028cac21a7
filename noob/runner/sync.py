"""The synchronous runner: one epoch per ``process()`` call, nodes in topological order.

The executor part is the core's ``Dispatcher`` in the calling thread; around it, the epoch
frame's steps (``noob.runner.frame``: inputs, epoch slot, process-scoped assets,
StopIteration and exhaustion, failure notes, the result). Lifecycle, maps and callbacks are
``noob.runner.base``'s; ``run``/``iter`` are ``noob.runner.policy``'s.

Fast path (no inputs, process-scoped assets, callbacks or observers): one call of the core's
``Dispatcher.epoch``, which counts the epoch (the runner's ``_epoch``/``_last_epoch`` are the
dispatcher's counters), writes the epoch number and clears map regions, runs, notes exhausted
sources and reads the return slot. Sources, gathers, map regions and the return node run
inside the core's loop (``TubeRunner._set_native``); maps only while nothing needs their
sub-epochs (``store``, callbacks and observers turn that off).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from noob.asset import AssetRuntime
from noob.event import Event, EventStore
from noob.runner.base import TubeRunner, _also, _Batch
from noob.runner.policy import iter_sync, run_sync
from noob.tube import Tube
from noob.types import Epoch

__all__ = ["SynchronousRunner"]


class SynchronousRunner(TubeRunner):
    """Runs a tube in the calling thread, one epoch per ``process()`` call.

    ``init()`` initialises enabled nodes then runner-scoped assets; ``deinit()`` undoes both
    (idempotent). ``process(**inputs)`` runs one epoch and returns what the ``return`` node
    packed, or ``None``. ``run(n)`` collects ``n`` results; ``iter(n)`` yields them. A node
    that raises lets its own exception through with a note naming node, epoch and tube; the
    runner stays usable.
    """

    _native_maps = True  # map regions run inside the core's loop when nothing needs sub-epochs

    def __init__(self, tube: Tube, store: EventStore | None = None, max_iter_loops: int = 100, core: str | None = None):
        super().__init__(tube, store=store, max_iter_loops=max_iter_loops, core=core)
        for d in (self._dispatcher, *self._subs.values()):
            d.hook_before = self._node_assets_open
            d.hook_after = self._after_node
        self._node_open: list[AssetRuntime] = []
        self._run = self._dispatcher.run
        # the core writes the epoch number (map failure notes name sub-epochs from it) and
        # clears map regions (their nodes only run if their map does) before each fast epoch;
        # an ``Epoch`` for nodes that take it is written by _begin_epoch instead
        self._dispatcher.set_result(-1 if self._return_slot is None else self._return_slot, self._check_exhausted, _Batch,
                                    self._aggregate, -1 if self._stamp_epoch or not self._region_slots else self._epoch_slot,
                                    self._region_slots)
        self._run_epoch = self._dispatcher.epoch
        #: process() takes the full path every epoch (process-scoped inputs or assets, callbacks, observers)
        self._full = bool(self._process_input_slots or self._process_assets)
        #: the fast path writes an ``Epoch`` to the epoch slot before the core's loop
        self._pre_epoch = self._stamp_epoch

    # ------------------------------------------------------------------ lifecycle
    def child_runner(self, tube: Tube) -> SynchronousRunner:
        """The runner of a nested tube (``type: tube`` node), on this runner's core."""
        return SynchronousRunner(tube, core=self.core.IMPLEMENTATION)

    @property
    def running(self) -> bool:
        return self._running

    def init(self) -> None:
        """Initialise enabled nodes (in spec order), then runner-scoped assets. Idempotent."""
        if not self._running:
            self._start()

    def deinit(self) -> None:
        """Deinitialise nodes, then close runner-scoped assets. Idempotent; always completes."""
        if not self._running and not self._initialised and not self._open_assets:
            return
        self._running = False
        error = self._teardown()
        if error is not None:
            raise error

    def _teardown(self) -> BaseException | None:
        error = self._stop()
        if self._loop_holder and self._loop_holder[0] is not None and not self._loop_holder[0].is_running():
            self._loop_holder[0].close()
            self._loop_holder.clear()
        return error

    def __enter__(self) -> SynchronousRunner:
        self.init()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    # ------------------------------------------------------------------ epochs
    # the epoch counters live in the core's dispatcher, which counts each fast-path epoch itself
    @property
    def _epoch(self) -> int:  # type: ignore[override]
        return self._dispatcher.epochs

    @_epoch.setter
    def _epoch(self, value: int) -> None:
        self._dispatcher.epochs = value

    @property
    def _last_epoch(self) -> int | None:  # type: ignore[override]
        return self._dispatcher.last_epoch

    @_last_epoch.setter
    def _last_epoch(self, value: int | None) -> None:
        self._dispatcher.last_epoch = value

    def process(self, **inputs: Any) -> Any:
        """Run one epoch and return the ``return`` node's value (``None`` if it did not fire)."""
        if inputs or self._full or not self._running or self._exhausted:
            if not self._running or self._exhausted:
                self._prepare()
            return self._process_full(self._epoch, inputs)
        # fast path: no inputs, process-scoped assets, callbacks or observers around the
        # core's loop, which counts the epoch, runs it, notes exhausted sources and reads the
        # return slot
        if self._pre_epoch:
            self._begin_epoch()
        run = self._run_epoch  # (a plain attribute load: a method-style call of an instance attribute stays unspecialised)
        try:
            return run(self._values)
        except StopIteration as exc:  # a plain function node said "no more": as if its sources ran out
            self._failed(exc, self._epoch - 1)  # (the core counted the epoch as it began)
            self._exhausted = True
            return None
        except BaseException as exc:
            self._failed(exc, self._epoch - 1)
            raise

    def _set_observers(self, observers: tuple) -> None:
        super()._set_observers(observers)
        self._full = bool(self._process_input_slots or self._process_assets or self._callbacks or observers)

    def _begin_epoch(self) -> None:
        """Before a fast-path epoch whose nodes take the epoch: an ``Epoch`` in its slot (the
        core clears map regions itself, see ``set_result`` above)."""
        self._values[self._epoch_slot] = Epoch(self._epoch)

    def _process_full(self, epoch: int, inputs: Mapping[str, Any]) -> Any:
        """``process()`` with inputs, process-scoped assets, callbacks or maps to handle
        (the epoch frame's steps, ``noob.runner.frame``, around the core's loop)."""
        restore = self._open_epoch(epoch, inputs)
        failure: BaseException | None = None
        stopped = False
        try:
            if self._process_assets:
                self._open_process_assets()
            self._run(self._values)
        except StopIteration as exc:  # a plain function node said "no more": as if its sources ran out
            self._failed(exc, epoch)
            stopped = True
        except BaseException as exc:
            failure = exc
            self._failed(exc, epoch)
            raise
        finally:
            close_error = self._close_process_assets(failure)
            self._end_epoch(epoch, restore)
        return self._outcome(close_error, stopped, self._dispatcher.n_exhausted_now)

    def _failed(self, exc: BaseException, epoch: int) -> None:
        """Name the failing node on ``exc`` and close the node-scoped assets it had open.

        A node failing inside a map the core ran itself (NATIVE_MAP) is found through the
        region dispatchers' ``current`` and ``item_index``, and named with its sub-epoch; the
        map's gathers drop what they collected.
        """
        node = self._dispatcher.current
        if node >= 0:
            where: Any = epoch
            sub = self._subs.get(node)
            if sub is not None and sub.current >= 0:
                where = Epoch(epoch)
                for g in self._region_gathers[node]:
                    if g.instance is not None:
                        g.instance.discard()
                while sub is not None and sub.current >= 0:
                    where = where / (self.plan.node_ids[node], sub.item_index)
                    node, sub.current = sub.current, -1
                    sub = self._subs.get(node)
            self._name_failure(exc, node, where)
            self._dispatcher.current = -1
        if self._node_open:
            _also(exc, self._close_assets(self._node_open, exc), "closing assets")
            self._node_open = []

    def run(self, n: int | None = None) -> list | None:
        """Call ``process()`` ``n`` times (forever if ``None``) and return the non-``None`` results.

        Stops early, cleanly, when every source is exhausted. Returns ``None`` if there were no
        results (as the original does). A ``KeyboardInterrupt`` deinitialises the runner (nodes
        and assets) and is raised again, with a note saying how many epochs ran: partial results
        are never returned as if the run had completed. (The rules: ``noob.runner.policy``.)
        """
        return run_sync(self, n, loop=_fast_loop)

    def iter(self, n: int | None = None) -> Iterator[Any]:
        """Yield ``n`` results (forever if ``None``).

        With a ``return`` node, epochs that return ``None`` are skipped (at most
        ``max_iter_loops`` in a row). Ends cleanly when every source is exhausted.
        Deinitialises the runner when done only if it started it (not inside ``with runner:``).
        """
        return iter_sync(self, n, self._process_one)

    def _process_one(self, _: Any) -> Any:
        return self.process()

    # ------------------------------------------------------------------ nodes at runtime
    def enable_node(self, node_id: str) -> None:
        """Enable a node between epochs (initialising it if the runner is running)."""
        i = self._node_index(node_id)
        self.nodes[node_id].enabled = True
        if self._running and i not in self._initialised:
            self._init_node(i)
        self._dispatcher.set_flag(i, self.core.F_ENABLED, True)

    def disable_node(self, node_id: str) -> None:
        """Disable a node between epochs: it is deinitialised and its dependents are skipped."""
        i = self._node_index(node_id)
        self.nodes[node_id].enabled = False
        self._dispatcher.set_flag(i, self.core.F_ENABLED, False)
        if i in self._initialised:
            error = self._deinit_node(i)
            if error is not None:
                raise error

    # ------------------------------------------------------------------ hooks, callbacks, store
    def _node_assets_open(self, i: int) -> None:
        for asset_id, _slot in self.plan.node_assets[i]:
            asset = self.assets[asset_id]
            self._create_asset(asset)
            self._node_open.append(asset)

    def _after_node(self, i: int) -> None:
        if self._node_open:
            opened, self._node_open = self._node_open, []
            error = self._close_assets(opened)
            if error is not None:
                raise error
        if self._callbacks:
            self._emit_node(i)

    def add_callback(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` for every event a node emits, and for each ``EpochEnded``."""
        self._callbacks.append(callback)
        self._full = True
        self._native_maps_off()  # callbacks see every sub-epoch: maps through their Python callable
        for i in range(len(self.plan.node_ids)):
            self._dispatcher.set_flag(i, self.core.F_HOOK_AFTER, True)


def _fast_loop(runner: SynchronousRunner, n: int | None, results: list) -> None:
    """``run(n)``'s epochs (``noob.runner.policy.plain_loop``'s contract) without a ``process()``
    call per epoch: while the fast path holds, the core's ``Dispatcher.epoch`` is called
    straight from this loop (the same steps as ``process()``'s fast path, one Python frame less
    per epoch); any other epoch goes through ``process()``."""
    values = runner._values
    run = runner._run_epoch
    count = 0
    while n is None or count < n:
        count += 1
        if runner._full or runner._pre_epoch or runner._exhausted or not runner._running:
            out = runner.process()
        else:
            try:
                out = run(values)
            except StopIteration as exc:  # as process(): a plain function node said "no more"
                runner._failed(exc, runner._epoch - 1)
                runner._exhausted = True
                return
            except BaseException as exc:
                runner._failed(exc, runner._epoch - 1)
                raise
        if out is not None:
            results.append(out)
        if runner._exhausted:
            return
