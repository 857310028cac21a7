"""The epoch frame: the work around one epoch that is the same whatever runs its nodes.

Owns, for every runner and executor (the synchronous runner, the asyncio runner in every
mode, the Ray driver and its actors):

- inputs per call (``_set_inputs``: process-scoped inputs set, a missing required one is
  ``InputMissingError``, an overridden tube input restored after the epoch) and the epoch
  slot and map-region slots at the start of an epoch (``_open_epoch``);
- process-scoped assets: opened at the start of an epoch, closed at its end with the
  epoch's failure (``_open_process_assets`` / ``_close_process_assets``; opening and closing
  themselves are ``noob.runner.session``'s);
- the StopIteration and exhaustion rules (the original 1003's): a source that runs out is
  disabled with what depends only on it while independent sources go on; the epoch in which
  no enabled source is left returns ``None`` and the next ``process()`` raises
  ``SchedulerExhaustedError`` (``_check_exhausted``, ``_prepare``, ``_exhausted_error``,
  ``_clear_exhausted`` when a runner starts); a
  plain function node raising ``StopIteration`` ends the run as if its sources ran out
  (``_outcome``); ``deinit()`` + ``init()`` start again;
- failure handling: the failing node named on the user's own exception, once
  (``_name_failure``), assets closed, later errors attached (``_close_process_assets``);
- what observers (``noob.runner.observe``) hear of epochs: ``epoch_started`` (``_open_epoch``,
  or ``_tell_started`` for a runner that sets inputs itself), ``source_exhausted``
  (``_check_exhausted``), ``epoch_ended`` and ``node_failed`` (below);
- the end of an epoch: inputs restored, the epoch recorded, callbacks (``EpochEnded``) and
  observers told (``_end_epoch``); what ``process()`` returns (``_outcome``,
  ``_epoch_result``; the shapes of map results are the map code's, ``TubeRunner._result``).

Must not: run nodes (executors do: the core's ``Dispatcher``, the asyncio event loop, Ray
actors), or decide the run/iter policy (``noob.runner.policy``).

State it reads and writes (set up by ``TubeRunner.__init__``): ``_values`` (the slot table),
``_epoch`` (the next epoch's number), ``_last_epoch``, ``_exhausted``, ``_epoch_slot`` /
``_stamp_epoch`` (write the epoch only when a node, a callback or a map reads it),
``_region_slots``, ``_process_input_slots`` / ``_tube_input_slots``, ``_process_assets``
and ``_open_assets``, ``_callbacks``, ``_observers``, ``_dispatcher`` (its flags say which
sources ran out), ``_return_slot``.

One epoch, as every runner writes it::

    restore = self._open_epoch(epoch, inputs, values)
    try:
        self._open_process_assets()          # in a worker thread for the asyncio runner
        <run the nodes>                      # the executor's part
    except StopIteration: stopped = True     # a plain function node: "no more"
    except BaseException as exc: failure = exc; raise
    finally:
        close_error = self._close_process_assets(failure)
        self._end_epoch(epoch, restore)
    return self._outcome(close_error, stopped, exhausted_now)
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from typing import Any

from noob.event import MetaEventType
from noob.exceptions import ExtraInputWarning, InputMissingError, SchedulerExhaustedError, SignalMismatchError
from noob.runner.session import also, note
from noob.types import Epoch, MetaSignal

__all__ = ["EpochFrame"]

NOEVENT = MetaSignal.NoEvent
_note = note


class EpochFrame:
    """The epoch work every runner shares (see the module docstring); a base of ``TubeRunner``."""

    # the fields below are set up by TubeRunner.__init__ (listed for readers and type checkers)
    _values: list[Any]
    _epoch: int
    _last_epoch: int | None
    _exhausted: bool
    _epoch_slot: int
    _stamp_epoch: bool
    _region_slots: list[int]
    _process_input_slots: dict[str, int]
    _tube_input_slots: dict[str, int]
    _process_assets: list[Any]
    _open_assets: list[Any]
    _callbacks: list[Any]
    _observers: tuple[Any, ...]
    _return_slot: int | None
    _dispatcher: Any
    _events: Any
    _running: bool
    plan: Any
    tube: Any
    core: Any

    # provided by TubeRunner (assets, result shapes) and by each runner (init)
    def _create_asset(self, asset: Any) -> None:
        raise NotImplementedError

    def _close_assets(self, assets: list[Any], exc: BaseException | None = None) -> BaseException | None:
        raise NotImplementedError

    def _result(self, value: Any) -> Any:
        raise NotImplementedError

    def init(self) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ the start of an epoch
    def _open_epoch(self, epoch: int, inputs: Mapping[str, Any], values: list[Any] | None = None) -> list[tuple[int, Any]] | None:
        """Set this call's inputs, count the epoch, stamp it, clear the map regions; return
        the tube inputs to restore at its end."""
        if values is None:
            values = self._values
        restore = self._set_inputs(inputs) if (inputs or self._process_input_slots) else None
        self._epoch = epoch + 1
        if self._stamp_epoch or self._callbacks or self._region_slots:  # map failure notes and store sub-epochs read it
            values[self._epoch_slot] = Epoch(epoch)
        for slot in self._region_slots:  # nodes in map regions only run if their map does
            values[slot] = NOEVENT
        if self._observers:
            self._tell_started(epoch)
        return restore

    def _tell_started(self, epoch: int) -> None:
        """Tell observers epoch ``epoch`` starts (its inputs are set, no node has run)."""
        for observer in self._observers:
            observer.epoch_started(epoch)

    def _restore_inputs(self, restore: list[tuple[int, Any]] | None) -> None:
        """Put back the tube inputs a call overrode (``_open_epoch``'s return)."""
        for slot, value in restore or ():
            self._values[slot] = value

    def _open_process_assets(self) -> None:
        """Open the process-scoped assets of this epoch (in order; on a failure the ones
        opened stay open, for ``_close_process_assets`` to close)."""
        for asset in self._process_assets:
            self._create_asset(asset)

    def _prepare(self) -> None:
        """Before an epoch: start the runner if needed; refuse if every source ran out."""
        if not self._running:
            self.init()
        if self._exhausted:
            raise self._exhausted_error()

    def _exhausted_error(self) -> SchedulerExhaustedError:
        return SchedulerExhaustedError(
            f"every source of tube {self.tube.tube_id!r} is exhausted; call runner.deinit() and runner.init() to start again"
        )

    # ------------------------------------------------------------------ the end of an epoch
    def _close_process_assets(self, failure: BaseException | None) -> BaseException | None:
        """Close this epoch's open process-scoped assets (with the epoch's ``failure``, which
        gets any close error attached); return the close error."""
        opened = [a for a in self._process_assets if a in self._open_assets]
        if not opened:
            return None
        error = self._close_assets(opened, failure)
        also(failure, error, "closing assets")
        return error

    def _outcome(self, close_error: BaseException | None, stopped: bool, exhausted_now: int) -> Any:
        """What ``process()`` returns after an epoch that did not raise: a close error is
        raised; a node's ``StopIteration`` ends the run (``None``, the runner exhausted)."""
        if stopped:
            self._exhausted = True
        if close_error is not None:
            raise close_error
        if stopped:
            return None
        return self._epoch_result(exhausted_now)

    def _name_failure(self, exc: BaseException, node: int, epoch: Any) -> None:
        """Note on ``exc`` the node and epoch it was raised in (once: the innermost wins).

        A ``SignalMismatchError`` from the core carries only integers: it gets the names here.
        """
        if isinstance(exc, SignalMismatchError) and exc.node is None:
            exc.locate(self.plan.node_ids[node], self.plan.signals[node], epoch, self.tube.tube_id)
        if not any(n.startswith("[noob] raised by node") for n in getattr(exc, "__notes__", ())):
            _note(exc, f"[noob] raised by node {self.plan.node_ids[node]!r} in epoch {epoch} of tube {self.tube.tube_id!r}")
            with contextlib.suppress(Exception):  # an exception type that takes no attributes
                exc.noob_node = (self.tube.tube_id, self.plan.node_ids[node])  # type: ignore[attr-defined]
        for observer in self._observers:
            observer.node_failed(node, epoch, exc)

    def _report_remote_failure(self, exc: BaseException, epoch: Any) -> None:
        """A node that ran elsewhere (a Ray actor) failed and was named there: tell this
        runner's observers, once, which node it was (``noob_node``, ``(tube id, node id)``,
        travels with the exception: pickling keeps an exception's attributes)."""
        tube_id, node_id = getattr(exc, "noob_node", (None, None))
        if tube_id == self.tube.tube_id and node_id in self.plan.index:
            for observer in self._observers:
                observer.node_failed(self.plan.index[node_id], epoch, exc)

    def _note_interrupt(self, exc: BaseException, n_results: int) -> None:
        """Note on a ``KeyboardInterrupt`` that ended ``run()`` how far it got (the caller deinitialises)."""
        _note(exc, f"[noob] run() of tube {self.tube.tube_id!r} interrupted in epoch {self._epoch - 1} "
                   f"({n_results} results so far); the runner was deinitialised")

    def _end_epoch(self, epoch: int, restore: list[tuple[int, Any]] | None) -> None:
        """Put overridden tube inputs back, record the epoch, tell callbacks it ended."""
        if restore:
            self._restore_inputs(restore)
        self._last_epoch = epoch
        if self._callbacks:
            self._emit_epoch_end(epoch)
        for observer in self._observers:
            observer.epoch_ended(epoch)

    def _epoch_result(self, exhausted_now: int) -> Any:
        """What ``process()`` returns, after noting sources that ran out this epoch."""
        if exhausted_now:
            self._check_exhausted()
        if self._return_slot is None:
            return None
        return self._result(self._values[self._return_slot])

    def _set_inputs(self, inputs: Mapping[str, Any]) -> list[tuple[int, Any]]:
        """Put this call's inputs in their slots; return what to restore after the epoch."""
        values = self._values
        collection = self.tube.input_collection
        extra = {k: v for k, v in inputs.items() if k not in collection.specs}
        if extra:
            warnings.warn(
                ExtraInputWarning(
                    f"Ignoring extra input without a specification provided to scope `process`: {extra!r} "
                    f"(declared inputs: {', '.join(map(repr, collection.specs)) or 'none'})"
                ),
                stacklevel=3,
            )
        for key, slot in self._process_input_slots.items():
            if key in inputs:
                continue
            spec = collection.specs[key]
            if spec.required and not spec.has_default:
                raise InputMissingError(
                    f"required process-scoped input {key!r} of tube {self.tube.tube_id!r} was not given; "
                    f"call runner.process({key}=...)",
                    input=key,
                    scope="process",
                )
        restore = []
        for key, slot in self._process_input_slots.items():
            values[slot] = inputs[key] if key in inputs else collection.specs[key].default
        for key, slot in self._tube_input_slots.items():
            if key in inputs:  # a process call may override a tube-scoped input (documented behaviour)
                restore.append((slot, values[slot]))
                values[slot] = inputs[key]
        return restore

    def _check_exhausted(self, epoch: int | None = None) -> None:
        """After an epoch in which a node ran out (``epoch``; the last ended one if not
        given): tell observers which sources ran out; the runner is exhausted if every
        enabled source has."""
        flags = self._dispatcher.flags
        if self._observers:
            self._tell_exhausted(self._last_epoch if epoch is None else epoch)
        sources = [i for i in self.plan.sources if flags[i] & self.core.F_ENABLED]
        if sources and all(flags[i] & self.core.F_EXHAUSTED for i in sources):
            self._exhausted = True

    #: sources already reported to observers as exhausted (cleared by ``_clear_exhausted``)
    _told_exhausted: frozenset[int] = frozenset()

    def _tell_exhausted(self, epoch: Any) -> None:
        flags, flag = self._dispatcher.flags, self.core.F_EXHAUSTED
        new = [i for i in self.plan.sources if flags[i] & flag and i not in self._told_exhausted]
        if new:
            self._told_exhausted = self._told_exhausted.union(new)
            for i in new:
                for observer in self._observers:
                    observer.source_exhausted(i, epoch)

    def _clear_exhausted(self) -> None:
        """The runner starts (again): no node has run out."""
        self._exhausted = False
        self._told_exhausted = frozenset()
        for i in range(len(self.plan.node_ids)):
            self._dispatcher.set_flag(i, self.core.F_EXHAUSTED, False)

    def _required_process_inputs(self) -> list[str]:
        specs = self.tube.input_collection.specs
        return [k for k in self._process_input_slots if specs[k].required and not specs[k].has_default]

    def _check_no_process_inputs(self, method: str) -> None:
        missing = self._required_process_inputs()
        if missing:
            raise InputMissingError(
                f"Can't use the `{method}` method with tubes with process-scoped input that was not provided: "
                f"{', '.join(map(repr, missing))}. Call runner.process({missing[0]}=...) once per epoch instead.",
                input=missing[0],
                scope="process",
            )

    def _emit_epoch_end(self, epoch: int) -> None:
        e = Epoch(epoch)
        event = self._events.new("meta", MetaEventType.EpochEnded.value, e, e)
        for cb in self._callbacks:
            cb(event)
