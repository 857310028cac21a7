"""Plans: a checked ``Tube`` laid out as the integer tables the core runs.

Owns: dense node ids, the slot table layout, the CSR adjacency and topological order, and
the per-node argument / output / asset-store tables handed to ``noob._core``'s
``Dispatcher``. Names stay here (``node_ids``, ``signal_slot``) so the runner can turn core
ids back into words.
Must not: call user code or run epochs (``noob.runner``), or validate: ``noob.tube``'s
builder has checked everything a plan relies on, using the layout helpers below
(``arg_positions``, ``map_regions``) so that the check and the layout cannot disagree. This
module raises no ``SpecError`` and imports nothing above it (only ``noob.node``,
``noob.asset``, ``noob.spec``, ``noob.types``, ``noob._core`` and numpy).

Slot table layout (one Python list per runner, see ``_dispatch_c.pyx``)::

    [ signals (one per node signal) | inputs | assets | epoch | constants (params) ]
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from noob.asset import AssetScope, copied_stores, store_copier
from noob.node.adapters import MapNodeAdapter, ReturnNode
from noob.node.gather import Gather
from noob.spec import Dependency, InputScope
from noob.types import MetaSignal

NOEVENT = MetaSignal.NoEvent
_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)


class NodeKind(enum.IntEnum):
    """What a node is, as far as a runner treats it differently (``Plan.kind``)."""

    PLAIN = 0  #: a user's function, class or generator
    RETURN = 1  #: the ``return`` node: packs the epoch's result
    GATHER = 2  #: a ``gather`` node: collects values over epochs or map elements
    MAP = 3  #: a ``map`` node: runs its region once per element


def node_kind(node: Any) -> NodeKind:
    """The ``NodeKind`` of a tube's node definition (by type, never by module name)."""
    if isinstance(node, ReturnNode):
        return NodeKind.RETURN
    if isinstance(node, MapNodeAdapter):
        return NodeKind.MAP
    if isinstance(node.obj, type) and issubclass(node.obj, Gather):
        return NodeKind.GATHER
    return NodeKind.PLAIN


# --------------------------------------------------------------------------- layout helpers
# shared with noob.tube's builder, which checks what they compute before any plan is built


def constant_positions(node: Any) -> int:
    """How many positional arguments a node's list ``params`` fill before its ``depends``
    (nodes whose params are passed at each call, ``params_per_call``); 0 otherwise."""
    params = getattr(node, "params", None)
    if getattr(node, "params_per_call", False) and isinstance(params, (list, tuple)):
        return len(params)
    return 0


def arg_positions(node: Any, dependencies: Sequence[Dependency], slots: Mapping[str, Any]) -> tuple[list[int | None], dict[str, int]]:
    """Where each dependency goes: its positional index, or ``None`` for a keyword.

    A scalar or numbered entry (``slot`` ``None``/int) is positional ``offset + slot``, a
    named entry whose parameter is positional-only goes to that parameter's position. Returns
    ``(position per dependency, {epoch-injected positional-only slot: position})``; the latter
    holds injected ``epoch`` parameters that no dependency fills.
    """
    offset = constant_positions(node)
    out: list[int | None] = []
    given: set[str] = set()
    positions: list[str] | None = None  # names of the positional parameters, built when needed
    for dep in dependencies:
        slot = dep.slot
        if slot is None or isinstance(slot, int):
            out.append(offset + (slot or 0))
            continue
        given.add(slot)
        param = slots.get(slot)
        if param is not None and param.kind == _P.POSITIONAL_ONLY:
            if positions is None:
                positions = [x.name for x in slots.values() if x.kind in _POSITIONAL]
            out.append(positions.index(slot))
        else:
            out.append(None)
    epoch: dict[str, int] = {}
    for param in slots.values():
        if param.injection == "epoch" and param.kind == _P.POSITIONAL_ONLY and param.name not in given:
            if positions is None:
                positions = [x.name for x in slots.values() if x.kind in _POSITIONAL]
            epoch[param.name] = positions.index(param.name)
    return out, epoch


