"""The runner base: what every runner shares, whatever runs its epochs.

Owns: a runner's own state (node instances, enabled flags, asset objects, the slot table),
the lifecycle of nodes and assets (always paired, every hook runs), map regions, callbacks,
observers and the lazily built event store, and the live runners of each tube (so that
``Tube.enable_node`` / ``disable_node`` reach them, :func:`tube_toggled`). The work around
one epoch is the epoch frame's (``noob.runner.frame``, a base of ``TubeRunner``); opening and
closing assets is ``noob.runner.session``'s; ``run``/``iter`` are ``noob.runner.policy``'s.
Must not: decide execution order or skip logic (``noob._core``), validate specs
(``noob.tube``), or run epochs (the executors: ``sync``, ``asyncio``, ``ray``).

Errors during lifecycle: every hook runs whatever the others raise (all initialised nodes
are deinitialised, all open assets closed). The *first* error is raised, keeping its own
type; each later one is attached to it as a note, ``[noob] also raised while stopping:
OSError: ... (raised while closing asset 'cam' of tube 'demo')`` (notes, not an
``ExceptionGroup``, so ``except TheUsersError`` keeps working). The same holds when a node
fails and closing that epoch's assets fails too: the node's exception is raised, the close
error attached.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from noob.asset import AssetRuntime, AssetScope
from noob.event import Event, EventMaker, EventStore
from noob.exceptions import InputMissingError
from noob.node.adapters import MapNodeAdapter, ReturnNode
from noob.node.gather import Gather
from noob.runner.frame import EpochFrame
from noob.runner.observe import Observer, timed
from noob.runner.session import also as _also
from noob.runner.session import close_all, open_asset
from noob.runner.session import note as _note
from noob.tube import Tube
from noob.types import Epoch, MetaSignal, RunnerContext
from noob.utils import run_coroutine_blocking

__all__ = ["TubeRunner"]

NOEVENT = MetaSignal.NoEvent
_METHOD_WRAPPER: type = type(object().__str__)  # the type of ``gen.__next__``


def _inject_context(fn: Callable, context: RunnerContext) -> Callable:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    for name, p in params.items():
        if p.annotation is RunnerContext or p.annotation == "RunnerContext":
            return lambda: fn(**{name: context})
    return fn


#: the live runners made from each tube (weak on both sides: neither is kept alive by this)
_LIVE: weakref.WeakKeyDictionary[Tube, weakref.WeakSet[TubeRunner]] = weakref.WeakKeyDictionary()
_LIVE_LOCK = threading.Lock()


def _live_runners(tube: Tube) -> weakref.WeakSet[TubeRunner]:
    with _LIVE_LOCK:
        runners = _LIVE.get(tube)
        if runners is None:
            runners = _LIVE[tube] = weakref.WeakSet()
        return runners


def tube_toggled(tube: Tube, node_id: str, enabled: bool) -> None:
    """``Tube.enable_node`` / ``disable_node``: the same change in every live runner made from ``tube``.

    Each runner applies it as its own ``enable_node`` / ``disable_node`` would (from the next
    epoch on; an ``AsyncRunner`` not on its running loop initialises or deinitialises the node
    at its next ``process()``). Runners stay independent otherwise.
    """
    with _LIVE_LOCK:
        runners = list(_LIVE.get(tube, ()))
    for runner in runners:
        runner._tube_toggled(node_id, enabled)


Tube._on_toggle = tube_toggled


class TubeRunner(EpochFrame):
    """What every runner shares: the tube, the plan, lifecycle of nodes and assets.

    ``core`` picks the core implementation (``"compiled"`` / ``"python"``; default: the
    active one, see ``noob._core``).
    """

    def __init__(self, tube: Tube, store: EventStore | None = None, max_iter_loops: int = 100, core: str | None = None):
        self.tube = tube
        self.max_iter_loops = max_iter_loops
        self.plan = tube.plan(core)
        #: this runner's own nodes and assets: fresh copies of the tube's definitions, which
        #: hold every instance, generator, child runner and open handle (the Tube holds none)
        self.nodes = {k: n.instantiate() for k, n in tube.nodes.items()}
        self.assets = {k: a.instantiate() for k, a in tube.assets.items()}
        self.core = self.plan.core
        _live_runners(tube).add(self)  # Tube.enable_node / disable_node reach this runner
        self._callbacks: list[Callable[[Event], None]] = []
        #: attached observers (``noob.runner.observe``); empty: nodes are called unwrapped
        self._observers: tuple[Observer, ...] = ()
        self._running = False
        self._loop_holder: list = []
        self._initialised: set[int] = set()
        plan = self.plan
        # -- the slot table (see noob.plan) and the callables the core calls, one per node
        self._values: list[Any] = list(plan.initial_values)
        self._fns: list[Callable] = [_not_initialised(k) for k in plan.node_ids]
        self._bare_fns: list[Callable] = list(self._fns)  # the same callables, never wrapped by `timed`
        flags = np.zeros(len(plan.node_ids), dtype=np.uint8)
        for i, node_id in enumerate(plan.node_ids):
            node = self.nodes[node_id]
            flags[i] = (
                (self.core.F_ENABLED if node.enabled else 0)
                | (self.core.F_GENERATOR if node.is_generator else 0)
                | ((self.core.F_HOOK_BEFORE | self.core.F_HOOK_AFTER) if plan.node_assets[i] else 0)
            )
        self._dispatcher = plan.dispatcher(self._fns, flags)
        # map regions: one dispatcher each, sharing callables, flags and the slot table
        self._subs = {m: plan.dispatcher(self._fns, self._dispatcher.flags, order=order) for m, order in plan.region_order.items()}
        self._region_slots = [
            plan.signal_slot[(plan.node_ids[i], name)] for r in plan.regions.values() for i in r for name in plan.signals[i]
        ]
        # -- epochs, assets, inputs, the return slot
        self._stamp_epoch = plan.uses_epoch  # the epoch slot is only written when a node reads it
        self._epoch_slot = plan.epoch_slot
        self._epoch = 0
        self._last_epoch: int | None = None
        self._exhausted = False
        self._open_assets: list[AssetRuntime] = []
        self._events = EventMaker()
        self._scoped = {scope: [a for a in self.assets.values() if a.scope == scope] for scope in AssetScope}
        self._process_assets = self._scoped[AssetScope.process]
        self._process_input_slots = {k: plan.input_slot[k] for k in plan.process_inputs}
        self._tube_input_slots = {k: plan.input_slot[k] for k in plan.input_slot if k not in self._process_input_slots}
        for key, slot in self._tube_input_slots.items():
            try:
                self._values[slot] = tube.input_collection.get(key)
            except InputMissingError:
                self._values[slot] = None
        # map sub-epoch events for `store` (see there): recorded once asked for
        self._keep_subepochs = store is not None
        self._sub_events: list[Event] = []
        self._sub_root: int | None = None
        self._gathers = plan.gathers
        self._return_index = plan.return_index
        self._return_slot = plan.return_slot
        self._return_keys = self._return_key_table()
        # per map: the gathers of its region (emptied when an element fails, so no partial
        # list survives the epoch) and the value slots of those that collapse it (`n: <map>.n`),
        # which emit [] when the map is given an empty list
        self._region_gathers: dict[int, list[Any]] = {
            m: [self.nodes[plan.node_ids[g]] for g in sorted(r & self._gathers)] for m, r in plan.regions.items()
        }
        self._collapse_slots = {m: self._collapsing_gather_slots(m) for m in plan.regions}

    def _return_key_table(self) -> list[tuple[str, int, int]]:
        """``(key, depth, slot)`` of each dict-form entry of the return node, in declared order.

        ``depth`` is how many maps the key's value is emitted under: 0 for a node outside every
        map region (including nodes after the gather that collapses a map), one more per
        enclosing region, and one more for a map's own ``value``. ``slot`` is where its value is.
        """
        if self._return_index is None:
            return []
        plan = self.plan
        out = []
        for dep in self.tube.spec.nodes[plan.node_ids[self._return_index]].dependencies:
            if not isinstance(dep.slot, str):
                continue
            if dep.node == "input":
                out.append((dep.slot, 0, plan.input_slot[dep.signal]))
                continue
            if dep.node == "assets":
                out.append((dep.slot, 0, plan.asset_slot[dep.signal]))
                continue
            j = plan.index[dep.node]
            depth = sum(1 for r in plan.regions.values() if j in r) + int(j in plan.regions and dep.signal == "value")
            out.append((dep.slot, depth, plan.signal_slot.get((dep.node, dep.signal), -1)))
        return out

    def _collapsing_gather_slots(self, m: int) -> list[int]:
        """Value slots of the gathers in map ``m``'s region that take ``n`` from ``m.n``."""
        plan = self.plan
        map_id = plan.node_ids[m]
        slots = []
        for g in sorted(plan.regions[m] & self._gathers):
            deps = self.tube.spec.nodes[plan.node_ids[g]].dependencies
            if any(d.slot == "n" and d.node == map_id and d.signal == "n" for d in deps):
                slots.append(plan.signal_slot[(plan.node_ids[g], "value")])
        return slots

    # ------------------------------------------------------------------ lifecycle helpers
    def _run_async(self, awaitable: Any) -> Any:
        return run_coroutine_blocking(awaitable, self._loop_holder)

    def get_context(self) -> RunnerContext:
        return RunnerContext(runner=self, input_collection=self.tube.input_collection)

    def _call_hook(self, fn: Callable) -> None:
        result = _inject_context(fn, self.get_context())()
        if inspect.isawaitable(result):
            self._run_async(result)

    def _callable_for(self, node: Any) -> Callable:
        if isinstance(node, MapNodeAdapter):
            return self._map_call(self.plan.index[node.id])
        target = self._with_events(node, node.target())
        if node.is_async and not node.is_generator:
            run_async = self._run_async

            def call_async(*args: Any, **kwargs: Any) -> Any:
                return run_async(target(*args, **kwargs))

            return call_async
        return target

    def _with_events(self, node: Any, fn: Callable) -> Callable:
        """``fn``, or (a parameter annotated ``EventMap``) ``fn`` given ``{slot: Event}`` for the
        node's inputs that fired this epoch, as in the original (keys are the target slots:
        names, or positions for positional dependencies)."""
        slots = self.tube.slots.get(node.id, {})
        nspec = self.tube.spec.nodes[node.id]
        given = {d.slot for d in nspec.dependencies if isinstance(d.slot, str)}
        param = next((s.name for s in slots.values() if s.injection == "events" and s.name not in given), None)
        if param is None:
            return fn
        params = node.params if getattr(node, "params_per_call", False) else None
        offset = len(params) if isinstance(params, (list, tuple)) else 0
        edges = [(d.slot, d.node, d.signal) for d in nspec.dependencies if d.node not in ("input", "assets")]
        values, epoch_slot, new = self._values, self.plan.epoch_slot, self._events.new

        def with_events(*args: Any, **kwargs: Any) -> Any:
            epoch = values[epoch_slot]
            events = {}
            for slot, source, signal in edges:
                if isinstance(slot, str):
                    value = kwargs.get(slot, NOEVENT)
                else:
                    k = offset + (slot or 0)
                    value = args[k] if k < len(args) else NOEVENT
                if value is not NOEVENT:
                    events[slot] = new(source, signal, epoch, value)
            kwargs[param] = events
            return fn(*args, **kwargs)

        return with_events

    def _init_node(self, i: int) -> None:
        node = self.nodes[self.plan.node_ids[i]]
        try:
            for hook in node.init_hooks():
                self._call_hook(hook)
            self._bare_fns[i] = fn = self._callable_for(node)
            self._fns[i] = timed(fn, i, self._observers) if self._observers else fn
            if not self._observers:  # observers see every call: nothing runs natively meanwhile
                self._set_native(i, node)
        except BaseException as exc:
            _note(exc, f"[noob] raised while initialising node {node.id!r} of tube {self.tube.tube_id!r}")
            raise
        self._initialised.add(i)

    def _deinit_node(self, i: int) -> BaseException | None:
        """Run every deinit hook of node ``i`` and release it, whatever raises; return the first error."""
        node = self.nodes[self.plan.node_ids[i]]
        self._initialised.discard(i)
        error = None
        where = f"[noob] raised while deinitialising node {node.id!r} of tube {self.tube.tube_id!r}"
        for hook in node.deinit_hooks():
            try:
                self._call_hook(hook)
            except Exception as exc:
                _note(exc, where)
                error = _also(error, exc, "stopping")
        try:
            node.release()
        except Exception as exc:
            _note(exc, where)
            error = _also(error, exc, "stopping")
        self._fns[i] = self._bare_fns[i] = _not_initialised(node.id)
        self._call_through(i)
        return error

    def _make_asset(self, runtime: AssetRuntime) -> Any:
        """Open ``runtime`` (see ``noob.runner.session``) and return its object."""
        return open_asset(runtime, self._run_async, self.tube.tube_id)

    def _close_runtimes(self, runtimes: list[AssetRuntime], exc: BaseException | None = None) -> BaseException | None:
        """Close ``runtimes`` (copies of this runner's assets) in reverse; return the first error."""
        return close_all(runtimes, self._run_async, self.tube.tube_id, exc)

    #: whether this runner lets the core run map regions itself (NATIVE_MAP); a runner whose
    #: map callable does more than ``_map_call`` (closing region assets) leaves it off
    _native_maps = False

    def _map_native_ok(self, m: int) -> bool:
        """Map ``m`` can run natively: this runner allows it, no return inside its region, and
        nothing needs its sub-epochs (no epoch injection, callbacks or kept store events)."""
        return (self._native_maps and self._return_index not in self.plan.regions[m] and not self.plan.uses_epoch
                and not self._callbacks and not self._keep_subepochs)

    def _native_maps_off(self) -> None:
        """Every map back to its Python callable (sub-epochs are needed from now on)."""
        for m in self.plan.regions:
            self._call_through(m)

    def _natives_off(self) -> None:
        """Every node through ``fns`` again (until it is next initialised): for callers that
        replace entries of ``_fns`` to observe every call, as ``noob bench`` does."""
        for i in range(len(self.plan.node_ids)):
            self._call_through(i)

    def _call_through(self, i: int) -> None:
        """Node ``i`` through its callable in ``fns`` again, in every dispatcher (no native kind)."""
        for d in (self._dispatcher, *self._subs.values()):
            d.set_native(i, self.core.NATIVE_CALL, None, 0)

    def _set_native(self, i: int, node: Any) -> None:
        """Let the core's loop carry out node ``i`` itself when it is a ``return``, a plain
        ``gather`` (by ``n``, or by its map's ``n``; not flatten, trigger or a subclass) or a
        generator source (its iterator advanced directly): the same result as calling
        ``fns[i]``, without the Python-level call (issue 21)."""
        core = self.core
        kind, aux, gather_n = core.NATIVE_CALL, None, 0
        names = self.plan.kwnames[i]
        if isinstance(node, ReturnNode) and node.spec.dependencies:
            kind = (core.NATIVE_RET_SCALAR if node.scalar else core.NATIVE_RET_BOTH if node.has_pos and node.has_kw
                    else core.NATIVE_RET_DICT if node.has_kw else core.NATIVE_RET_TUPLE)
        elif i in self._gathers and type(getattr(node, "instance", None)) is Gather and not node.instance.flatten:
            inst = node.instance
            deps = {d.slot: d for d in self.tube.spec.nodes[node.id].dependencies}
            n_dep = deps.get("n")
            from_map = n_dep is not None and n_dep.signal == "n" and isinstance(self.nodes.get(n_dep.node), MapNodeAdapter)
            if names == ("value",) and inst.n is not None:
                kind, aux, gather_n = core.NATIVE_GATHER, inst._items, inst.n
            elif names == ("value", "n") and inst.n is None and from_map:
                kind, aux = core.NATIVE_GATHER, inst._items
        elif isinstance(node, MapNodeAdapter) and self._map_native_ok(i):
            kind, aux = core.NATIVE_MAP, self._subs[i]
        elif node.is_generator and type(self._bare_fns[i]) is _METHOD_WRAPPER and self._bare_fns[i].__name__ == "__next__":
            kind, aux = core.NATIVE_NEXT, getattr(self._bare_fns[i], "__self__")  # a generator's (or C iterator's) own __next__
        if kind != core.NATIVE_CALL:
            for d in (self._dispatcher, *self._subs.values()):
                d.set_native(i, kind, aux, gather_n)

    def _create_asset(self, asset: AssetRuntime) -> None:
        """Open one of this runner's assets into its slot; it counts as open from here on."""
        self._values[self.plan.asset_slot[asset.id]] = self._make_asset(asset)
        self._open_assets.append(asset)

    def _close_assets(self, assets: list[AssetRuntime], exc: BaseException | None = None) -> BaseException | None:
        """Close ``assets`` in reverse creation order; every one is closed even if one fails."""
        return close_all(assets, self._run_async, self.tube.tube_id, exc, self._closed)

    def _closed(self, asset: AssetRuntime) -> None:
        self._values[self.plan.asset_slot[asset.id]] = None
        if asset in self._open_assets:
            self._open_assets.remove(asset)

    def _start(self) -> None:
        """Initialise enabled nodes (in spec order), then runner-scoped assets; undo it all if one fails."""
        self._start_these(range(len(self.plan.node_ids)), self._scoped[AssetScope.runner])

    def _start_these(self, nodes: Iterable[int], assets: Iterable[AssetRuntime]) -> None:
        """``_start`` for the enabled ones of ``nodes`` and for ``assets`` (a runner that hosts
        part of a tube, as a Ray actor does, starts only its own)."""
        try:
            for i in nodes:
                if self.nodes[self.plan.node_ids[i]].enabled:
                    self._init_node(i)
            for asset in assets:
                self._create_asset(asset)
        except BaseException as exc:
            _also(exc, self._stop(), "stopping")
            raise
        self._running = True
        self._clear_exhausted()

    def _stop(self) -> BaseException | None:
        """Deinitialise every initialised node, then close every open asset; return the first error.

        Every hook runs whatever the others raise; later errors are attached to the first
        (see :func:`_also`).
        """
        error = None
        for i in sorted(self._initialised):
            error = _also(error, self._deinit_node(i), "stopping")
        error = _also(error, self._close_assets(list(self._open_assets)), "stopping")
        self._running = False
        return error

    # ------------------------------------------------------------------ observation
    def add_observer(self, observer: Observer) -> None:
        """Report every node call, failure and epoch end to ``observer`` (see ``noob.runner.observe``).

        While no observer is attached, nodes are called unwrapped: observation costs nothing.
        """
        if observer in self._observers:
            return
        self._set_observers((*self._observers, observer))
        observer.attached(self)

    def remove_observer(self, observer: Observer) -> None:
        """Stop reporting to ``observer``; unknown observers are ignored."""
        if observer not in self._observers:
            return
        self._set_observers(tuple(o for o in self._observers if o is not observer))
        observer.detached(self)

    def _set_observers(self, observers: tuple[Observer, ...]) -> None:
        self._observers = observers
        for i in self._initialised:
            bare = self._bare_fns[i]
            self._fns[i] = timed(bare, i, observers) if observers else bare
        if observers:  # every call through the timed callables: no native sources, gathers, maps, returns
            self._natives_off()
        else:
            for i in self._initialised:
                self._set_native(i, self.nodes[self.plan.node_ids[i]])

    def _result(self, value: Any) -> Any:
        if value is NOEVENT:
            return None
        if type(value) is _Batch:
            return self._aggregate(value)
        return value

    # ------------------------------------------------------------------ map
    def _map_call(self, m: int) -> Callable:
        """The callable of map node ``m``: runs its region once per element of the value."""
        plan = self.plan
        values = self._values
        sub = self._subs[m]
        node_id = plan.node_ids[m]
        value_slot = plan.signal_slot[(node_id, "value")]
        n_slot = plan.signal_slot[(node_id, "n")]
        epoch_slot = plan.epoch_slot
        ret = self._return_index if self._return_index in plan.regions[m] else None
        ret_slot = -1 if self._return_slot is None else self._return_slot
        # which node of this map's own order tells that the return got values: the return
        # itself, or (the return is inside a nested map's region) that nested map, whose call
        # leaves its elements' values in the return slot as a _Batch
        collect = ret
        if ret is not None and ret not in plan.region_order[m]:
            collect = next(int(j) for j in plan.region_order[m] if j in plan.regions and ret in plan.regions[int(j)])

        collapse = self._collapse_slots[m]
        gathers = self._region_gathers[m]
        run_each = sub.run_each
        collect_i = -1 if collect is None else collect
        stamp = plan.uses_epoch

        def run_map(value: Any) -> Any:
            sub.current = -1  # (read by the runner when the epoch fails: nothing ran here yet)
            try:
                items = list(value)
            except TypeError:
                raise TypeError(f"map node {node_id!r} needs an iterable value, got {type(value).__name__}: {value!r}") from None
            if not items:
                # nothing to run per element: the gathers that collapse this map emit [] (as
                # they would after zero elements), and a return inside the region gets no value
                for slot in collapse:
                    values[slot] = []
                if ret is not None:
                    values[ret_slot] = _Batch([])
                return (NOEVENT, NOEVENT)
            values[n_slot] = len(items)
            if ret is not None:
                values[ret_slot] = NOEVENT  # no stale value from an earlier call of a nested map
            try:
                if stamp or self._callbacks or self._keep_subepochs:
                    collected = self._map_stamped(sub, items, node_id, value_slot, collect, ret_slot)
                else:
                    collected = run_each(values, items, value_slot, collect_i, ret_slot)
            except BaseException as exc:
                for g in gathers:  # a failed epoch leaves no partial gather behind
                    if g.instance is not None:
                        g.instance.discard()
                if sub.current >= 0:
                    parent = values[epoch_slot]  # the parent epoch (_map_stamped puts it back)
                    where = (parent if isinstance(parent, Epoch) else Epoch(parent)) / (node_id, sub.item_index)
                    self._name_failure(exc, sub.current, where)
                raise
            if ret is not None:
                # (element path, value) of every return call, the path prefixed with this
                # map's element index (see _aggregate)
                flat = [
                    ((k, *path), x) if type(got) is _Batch else ((k,), got)
                    for k, got in collected
                    for path, x in (got.items if type(got) is _Batch else (((), got),))
                ]
                values[ret_slot] = _Batch(flat) if flat else NOEVENT
            return (items[-1], len(items))

        return run_map

    def _map_stamped(self, sub: Any, items: list, node_id: str, value_slot: int, ret: int | None, ret_slot: int | None) -> list:
        """``sub.run_each`` with the sub-epoch ``parent / (node_id, k)`` in the epoch slot (for
        nodes that take the epoch, and for callbacks); the parent epoch is put back after."""
        values = self._values
        parent = values[self._epoch_slot]
        root = parent if isinstance(parent, Epoch) else Epoch(parent)
        collected: list[tuple[int, Any]] = []
        keep = self._keep_subepochs
        if keep and self._sub_root != root.root:
            self._sub_events, self._sub_root = [], root.root  # a new epoch: forget the last one's
        try:
            for k, item in enumerate(items):
                epoch = values[self._epoch_slot] = root / (node_id, k)
                try:
                    got = sub.run_each(values, (item,), value_slot, -1 if ret is None else ret, ret_slot)
                except BaseException:
                    sub.item_index = k
                    raise
                collected.extend((k, x) for _, x in got)
                if keep:
                    self._record_element(sub, node_id, epoch, item)
        finally:
            values[self._epoch_slot] = parent
        return collected

    def _record_element(self, sub: Any, map_id: str, epoch: Epoch, item: Any) -> None:
        """Keep the events of one map element for ``store``: the map's ``value`` and every
        signal of the region nodes that ran, in the element's sub-epoch; a gather's collected
        list goes to the parent epoch (where it emits), its ``NoEvent``s stay in the sub-epoch."""
        plan = self.plan
        values = self._values
        new = self._events.new
        stamp = datetime.now(UTC)
        events = self._sub_events
        events.append(new(map_id, "value", epoch, item, stamp))
        ran = sub.ran
        for i in plan.region_order[plan.index[map_id]].tolist():
            if not ran[i]:
                continue
            node_id = plan.node_ids[i]
            is_map = i in plan.regions
            for name in plan.signals[i]:
                if is_map and name == "value":
                    continue  # a nested map records its own elements
                value = values[plan.signal_slot[(node_id, name)]]
                parent = epoch.parent if i in self._gathers and value is not NOEVENT else None
                events.append(new(node_id, name, epoch if parent is None else parent, value, stamp))

    def _aggregate(self, batch: _Batch) -> Any:
        """The return value after a map: per-element values gathered into the return's shape.

        ``batch.items`` holds ``(element path, value)`` per call of the return node inside the
        region (the path: one element index per enclosing map). Scalar form -> list; list form
        -> one tuple of every element's values; dict form -> per key, one value per sub-epoch
        the key's signal was emitted in (``_return_key_table``'s depth: a key fed by the outer
        map of two nested ones gets one value per outer element, not one per inner element),
        as a list; a key fed from outside every map (also after the gather that collapses
        it) -> its single value, read when the epoch ends; both -> ``(tuple, dict)``. Unlike
        the original, a one-element map still gives lists (§13.3: the scalar was a bug).
        """
        assert self._return_index is not None, "only called for tubes with a return node"
        node = self.nodes[self.plan.node_ids[self._return_index]]
        assert isinstance(node, ReturnNode)
        if node.scalar:
            return [v for _, v in batch.items]
        pos: list[Any] = []
        per_key: dict[str, dict[tuple, Any]] = {}
        depth = {key: d for key, d, _ in self._return_keys}
        for path, item in batch.items:
            if item is None:
                continue
            args, kwargs = (item if node.has_pos and node.has_kw else ((item, {}) if node.has_pos else ((), item)))
            pos.extend(args)
            for key, value in kwargs.items():
                d = depth.get(key, 0)
                if d:
                    per_key.setdefault(key, {}).setdefault(path[:d], value)
        kw: dict[str, Any] = {}
        values = self._values
        for key, d, slot in self._return_keys:
            if d == 0:
                if slot >= 0 and values[slot] is not NOEVENT:
                    kw[key] = values[slot]
            elif key in per_key:
                kw[key] = list(per_key[key].values())
        if node.has_pos and node.has_kw:
            return (tuple(pos), kw)
        if node.has_kw:
            return kw or None
        return tuple(pos)

    def _tube_toggled(self, node_id: str, enabled: bool) -> None:
        """The tube's definition changed (see :func:`tube_toggled`): do the same here."""
        # an AsyncRunner's init/deinit of the node is awaited by its next process()
        if enabled:
            self.enable_node(node_id)  # type: ignore[attr-defined]
        else:
            self.disable_node(node_id)  # type: ignore[attr-defined]

    def collect_return(self, epoch: Any = None) -> Any:
        """The return value of the last epoch."""
        if epoch is not None:
            raise ValueError("Sync runner only stores a single epoch at a time")
        if self._return_slot is None or self._last_epoch is None:
            return None
        return self._result(self._values[self._return_slot])

    def _node_index(self, node_id: str) -> int:
        try:
            return self.plan.index[node_id]
        except KeyError:
            raise KeyError(f"tube {self.tube.tube_id!r} has no node {node_id!r} (nodes: {', '.join(map(repr, self.plan.node_ids))})") from None

    def _emit_node(self, i: int) -> None:
        node_id = self.plan.node_ids[i]
        epoch = self._values[self.plan.epoch_slot]
        stamp = datetime.now(UTC)
        for name in self.plan.signals[i]:
            event = self._events.new(node_id, name, epoch, self._values[self.plan.signal_slot[(node_id, name)]], stamp)
            for cb in self._callbacks:
                cb(event)

    @property
    def store(self) -> EventStore:
        """The events of the last epoch, built on demand from the slot table.

        Map sub-epochs (``store.events[Epoch(e) / ("m", k)]``) are kept from the first epoch
        after the store was first read, or from the start when the runner was given a
        ``store=``: keeping them costs time per element, so it is only done when asked for.
        """
        if not self._keep_subepochs:
            self._keep_subepochs = True
            self._native_maps_off()
        store = EventStore()
        if self._last_epoch is None:
            return store
        epoch = Epoch(self._last_epoch)
        ran = self._dispatcher.ran
        stamp = datetime.now(UTC)
        maps = self.plan.regions
        for i, node_id in enumerate(self.plan.node_ids):
            if not ran[i]:
                continue
            for name in self.plan.signals[i]:
                if i in maps and name == "value":
                    continue  # a map's elements live in its sub-epochs
                store.add(self._events.new(node_id, name, epoch, self._values[self.plan.signal_slot[(node_id, name)]], stamp))
        if self._sub_root == self._last_epoch:
            for event in self._sub_events:
                store.add(event)
        return store

    @property
    def epoch(self) -> int:
        """The number of the next epoch ``process()`` will run."""
        return self._epoch


class _Batch:
    """The return node's per-element values collected by a map (``items``), before shaping."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]):
        self.items = items


def _not_initialised(node_id: str) -> Callable:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"node {node_id!r} is not initialised; call runner.init() first")

    return fail


