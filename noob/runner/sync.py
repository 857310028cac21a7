"""The synchronous runner: one epoch per ``process()`` call, nodes in topological order.

The executor part is ``Dispatcher.run(values)`` in the calling thread; around it, the epoch
frame's steps (``noob.runner.frame``: inputs, epoch slot, process-scoped assets,
StopIteration and exhaustion, failure notes, the result). With none of those to do,
``process()`` takes a fast path straight to the core's loop. Lifecycle, maps and callbacks are
``noob.runner.base``'s; ``run``/``iter`` are ``noob.runner.policy``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from noob.asset import AssetRuntime
from noob.event import Event, EventStore
from noob.runner.base import NOEVENT, TubeRunner, _also
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

    def __init__(self, tube: Tube, store: EventStore | None = None, max_iter_loops: int = 100, core: str | None = None):
        super().__init__(tube, store=store, max_iter_loops=max_iter_loops, core=core)
        for d in (self._dispatcher, *self._subs.values()):
            d.hook_before = self._node_assets_open
            d.hook_after = self._after_node
        self._node_open: list[AssetRuntime] = []
        self._run = self._dispatcher.run

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
    def process(self, **inputs: Any) -> Any:
        """Run one epoch and return the ``return`` node's value (``None`` if it did not fire)."""
        if not self._running or self._exhausted:
            self._prepare()
        values = self._values
        epoch = self._epoch
        if inputs or self._process_input_slots or self._process_assets or self._callbacks or self._region_slots or self._observers:
            return self._process_full(epoch, inputs)
        # fast path: nothing to set up or tear down around the core's loop
        self._epoch = epoch + 1
        if self._stamp_epoch:
            values[self._epoch_slot] = Epoch(epoch)
        try:
            self._run(values)
        except StopIteration as exc:  # a plain function node said "no more": as if its sources ran out
            self._failed(exc, epoch)
            self._exhausted = True
            return None
        except BaseException as exc:
            self._failed(exc, epoch)
            raise
        finally:
            self._last_epoch = epoch
        if self._dispatcher.n_exhausted_now:
            self._check_exhausted()
        if self._return_slot is None:
            return None
        result = values[self._return_slot]
        return None if result is NOEVENT else result

    def _process_full(self, epoch: int, inputs: Mapping[str, Any]) -> Any:
        """``process()`` with inputs, process-scoped assets, callbacks or maps to handle
        (the epoch frame's steps, ``noob.runner.frame``, around the core's loop)."""
        restore = self._begin_epoch(epoch, inputs)
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
        """Name the failing node on ``exc`` and close the node-scoped assets it had open."""
        node = self._dispatcher.current
        if node >= 0:
            self._name_failure(exc, node, epoch)
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
        return run_sync(self, n)

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
        for i in range(len(self.plan.node_ids)):
            self._dispatcher.set_flag(i, self.core.F_HOOK_AFTER, True)