def map_regions(nodes: Sequence[Any], dependencies: Sequence[Sequence[Dependency]], index: Mapping[str, int],
                succ: Sequence[Sequence[int]], order: Sequence[int]) -> dict[int, set[int]]:
    """What each ``map`` node runs once per element: ``{map id: region node ids}``.

    The region of map ``m`` is every node downstream of ``m.value``, not looking past the
    ``gather`` nodes that collapse ``m`` (a gather inside a nested map's region belongs to
    that map). Regions of nested maps are computed first (reverse topological ``order``).
    ``nodes``, ``dependencies`` and ``succ`` are indexed by dense node id.
    """
    is_gather = [node_kind(nd) == NodeKind.GATHER for nd in nodes]
    maps = [i for i in order if isinstance(nodes[i], MapNodeAdapter)]
    value_consumers: dict[int, list[int]] = {m: [] for m in maps}
    for i, deps in enumerate(dependencies):
        for dep in deps:
            j = index.get(dep.node)
            if j in value_consumers and dep.signal == "value":
                value_consumers[j].append(i)
    regions: dict[int, set[int]] = {}
    for m in reversed(maps):
        inner = [m2 for m2 in regions if m2 != m]
        region: set[int] = set()
        frontier = list(value_consumers[m])
        while frontier:
            x = frontier.pop()
            if x in region:
                continue
            region.add(x)
            if is_gather[x] and not any(x in regions[m2] and m2 in region for m2 in inner):
                continue
            frontier.extend(succ[x])
        regions[m] = region
    return {m: regions[m] for m in maps}


def region_conflicts(regions: Mapping[int, set[int]]) -> list[tuple[int, int, int]]:
    """``(node, map a, map b)`` for every node in the regions of two maps that do not nest."""
    owners: dict[int, list[int]] = {}
    for m, region in regions.items():
        for i in region:
            owners.setdefault(i, []).append(m)
    found = []
    for i in sorted(owners):
        ms = sorted(owners[i])
        for x, a in enumerate(ms):
            for b in ms[x + 1:]:
                if a not in regions[b] and b not in regions[a]:
                    found.append((i, a, b))
    return found


class Plan:
    """The tables of one tube for one core implementation. Immutable once built; runners copy
    ``initial_values`` and get their own ``Dispatcher`` from ``dispatcher(fns)``.

    Attributes (all lists/arrays indexed by dense node id ``i``, in spec order):

    - ``node_ids``: node id of ``i``; ``index``: node id -> ``i``.
    - ``signal_slot``: ``(node_id, signal)`` -> slot; ``signals``: per node, its signal names.
    - ``input_slot`` / ``asset_slot``: input id / asset id -> slot; ``epoch_slot``.
    - ``indptr`` / ``indices``: CSR successors of each node (node -> node edges).
    - ``order``: execution order (generation-by-generation topological sort);
      ``generation``: generation of each node.
    - ``node_assets``: per node, ``[(asset_id, slot)]`` of node-scoped assets it takes.
    - ``sources``: nodes without node predecessors.
    - ``uses_epoch``: True if any node asks for the epoch.
    - ``copier``: what the core copies a stored runner asset with (``copy.deepcopy`` behind
      :func:`noob.asset.store_copier`, which names the asset when a copy fails).
    - ``regions``: map id -> the node ids it runs once per element (``map_regions``);
      ``kwnames``: per node, the keyword names of its call (``None``: positional only).
      ``region_order``: map id -> that region's execution order; ``top_order``: the order
      without any region's nodes (what the top-level dispatcher runs).

    Derived facts the runners read instead of re-deriving them:

    - ``kind``: the ``NodeKind`` of each node; ``gathers``: the ids of ``gather`` nodes;
      ``return_index`` / ``return_slot``: the ``return`` node and its ``value`` slot (``None``
      without one).
    - ``stateful``: per node, whether a call depends on the calls before it (a class
      instance, a generator, a nested tube, ``gather``; plain functions and ``return`` not).
    - ``asset_users``: runner- and process-scoped asset id -> sorted ids of the nodes that
      take it, plus the node its ``depends`` round trip stores from.
    """

    def __init__(self, tube: Any, core: Any):
        self.core = core
        self.node_ids: list[str] = list(tube.nodes)
        self.index = {k: i for i, k in enumerate(self.node_ids)}
        n = len(self.node_ids)
        values: list[Any] = []

        # -- signal slots
        self.signal_slot: dict[tuple[str, str], int] = {}
        self.signals: list[list[str]] = []
        for node_id in self.node_ids:
            names = [s.name for s in tube.signals[node_id]]
            self.signals.append(names)
            for name in names:
                self.signal_slot[(node_id, name)] = len(values)
                values.append(NOEVENT)
        # -- input, asset and epoch slots
        self.input_slot: dict[str, int] = {}
        for key in tube.input_collection.specs:
            self.input_slot[key] = len(values)
            values.append(None)
        self.asset_slot: dict[str, int] = {}
        for key in tube.assets:
            self.asset_slot[key] = len(values)
            values.append(None)
        self.epoch_slot = len(values)
        values.append(0)
        self.uses_epoch = False

        # -- per-node tables
        arg_ptr = [0]
        arg_src: list[int] = []
        arg_req: list[int] = []
        n_pos: list[int] = []
        kwnames: list[Any] = []
        out_ptr = [0]
        out_slot: list[int] = []
        src_e: list[int] = []
        dst_e: list[int] = []
        self.node_assets: list[list[tuple[str, int]]] = []
        consumed: set[tuple[str, str]] = set()
        for i, node_id in enumerate(self.node_ids):
            node = tube.nodes[node_id]
            nspec = tube.spec.nodes[node_id]
            slots = tube.slots.get(node_id, {})
            pos: dict[int, tuple[int, int]] = {}
            kw: list[tuple[str, int, int]] = []
            node_assets: list[tuple[str, int]] = []
            if getattr(node, "params_per_call", False):
                params = node.params
                if isinstance(params, (list, tuple)):
                    for j, value in enumerate(params):
                        pos[j] = (len(values), 1)
                        values.append(value)
                elif params:
                    for key, value in params.items():
                        kw.append((key, len(values), 1))
                        values.append(value)
            dep_pos, epoch_pos = arg_positions(node, nspec.dependencies, slots)
            given: set[str] = set()
            for dep, idx in zip(nspec.dependencies, dep_pos):
                if dep.node == "input":
                    src = self.input_slot[dep.signal]
                elif dep.node == "assets":
                    src = self.asset_slot[dep.signal]
                    if AssetScope(tube.assets[dep.signal].scope) == AssetScope.node:
                        node_assets.append((dep.signal, src))
                else:
                    src = self.signal_slot[(dep.node, dep.signal)]
                    consumed.add((dep.node, dep.signal))
                    src_e.append(self.index[dep.node])
                    dst_e.append(i)
                if dep.slot is None or isinstance(dep.slot, int):
                    assert idx is not None
                    pos[idx] = (src, 1)
                else:
                    slot = slots.get(dep.slot)
                    required = 1 if slot is None else int(slot.required)
                    if isinstance(node, ReturnNode):
                        required = 0
                    if idx is not None:
                        pos[idx] = (src, required)
                    else:
                        kw.append((dep.slot, src, required))
                    given.add(dep.slot)
            for slot in slots.values():
                if slot.injection == "events" and slot.name not in given:
                    self.uses_epoch = True  # the runner builds the EventMap, stamped with the epoch
                if slot.injection == "epoch" and slot.name not in given:
                    self.uses_epoch = True
                    if slot.name in epoch_pos:
                        pos[epoch_pos[slot.name]] = (self.epoch_slot, 1)
                    else:
                        kw.append((slot.name, self.epoch_slot, 1))
            # the builder has checked that positions neither repeat nor leave gaps
            for j in sorted(pos):
                arg_src.append(pos[j][0])
                arg_req.append(pos[j][1])
            for name, src, req in kw:
                arg_src.append(src)
                arg_req.append(req)
            n_pos.append(len(pos))
            kwnames.append(tuple(name for name, _, _ in kw) or None)
            arg_ptr.append(len(arg_src))
            for name in self.signals[i]:
                out_slot.append(self.signal_slot[(node_id, name)])
            out_ptr.append(len(out_slot))
            self.node_assets.append(node_assets)

        # -- runner-scope asset round trips: (signal slot -> asset slot), copied only when
        #    another node still consumes the signal after the store. A `depends` naming a
        #    signal its node does not have stores nothing (the builder warned about it).
        stores: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
        for asset_id, asset in tube.assets.items():
            dep = asset.spec.dependency
            if dep is None or AssetScope(asset.scope) != AssetScope.runner or (dep.node, dep.signal) not in self.signal_slot:
                continue
            stores[self.index[dep.node]].append(
                (self.signal_slot[(dep.node, dep.signal)], self.asset_slot[asset_id], int((dep.node, dep.signal) in consumed))
            )
        # the copier names the asset when a copy fails (a lock, a socket: AssetCopyError)
        self.copier = store_copier([c for c in copied_stores(tube.spec) if (c.store.node, c.store.signal) in self.signal_slot])
        store_ptr = [0]
        store_src: list[int] = []
        store_dst: list[int] = []
        store_copy: list[int] = []
        for entries in stores:
            seen: set[int] = set()
            for s, d, c in entries:
                store_src.append(s)
                store_dst.append(d)
                # a value no node reads is stored as it is -- into one asset: a second asset
                # stored from the same signal gets its own copy (never an alias of the first)
                store_copy.append(c or int(s in seen))
                seen.add(s)
            store_ptr.append(len(store_src))

        # -- graph
        self.indptr, self.indices = core.csr(n, src_e, dst_e)
        self.order, self.generation, ok = core.toposort(n, self.indptr, self.indices)
        assert ok, "Tube validation guarantees an acyclic graph"
        indeg = np.bincount(np.asarray(dst_e, dtype=np.int64), minlength=n) if dst_e else np.zeros(n, dtype=np.int64)
        self.sources = [i for i in range(n) if indeg[i] == 0]
        self._map_regions(tube, src_e, dst_e)

        self.initial_values = values
        #: per node, the keyword names of its call (``None``: positional only)
        self.kwnames: list[Any] = kwnames
        self._tables = dict(
            order=self.top_order,
            arg_ptr=np.asarray(arg_ptr, np.int32),
            arg_src=np.asarray(arg_src, np.int32),
            arg_req=np.asarray(arg_req, np.uint8),
            n_pos=np.asarray(n_pos, np.int32),
            kwnames=kwnames,
            out_ptr=np.asarray(out_ptr, np.int32),
            out_slot=np.asarray(out_slot, np.int32),
            store_ptr=np.asarray(store_ptr, np.int32),
            store_src=np.asarray(store_src, np.int32),
            store_dst=np.asarray(store_dst, np.int32),
            store_copy=np.asarray(store_copy, np.uint8),
        )
        self.process_inputs = [k for k, s in tube.input_collection.specs.items() if InputScope(s.scope) == InputScope.process]

        # -- derived facts (see the class docstring)
        defs = [tube.nodes[k] for k in self.node_ids]
        self.kind: list[NodeKind] = [node_kind(nd) for nd in defs]
        self.gathers = frozenset(i for i, k in enumerate(self.kind) if k == NodeKind.GATHER)
        self.return_index: int | None = next((i for i, k in enumerate(self.kind) if k == NodeKind.RETURN), None)
        self.return_slot: int | None = (
            None if self.return_index is None else self.signal_slot[(self.node_ids[self.return_index], "value")]
        )
        self.stateful: list[bool] = [bool(getattr(nd, "stateful", True)) for nd in defs]
        self.asset_users: dict[str, list[int]] = {}
        for asset_id, asset in tube.assets.items():
            if AssetScope(asset.scope) == AssetScope.node:
                continue
            slot = self.asset_slot[asset_id]
            users = {i for i in range(n) if slot in arg_src[arg_ptr[i]:arg_ptr[i + 1]]}
            dep = asset.spec.dependency
            if dep is not None:
                users.add(self.index[dep.node])
            self.asset_users[asset_id] = sorted(users)

    @property
    def tables(self) -> dict[str, Any]:
        """The raw tables (for inspection, parity tests and benchmarks)."""
        return dict(self._tables)

    def _map_regions(self, tube: Any, src_e: list[int], dst_e: list[int]) -> None:
        """Lay out what each ``map`` node runs once per element (see ``map_regions``).

        ``top_order`` is the execution order without any region's nodes; ``region_order[m]``
        is the order ``m`` runs per element, without its nested maps' regions. The builder
        has checked that no node is in the regions of two maps that do not nest.
        """
        n = len(self.node_ids)
        nodes = [tube.nodes[k] for k in self.node_ids]
        if not any(isinstance(nd, MapNodeAdapter) for nd in nodes):
            self.top_order = np.asarray(self.order, dtype=np.int32)
            self.region_order = {}
            self.regions = {}
            return
        succ: list[list[int]] = [[] for _ in range(n)]
        for s_, d_ in zip(src_e, dst_e):
            succ[s_].append(d_)
        regions = map_regions(nodes, [tube.spec.nodes[k].dependencies for k in self.node_ids], self.index, succ,
                              [int(x) for x in self.order])
        maps = list(regions)
        nested_in = {m: set().union(*(regions[m2] for m2 in maps if m2 in regions[m])) if maps else set() for m in maps}
        everything = set().union(*regions.values()) if regions else set()
        order = [int(x) for x in self.order]
        self.top_order = np.asarray([i for i in order if i not in everything], dtype=np.int32)
        self.region_order = {
            m: np.asarray([i for i in order if i in regions[m] and i not in nested_in[m]], dtype=np.int32) for m in maps
        }
        self.regions = regions

    def dispatcher(self, fns: list, flags: np.ndarray, order: np.ndarray | None = None) -> Any:
        """A fresh ``Dispatcher`` over this plan's tables with the given callables and flags.

        ``order`` defaults to the top-level order; a map region's order gives the dispatcher
        that runs the region once per element (sharing ``fns``, ``flags`` and the slot table).
        """
        t = self._tables
        return self.core.Dispatcher(
            fns, t["order"] if order is None else order, flags, t["arg_ptr"], t["arg_src"], t["arg_req"], t["n_pos"], list(t["kwnames"]),  # type: ignore[call-overload]
            t["out_ptr"], t["out_slot"], t["store_ptr"], t["store_src"], t["store_dst"], t["store_copy"],
            self.copier,
        )
