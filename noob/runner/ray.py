"""RayRunner: the same tubes on many processes and many machines, on Ray (``pip install "noob[ray]"``).

Owns: placing a tube's nodes into Ray actors (``_Layout``), the actor that runs its share of
every epoch (``_GroupActor`` around ``_GroupRunner``, a ``SynchronousRunner`` restricted to its
nodes), moving values between actors as object refs, pipelining epochs, and turning Ray's
failures back into the user's exceptions. What a node call, an asset, an input or a map *is*
stays in ``noob.runner.base`` / ``noob.runner.sync``; the actors run exactly that code.
Must not: decide skip logic or order within an actor (``noob._core``), validate the tube
(``noob.tube``), or send a node's values through the driver (only the return value and, when
callbacks ask for them, events come back).

Placement
    Every node lives in an actor; a *group* is one actor. A node's group is, in this order:
    the ``groups`` argument, ``ray: {group: ...}`` on its spec, the group of what it must share
    an actor with (the map whose elements it runs; other nodes taking the same runner- or
    process-scoped asset, and the node the asset ``depends`` on), then the placement default:

    - ``placement="fused"`` (the default): a node joins the group of its deepest upstream
      node (the one whose stage comes last; ties: the first); sources start group
      ``"main"``. An ungrouped tube is one actor.
    - ``placement="node"``: every such node is its own actor, named after it, except a
      ``return`` node reading one node only, which joins that node's group.

    ``fused`` is the default because it is the fastest on ``benchmarks/test_ray.py``: an epoch
    costs one actor call however long the chain, and nothing is serialised between nodes
    (chain10 on a 2-core machine, classic actor calls: ~1.2 ms per epoch fused, within 1.0-1.3x of one
    hand-written actor making the same calls; ~24 ms with ``placement="node"``, 1.3-1.5x of
    a hand-written chain of 11 actors). Parallelism is
    asked for explicitly: put stages in their own groups and raise ``max_epochs_in_flight``.
    Pure functions are never sent out as separate Ray tasks: a task costs a scheduling round
    trip per call, more than most node functions take. Maps run inside their actor, one element
    after the other (no parallel map: the region of a map may hold stateful nodes and gathers,
    whose per-element order matters).

Stages
    An epoch is a list of *stages*, each one call of one actor over some of its nodes in
    topological order. A node's level is the highest level of its upstream nodes, plus one
    when an upstream node is in another group; a stage is all nodes of one (group, level).
    Stages are submitted in level order, so every ref a stage needs exists when it is
    submitted, and an actor runs its stages in submission order (Ray's guarantee for calls
    from one submitter). A call carries only what its stage needs (its index if the actor has
    several stages, input values if it reads inputs, the refs; the actor counts epochs):
    each argument costs Ray ~0.1 ms. It returns ``(status, *values)`` as separate object
    refs: the driver fetches only ``status`` (the return node's value, plus exhausted sources
    and events in a ``_Status`` when there are any: one small object per stage); the values
    go straight to the actors that read them.

Compiled graphs
    By default (``compiled="auto"``) the stages run as one Ray Compiled Graph
    (``noob.runner.ray_compiled``), built and compiled at ``init()`` and torn down at
    ``deinit()``: each stage is the bound ``run_compiled`` of its actor, values cross actors
    through Ray's channels (shared memory on one machine) instead of object refs, and an
    epoch costs one write of the graph's input and one read of its outputs. A plain function
    reads an array from another actor as Ray's read-only view, without a copy; every other
    node gets the actor's own, writeable copy (a view kept past its epoch would stop the
    channel: see ``_GroupRunner._views``). Classic actor
    calls (``.remote()`` per stage, object refs; ``compiled=False``) remain the fallback where
    a compiled graph cannot run: Ray Client connections (``address="ray://..."``), a Ray
    without ``ray.dag``, and any tube Ray refuses to compile; ``"auto"`` then warns once
    (``CompiledFallbackWarning``, naming the reason) and ``compiled=True`` raises. Calls
    between epochs (``enable_node``, ``store``, ...) reach the actors as ordinary calls
    while the graph runs on its own thread there; ``add_callback`` recompiles it.

Epochs in flight
    ``max_epochs_in_flight=k`` lets ``run()``/``iter()`` submit epoch e+1 .. e+k-1 before epoch
    e's result is fetched, so a source stage works on the next epoch while later stages work
    on this one (on a compiled graph, Ray's bounded in-flight executions). Results come back
    in epoch order. ``process()`` is always one epoch. No more epochs are in flight than
    results are still wanted (``iter(10)`` runs 10 epochs when each has a result; the rules
    are ``noob.runner.policy``'s), and an epoch that fails lets the epochs already in flight
    finish (their results are dropped).

Failures
    A node's exception comes back as itself (unwrapped from ``RayTaskError``, or sent as a
    ``StageFailed`` value on a compiled graph), with the note naming node, epoch and tube
    written in the actor, and the remote traceback as its ``__cause__``. A dead actor is
    ``RayActorLostError`` naming its group and nodes; a wait longer than ``timeout`` seconds
    is ``RayTimeoutError`` naming what was awaited (on a compiled graph, the group still
    running a stage). After a timeout a compiled graph is stopped: ``deinit()`` kills its
    actors (a node may still be running in them) and ``init()`` starts new ones. ``deinit()``
    asks every actor to deinitialise its nodes and assets, whatever the others do.

Observers
    ``add_observer`` works as on every runner (``noob.runner.observe``): while one is attached,
    each actor records its node calls in a ``Collector`` and a driver thread (``_Watcher``)
    takes and replays them every ~0.15 s, with samples of the results observers ask for.
    No observer: the actors wrap nothing. Attaching or detaching never recompiles the graph
    (an actor makes the change between two stages).

Actors are pooled per Ray session (``reuse_actors``): ``deinit()`` tears down the nodes and
assets in an actor, then keeps its process for the next runner's ``init()`` (starting a
worker process costs ~1 s).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import ray
import ray.exceptions

from noob.asset import AssetScope
from noob.event import Event, EventStore
from noob.exceptions import Problem, RunnerError, SpecError
from noob.node.adapters import ReturnNode, WrapFuncNode
from noob.runner.base import NOEVENT, TubeRunner, _also, _Batch
from noob.runner.observe import UNSENT, Collector, Observer
from noob.runner.policy import iter_sync, run_sync
from noob.runner.ray_compiled import (
    _PLAIN,
    CompiledFallbackWarning,
    CompiledGraph,
    Raised,
    StageFailed,
    own,
    unavailable,
)
from noob.runner.sync import SynchronousRunner
from noob.tube import Tube
from noob.types import Epoch

__all__ = ["CompiledFallbackWarning", "RayActorLostError", "RayRunner", "RayTimeoutError"]

DEFAULT_GROUP = "main"
_RAY_KEYS = ("group", "num_cpus", "num_gpus", "memory", "resources")
#: how many idle actors a driver keeps per set of actor options (see ``reuse_actors``)
IDLE_ACTORS = 8
#: the raylet's setting for its workers' niceness (see ``connect``)
WORKER_NICENESS = "RAY_worker_niceness"


class RayActorLostError(RunnerError, RuntimeError):
    """An actor of a ``RayRunner`` died (killed, out of memory, node lost).

    ``.group`` is the actor's group, ``.nodes`` the nodes it ran.
    """

    def __init__(self, message: str, group: str = "", nodes: tuple[str, ...] = ()):
        super().__init__(message)
        self.group = group
        self.nodes = nodes


class RayTimeoutError(RunnerError, TimeoutError):
    """A ``RayRunner`` waited longer than its ``timeout`` for an actor.

    ``.group`` is the actor's group, ``.timeout`` the limit in seconds.
    """

    def __init__(self, message: str, group: str = "", timeout: float = 0.0):
        super().__init__(message)
        self.group = group
        self.timeout = timeout


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a Ray actor, as text (set as ``__cause__``)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


# ---------------------------------------------------------------------- layout


class _Status:
    """What a stage call tells the driver: sources that ran out, events (when callbacks
    want them) and the return node's value (``NoEvent`` if it is not in the stage)."""

    __slots__ = ("events", "exhausted", "returned")

    def __init__(self, exhausted: tuple, events: list, returned: Any):
        self.exhausted = exhausted
        self.events = events
        self.returned = returned


class _Carry:
    """A value sent on in a compiled graph with the sources that ran out upstream (node
    indices), for the next stage that reports to take to the driver (see ``_Stage``)."""

    __slots__ = ("exhausted", "value")

    def __init__(self, value: Any, exhausted: tuple):
        self.value = value
        self.exhausted = exhausted



@dataclass
class _Stage:
    """One actor call per epoch: nodes of one group at one level (see the module docstring)."""

    index: int
    group: str
    level: int
    nodes: list[int] = field(default_factory=list)  # top-level nodes, in execution order
    executed: list[int] = field(default_factory=list)  # nodes + the regions of its maps
    in_slots: list[int] = field(default_factory=list)  # slots filled from other actors' values
    in_from: list[tuple[int, int]] = field(default_factory=list)  # (stage, output position) per in_slot
    out_slots: list[int] = field(default_factory=list)  # slots sent on (positions 1.. of the result)
    return_slot: int = -1  # the return node's slot if it runs here: its value comes back in the status
    region_slots: list[int] = field(default_factory=list)  # reset to NoEvent before the stage
    generators: list[int] = field(default_factory=list)  # nodes whose exhaustion is reported
    input_slots: list[int] = field(default_factory=list)  # input slots the group reads (first stage)
    first: bool = False  # first stage of its group in an epoch
    last: bool = False  # last stage of its group in an epoch
    # the call's leading arguments (each one costs a Ray call ~0.1 ms, so only what is needed):
    pass_index: bool = False  # ``index``, when its group has several stages
    pass_inputs: bool = False  # this epoch's input values, when the group reads inputs
    # whether the call returns a status first: stages with sources (they may run out), the
    # return node, or no values to send (errors must surface somewhere), and every stage
    # while callbacks want events; other stages' failures reach the driver through their refs
    report: bool = True
    # the same on a compiled graph, where sources that ran out ride on the first value sent
    # on (``_Carry``) to a stage that reports: one channel less for the driver to read
    report_compiled: bool = True


class _Layout:
    """Which node runs in which actor, and the stages of an epoch. Built at construction, so
    placement mistakes are load-time errors (one ``SpecError`` listing every problem)."""

    def __init__(self, tube: Tube, plan: Any, groups: Mapping[str, str] | None, resources: Mapping[str, Mapping] | None,
                 placement: str):
        if placement not in ("fused", "node"):
            raise ValueError(f"placement must be 'fused' or 'node', got {placement!r}")
        self.tube = tube
        ids = plan.node_ids
        n = len(ids)
        problems: list[Problem] = []
        groups = dict(groups or {})
        for key in groups:
            if key not in plan.index:
                problems.append(Problem("groups", f"RayRunner(groups=...) names node {key!r}, which tube {tube.tube_id!r} does not have",
                                        f"use one of {', '.join(map(repr, ids))}"))
        explicit: dict[int, str] = {}
        node_opts: dict[int, dict] = {}
        for i, node_id in enumerate(ids):
            opts = getattr(tube.spec.nodes[node_id], "ray", None) or {}
            for key, value in opts.items():
                path = f"nodes.{node_id}.ray.{key}"
                if key not in _RAY_KEYS:
                    problems.append(Problem(path, f"unknown Ray option {key!r} on node {node_id!r}", f"use one of {', '.join(_RAY_KEYS)}"))
                elif key == "group" and not isinstance(value, str):
                    problems.append(Problem(path, f"group must be a string, found {value!r}", "write 'ray: {group: name}'"))
                elif key in ("num_cpus", "num_gpus", "memory") and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                    problems.append(Problem(path, f"{key} must be a number >= 0, found {value!r}", f"write 'ray: {{{key}: 1}}'"))
                elif key == "resources" and not isinstance(value, dict):
                    problems.append(Problem(path, f"resources must be a mapping of custom Ray resources, found {value!r}",
                                            "write 'ray: {resources: {name: 1}}'"))
            node_opts[i] = opts
            group = groups.get(node_id, opts.get("group"))
            if isinstance(group, str):
                explicit[i] = group

        # -- what must share an actor: a map and its region; the users of a runner- or
        #    process-scoped asset and the node it depends on
        preds: list[list[int]] = [[] for _ in range(n)]
        takes: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
        for i, node_id in enumerate(ids):
            for dep in tube.spec.nodes[node_id].dependencies:
                if dep.node == "assets":
                    takes[dep.signal].append((i, dep.path))
                elif dep.node != "input" and dep.node in plan.index:
                    preds[i].append(plan.index[dep.node])
        parent = list(range(n))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: int, b: int) -> None:
            parent[find(a)] = find(b)

        self.owner = list(range(n))  # outermost map whose region holds the node, else itself
        for m in sorted(plan.regions, key=lambda m: len(plan.regions[m])):
            for x in plan.regions[m]:
                self.owner[x] = m
        for m, region in plan.regions.items():
            for x in region:
                if x in explicit and m in explicit and explicit[x] != explicit[m]:
                    problems.append(Problem(
                        f"nodes.{ids[x]}.ray.group",
                        f"node {ids[x]!r} runs once per element of map {ids[m]!r}, so it must be in the same actor, "
                        f"but it is in group {explicit[x]!r} and {ids[m]!r} in group {explicit[m]!r}",
                        f"put {ids[x]!r} in group {explicit[m]!r} (or drop its group: it then follows the map)",
                    ))
                union(x, m)
        # a region member (a return node reading keys after the gather) may read nodes that
        # run after the map: they run in the map's actor too, or the actors would wait on each other
        order_ = [int(x) for x in plan.order]
        for m, region in plan.regions.items():
            after: set[int] = set()
            for v in order_:
                if v != m and v not in region and any(p == m or p in region or p in after for p in preds[v]):
                    after.add(v)
            needed = [p for x in region for p in preds[x] if p in after]
            while needed:
                p = needed.pop()
                if find(p) != find(m):
                    union(p, m)
                    needed.extend(q for q in preds[p] if q in after)
        self.asset_group: dict[str, str] = {}
        shared = {a for a, asset in tube.assets.items() if AssetScope(asset.scope) in (AssetScope.runner, AssetScope.process)}
        for asset_id in sorted(shared):
            users = list(takes.get(asset_id, []))
            stored = tube.assets[asset_id].spec.dependency
            if stored is not None and stored.node in plan.index:
                users.append((plan.index[stored.node], f"assets.{asset_id}.depends"))
            named = [(i, path) for i, path in users if i in explicit]
            for (a, _), (b, path) in zip(named, named[1:]):
                if explicit[a] != explicit[b]:
                    problems.append(Problem(
                        path,
                        f"asset {asset_id!r} ({tube.assets[asset_id].scope} scope) lives in one actor, but nodes {ids[a]!r} "
                        f"(group {explicit[a]!r}) and {ids[b]!r} (group {explicit[b]!r}) both take it directly",
                        f"put {ids[a]!r} and {ids[b]!r} in one group, or let {ids[b]!r} depend on a signal of "
                        f"{ids[a]!r} instead of on 'assets.{asset_id}'",
                    ))
            for (a, _), (b, _) in zip(users, users[1:]):
                union(a, b)
        set_group: dict[int, str] = {}
        for i, g in explicit.items():
            root = find(i)
            if root in set_group and set_group[root] != g and not problems:
                members = sorted(ids[x] for x in range(n) if find(x) == root)
                problems.append(Problem(
                    f"nodes.{ids[i]}.ray.group",
                    f"nodes {', '.join(map(repr, members))} must share one actor (maps and shared assets tie them), "
                    f"but they are placed in groups {set_group[root]!r} and {g!r}",
                    "give them one group",
                ))
            set_group.setdefault(root, g)

        # -- groups, in topological order
        self.node_group: list[str] = [""] * n
        order = [int(x) for x in plan.order]
        depth = [0] * n  # a first guess of each node's stage level, to place ungrouped nodes
        for i in order:
            root = find(i)
            up = [p for p in preds[i] if self.node_group[p]]
            if i in explicit:
                g = explicit[i]
            elif root in set_group:
                g = set_group[root]
            elif placement == "fused":
                # the group of the deepest upstream node: joining a shallower one would make
                # that actor wait for the deeper stage each epoch, stalling the pipeline
                g = self.node_group[max(up, key=lambda p: depth[p])] if up else DEFAULT_GROUP
            elif len(set(up)) == 1 and isinstance(tube.nodes[ids[i]], ReturnNode):
                # a return node reading one node only hands its value back: an actor of its own
                # would cost a hop per epoch (one reading several nodes keeps its own actor)
                g = self.node_group[up[0]]
            else:
                g = ids[i]
            self.node_group[i] = g
            depth[i] = max((depth[p] + (self.node_group[p] != g) for p in up), default=0)
            set_group.setdefault(root, g)
        self.groups: list[str] = list(dict.fromkeys(self.node_group[i] for i in order))
        self.group_nodes = {g: [i for i in range(n) if self.node_group[i] == g] for g in self.groups}
        for asset_id in tube.assets:
            users = takes.get(asset_id, [])
            stored = tube.assets[asset_id].spec.dependency
            if users:
                self.asset_group[asset_id] = self.node_group[users[0][0]]
            elif stored is not None and stored.node in plan.index:
                self.asset_group[asset_id] = self.node_group[plan.index[stored.node]]
            else:  # nobody takes it: created once anyway, in the first actor
                self.asset_group[asset_id] = self.groups[0] if self.groups else DEFAULT_GROUP

        # -- actor options per group
        resources = dict(resources or {})
        for g in resources:
            if g not in self.groups:
                problems.append(Problem("resources", f"RayRunner(resources=...) names group {g!r}, which no node is in",
                                        f"groups: {', '.join(map(repr, self.groups))}"))
        self.options: dict[str, dict] = {}
        for g in self.groups:
            actor_opts: dict[str, Any] = {}
            for i in self.group_nodes[g]:
                for key in ("num_cpus", "num_gpus", "memory"):
                    if isinstance(node_opts[i].get(key), (int, float)):
                        actor_opts[key] = max(actor_opts.get(key, 0), node_opts[i][key])
                if isinstance(node_opts[i].get("resources"), dict):
                    actor_opts.setdefault("resources", {}).update(node_opts[i]["resources"])
            actor_opts.update(resources.get(g, {}))
            self.options[g] = actor_opts
        if problems:
            raise SpecError(problems, tube=tube.tube_id, source=tube.spec.source)
        self._stages(tube, plan, preds)

    def _stages(self, tube: Tube, plan: Any, preds: list[list[int]]) -> None:
        ids = plan.node_ids
        group = self.node_group
        owner = self.owner
        top = [int(x) for x in plan.top_order]
        lifted: dict[int, set[int]] = collections.defaultdict(set)
        for v in range(len(ids)):
            for p in preds[v]:
                if owner[p] != owner[v]:
                    lifted[owner[v]].add(owner[p])
        level: dict[int, int] = {}
        for u in top:
            level[u] = max((level[p] + (group[p] != group[u]) for p in lifted[u] if p in level), default=0)
        keys = list(dict.fromkeys((level[u], group[u]) for u in sorted(top, key=lambda u: (level[u], top.index(u)))))
        index = {k: s for s, k in enumerate(keys)}
        self.stages = [_Stage(s, g, lv) for s, (lv, g) in enumerate(keys)]
        stage_of: dict[int, int] = {}
        for u in top:
            st = self.stages[index[(level[u], group[u])]]
            st.nodes.append(u)
            stage_of[u] = st.index
        regions = plan.regions
        for st in self.stages:
            for u in st.nodes:
                st.executed.append(u)
                if u in regions:
                    st.executed.extend(_top_sorted(plan, regions[u]))
            for x in st.executed:
                stage_of[x] = st.index
                if x in regions:
                    st.region_slots.extend(plan.signal_slot[(ids[r], s)] for r in _top_sorted(plan, regions[x]) for s in plan.signals[r])
            st.generators = list(st.executed)  # any node may run out (generators, nested tubes)
        # who produces each signal slot; what crosses actors
        producer = {slot: plan.index[node_id] for (node_id, _), slot in plan.signal_slot.items()}
        t = plan.tables
        arg_ptr, arg_src = t["arg_ptr"], t["arg_src"]
        input_slots = set(plan.input_slot.values())
        received: dict[str, set[int]] = collections.defaultdict(set)
        group_inputs: dict[str, set[int]] = collections.defaultdict(set)
        for st in self.stages:
            for x in st.executed:
                for k in range(int(arg_ptr[x]), int(arg_ptr[x + 1])):
                    slot = int(arg_src[k])
                    if slot in input_slots:
                        group_inputs[st.group].add(slot)
                    made_by = producer.get(slot)
                    if made_by is None or group[made_by] == st.group or slot in received[st.group]:
                        continue
                    src = self.stages[stage_of[made_by]]
                    if slot not in src.out_slots:
                        src.out_slots.append(slot)
                    st.in_slots.append(slot)
                    st.in_from.append((src.index, src.out_slots.index(slot)))
                    received[st.group].add(slot)
        ret = next((plan.index[k] for k, nd in tube.nodes.items() if isinstance(nd, ReturnNode)), None)
        if ret is not None:
            st = self.stages[stage_of[ret]]
            st.return_slot = plan.signal_slot[(ids[ret], "value")]
        seen: set[str] = set()
        for st in self.stages:
            if st.group not in seen:
                st.first = True
                st.input_slots = sorted(group_inputs[st.group])
                seen.add(st.group)
        seen.clear()
        for st in reversed(self.stages):
            if st.group not in seen:
                st.last = True
                seen.add(st.group)
        per_group = collections.Counter(st.group for st in self.stages)
        sources = set(plan.sources)
        for st in self.stages:
            st.pass_index = per_group[st.group] > 1
            st.pass_inputs = st.first and bool(st.input_slots)
            st.report_compiled = st.return_slot >= 0 or not st.out_slots
            st.report = st.report_compiled or bool(sources.intersection(st.executed))

    def nodes_of(self, group: str) -> tuple[str, ...]:
        ids = list(self.tube.nodes)
        return tuple(ids[i] for i in self.group_nodes.get(group, []))


def _top_sorted(plan: Any, nodes: set[int]) -> list[int]:
    """``nodes`` in the plan's topological order."""
    return [int(x) for x in plan.order if int(x) in nodes]


# ---------------------------------------------------------------------- the actor side


class _GroupRunner(SynchronousRunner):
    """A ``SynchronousRunner`` over one group's nodes, run stage by stage (inside an actor).

    Only the group's nodes are initialised and only its assets created; other nodes' signal
    slots are filled from the values other actors send (``run_stage``).
    """

    def __init__(self, tube: Tube, core: str, group: str, layout: dict):
        super().__init__(tube, core=core)
        plan = self.plan
        self._group = group
        self._own: list[int] = layout["nodes"]
        mine = [self.assets[a] for a in layout["assets"]]
        self._own_assets = [a for a in mine if AssetScope(a.scope) == AssetScope.runner]
        self._process_assets = [a for a in mine if AssetScope(a.scope) == AssetScope.process]
        for node_id in layout["disabled"]:  # as the driver's runner had them when it started
            self.nodes[node_id].enabled = False
            self._dispatcher.set_flag(plan.index[node_id], self.core.F_ENABLED, False)
        self._stage_list: dict[int, tuple[Any, _Stage]] = {}
        for st in layout["stages"]:
            d = plan.dispatcher(self._fns, self._dispatcher.flags, order=np.asarray(st.nodes, dtype=np.int32))
            d.hook_before = self._node_assets_open
            d.hook_after = self._after_node
            self._stage_list[st.index] = (d, st)
        self._log: list[Event] = []
        self._failed_epoch: int | None = None
        self._failed_log: tuple[int, list[Event]] | None = None
        self._ran: dict[int, int] = {}
        self._single = layout["stages"][0].index if len(layout["stages"]) == 1 else None
        self._next_epoch: dict[int, int] = dict.fromkeys(self._stage_list, 0)
        self._view_slots, self._detach = self._views(layout["stages"])
        #: per stage, the positions of ``incoming`` a compiled graph's call passes as Ray's views
        self._view_at = {st.index: frozenset(j for j, slot in enumerate(st.in_slots) if slot in self._view_slots)
                         for st in layout["stages"]}
        self.busy: tuple[int, int] | None = None  # (stage, epoch) while a compiled graph runs a stage here

    def _start(self) -> None:
        self._start_these(self._own, self._own_assets)

    def _views(self, stages: list[_Stage]) -> tuple[frozenset[int], frozenset[int]]:
        """The slots from other actors a compiled graph's call may leave in Ray's channel
        buffers, and the nodes reading them.

        Ray reads an array from a channel as a read-only view of its buffer, and does not
        write the channel's next value while such a view lives: a view that outlives its
        epoch stops the graph. So a slot stays a view only if every node of this actor
        reading it cannot keep it: a plain function (not a class, generator, map, gather or
        nested tube; not marked ``stateful``) taking no asset; each of their results is
        detached from the buffer (``_detached``) before other nodes see it, and the slot is
        cleared after the actor's last stage of the epoch. Any other reader, and any stage
        while callbacks record events, gets its own copy (``ray_compiled.own``).
        """
        plan = self.plan
        t = plan.tables
        arg_ptr, arg_src = t["arg_ptr"], t["arg_src"]
        assets = set(plan.asset_slot.values())
        received = {slot for st in stages for slot in st.in_slots}
        readers: dict[int, list[int]] = collections.defaultdict(list)
        for st in stages:
            for x in st.executed:
                for k in range(int(arg_ptr[x]), int(arg_ptr[x + 1])):
                    if int(arg_src[k]) in received:
                        readers[int(arg_src[k])].append(x)

        def keeps_nothing(x: int) -> bool:
            node = self.nodes[plan.node_ids[x]]
            args = {int(arg_src[k]) for k in range(int(arg_ptr[x]), int(arg_ptr[x + 1]))}
            return (type(node) is WrapFuncNode and not node.is_generator and not node.is_async and not plan.stateful[x]
                    and not plan.node_assets[x] and not args & assets)

        views = frozenset(slot for slot in received if readers[slot] and all(map(keeps_nothing, readers[slot])))
        return views, frozenset(x for slot in views for x in readers[slot])

    def _callable_for(self, node: Any) -> Callable:
        fn = super()._callable_for(node)
        if self.plan.index[node.id] not in self._detach:
            return fn

        def detached(*args: Any, **kwargs: Any) -> Any:
            return _detached(fn(*args, **kwargs))

        return detached

    def _set_observers(self, observers: tuple) -> None:
        """As every runner, and every node of every stage through its (timed) callable."""
        super()._set_observers(observers)
        if observers:
            for d, st in self._stage_list.values():
                for i in st.executed:
                    d.set_native(i, self.core.NATIVE_CALL, None, 0)

    def record_events(self) -> None:
        if self._record not in self._callbacks:
            self.add_callback(self._record)

    def _record(self, event: Event) -> None:
        self._log.append(event)

    def call(self, args: tuple) -> Any:
        """One stage call: ``args`` are ``[index] [inputs] *incoming`` (see ``_Stage``).

        The actor counts epochs itself, per stage. Ray skips a call whose input failed, so a
        failed epoch can leave the count behind: the driver sends ``start_epochs`` then.

        Returns the stage's status (``_Status``), or just the return node's value (``None``
        for a stage without it) when nothing ran out and no events were recorded, followed
        by the values other actors read.
        """
        pos = 0
        if self._single is None:
            k = args[0]
            pos = 1
        else:
            k = self._single
        st = self._stage_list[k][1]
        epoch = self._next_epoch[k]
        self._next_epoch[k] = epoch + 1
        inputs = None
        if st.pass_inputs:
            inputs = args[pos]
            pos += 1
        return self._shaped(st, self.run_stage(k, epoch, inputs, args[pos:]), st.report)

    def call_compiled(self, k: int, feed: tuple[int, dict | None] | None, incoming: tuple) -> Any:
        """Stage ``k`` in a compiled graph (``noob.runner.ray_compiled``), of epoch ``feed[0]``,
        or of the next epoch this actor counts for it when ``feed`` is ``None``."""
        st = self._stage_list[k][1]
        if feed is None:
            epoch, inputs = self._next_epoch[k], None
        else:
            epoch, inputs = feed
        self._next_epoch[k] = epoch + 1
        carried: tuple = ()
        failed: StageFailed | None = None
        values = []
        views = () if self._callbacks else self._view_at[k]
        for j, value in enumerate(incoming):
            kind = type(value)
            if kind is _Carry:
                carried += value.exhausted
                value = value.value
            elif kind is StageFailed:  # an upstream stage failed: its failure is passed on
                carried += value.exhausted
                failed = failed or value
                continue
            values.append(value if j in views else own(value))  # own: out of Ray's buffers (see ``_views``)
        if failed is not None:
            self._clear_views(st)
            return self._skipped(st, epoch, failed.joined(carried), st.report_compiled)
        self.busy = (k, epoch)
        try:
            out = self.run_stage(k, epoch, own(inputs) if st.pass_inputs and inputs else None, tuple(values))
        except BaseException as exc:  # noqa: BLE001 - sent to the driver as a value (see StageFailed)
            self._clear_views(st, failed=True)
            return self._skipped(st, epoch, StageFailed.of(exc).joined(carried), st.report_compiled)
        finally:
            self.busy = None
            del values
        self._clear_views(st)
        if carried:
            out[0].exhausted += carried
        return self._shaped(st, out, st.report_compiled)

    def _clear_views(self, st: _Stage, failed: bool = False) -> None:
        """Drop this actor's hold on Ray's buffers after its last stage of an epoch (or a
        failed one: the later stages skip the epoch)."""
        if self._view_slots and (st.last or failed):
            values = self._values
            for slot in self._view_slots:
                values[slot] = NOEVENT

    def _skipped(self, st: _Stage, epoch: int, failed: StageFailed, report: bool) -> Any:
        """Stage ``st`` does not run in ``epoch``: ``failed`` in place of each of its outputs;
        this group's later stages skip the epoch, its process-scoped assets close."""
        if self._failed_epoch != epoch:
            self._failed_epoch = epoch
            opened = [a for a in self._process_assets if a in self._open_assets]
            if opened:
                with contextlib.suppress(Exception):  # the epoch already failed: that error is reported
                    self._close_assets(opened, failed.exc)
        n = int(report or bool(self._callbacks)) + len(st.out_slots)
        return failed if n == 1 else (failed,) * n

    def _shaped(self, st: _Stage, out: tuple, report: bool) -> Any:
        """A stage's result as the driver's call expects it (see ``call``): ``report`` is
        ``st.report`` or ``st.report_compiled`` (then a status that stays in the graph rides
        on the first value, when sources ran out)."""
        if not (report or self._callbacks):
            if out[0].exhausted:
                out = (_Carry(out[1], out[0].exhausted), *out[2:])
            else:
                out = out[1:]
        else:
            status = out[0]
            if not status.exhausted and not status.events:
                out = (status.returned if st.return_slot >= 0 else None, *out[1:])
        return out[0] if len(out) == 1 else out

    def start_epochs(self, first_epoch: int) -> None:
        """Count this actor's calls from ``first_epoch`` (the driver's next epoch at ``init``)."""
        self._next_epoch = dict.fromkeys(self._stage_list, first_epoch)

    def run_stage(self, k: int, epoch: int, inputs: dict | None, incoming: tuple) -> tuple:
        d, st = self._stage_list[k]
        values = self._values
        if st.first:
            self._failed_epoch = None
            if inputs:
                for slot, value in inputs.items():
                    values[slot] = value
            if self._stamp_epoch or self._callbacks or self._region_slots:  # a map's failure note reads it
                values[self._epoch_slot] = Epoch(epoch)
        elif self._failed_epoch == epoch:  # an earlier stage of ours failed in this epoch
            return (_Status((), [], NOEVENT), *[NOEVENT] * len(st.out_slots))
        for slot, value in zip(st.in_slots, incoming):
            values[slot] = value
        for slot in st.region_slots:
            values[slot] = NOEVENT
        self._log = []
        self._dispatcher = d
        failure: BaseException | None = None
        close_error: BaseException | None = None
        try:
            if st.first:
                self._open_process_assets()
            d.run(values)
        except BaseException as exc:
            failure = exc
            self._failed_epoch = epoch
            self._failed(exc, epoch)
            self._failed_log = (epoch, self._log)
            raise
        finally:
            if failure is not None or st.last:
                close_error = self._close_process_assets(failure)
        if close_error is not None:
            self._failed_epoch = epoch
            self._failed_log = (epoch, self._log)
            raise close_error
        ran = d.ran
        for i in st.nodes:
            self._ran[i] = int(ran[i])
        flags = d.flags
        exhausted = tuple(i for i in st.generators if flags[i] & self.core.F_EXHAUSTED) if d.n_exhausted_now else ()
        returned = values[st.return_slot] if st.return_slot >= 0 else NOEVENT
        if type(returned) is _Batch:  # shaped here: keys fed from outside the map are in this actor's slots
            returned = self._aggregate(returned)
        return (_Status(exhausted, self._log, returned), *[values[s] for s in st.out_slots])

    def failed_events(self, epoch: int) -> list[Event]:
        if self._failed_log is not None and self._failed_log[0] == epoch:
            return self._failed_log[1]
        return []

    def store_values(self) -> list[tuple[str, str, Any]]:
        plan = self.plan
        return [(plan.node_ids[i], name, self._values[plan.signal_slot[(plan.node_ids[i], name)]])
                for i in sorted(self._ran) if self._ran[i] for name in plan.signals[i]]


class _GroupActor:
    """The Ray actor of one group: holds a ``_GroupRunner`` between ``setup`` and ``release``."""

    def __init__(self) -> None:
        self.runner: _GroupRunner | None = None
        self.collector: Collector | None = None  # while the driver has observers (see _Watcher)
        #: observer changes waiting for the compiled graph's next stage (see ``observe``)
        self.switches: list[Callable[[], Any]] = []

    def setup(self, spec: Any, tube_input: dict, core: str, group: str, layout: dict, events: bool,
              hook: Callable[[], Any] | None) -> int:
        """Build the tube again from its specification (a ``Tube`` holds a lock and its
        plans, and does not pickle) and a runner over this group's share of it."""
        if hook is not None:
            hook()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the driver already warned while loading the tube
            tube = Tube.from_specification(spec, input=tube_input)
            self.runner = _GroupRunner(tube, core, group, layout)
        if events:
            self.runner.record_events()
        return os.getpid()

    def _r(self) -> _GroupRunner:
        if self.runner is None:
            raise RuntimeError("this noob actor has no tube; RayRunner.init() sets it up")
        return self.runner

    def init(self, first_epoch: int) -> None:
        self._r().start_epochs(first_epoch)
        self._r().init()

    def start_epochs(self, first_epoch: int) -> None:
        self._r().start_epochs(first_epoch)

    def ping(self) -> int:
        return os.getpid()

    def busy(self) -> tuple[int, int] | None:
        """``(stage, epoch)`` while a compiled graph runs one of this actor's stages."""
        return None if self.runner is None else self.runner.busy

    def deinit(self) -> None:
        self.apply_switches()  # the compiled graph is gone: nothing runs a stage meanwhile
        self._r().deinit()

    def run(self, *args: Any) -> Any:
        if self.switches:  # left by a compiled graph that is gone (a fallback to classic calls)
            self.apply_switches()
        return self._r().call(args)

    def run_compiled(self, k: int, feed: tuple[int, dict | None], *incoming: Any) -> Any:
        """The method a compiled graph binds for a stage reading its input (see
        ``noob.runner.ray_compiled``)."""
        if self.switches:  # an observer came or went (``observe``): switch between two stages
            self.apply_switches()
        return self._r().call_compiled(k, feed, incoming)

    def run_compiled_after(self, k: int, *incoming: Any) -> Any:
        """The method a compiled graph binds for the other stages: they count their epochs."""
        if self.switches:  # as in run_compiled
            self.apply_switches()
        return self._r().call_compiled(k, None, incoming)

    def record_events(self) -> None:
        self._r().record_events()

    def failed_events(self, epoch: int) -> list:
        return self._r().failed_events(epoch)

    def store_values(self) -> list:
        return self._r().store_values()

    def enable_node(self, node_id: str) -> None:
        self._r().enable_node(node_id)

    def disable_node(self, node_id: str) -> None:
        self._r().disable_node(node_id)

    def release(self) -> None:
        """Forget the tube (after ``deinit``) so the process can serve another runner."""
        if self.runner is not None:
            with contextlib.suppress(Exception):
                self.runner.deinit()
        self.runner = None
        self.collector = None
        self.switches.clear()
        gc.collect()

    # -- observation (``_Watcher``): ordinary calls, served while a compiled graph runs.
    # Attaching wraps the nodes' callables and turns the core's native kinds off: done here at
    # once on classic calls (the actor runs one call at a time), but with a compiled graph
    # (``compiled``) its thread may be inside a stage, so the change waits in ``switches``
    # for the start of the next stage (or ``deinit``).
    def observe(self, reducers: Mapping[int, Any] | None = None, compiled: bool = False) -> None:
        """Record this actor's node calls from now on (a ``Collector`` as the runner's
        observer); ``reducers`` (unless ``None``): the nodes whose results to sample."""
        if self.collector is None and self.runner is not None:
            self.collector = Collector(len(self.runner.plan.node_ids))
            self._switch(self.runner.add_observer, self.collector, compiled)
        if reducers is not None and self.collector is not None:
            self.collector.want(reducers)

    def take_observed(self, reducers: Mapping[int, Any] | None, compiled: bool = False) -> tuple | None:
        """What was recorded since the last take (``Collector.take``); ``reducers`` (unless
        ``None``): the nodes whose results to sample from now on."""
        self.observe(reducers, compiled)
        return None if self.collector is None else self.collector.take()

    def unobserve(self, compiled: bool = False) -> tuple | None:
        """Stop recording: the nodes are called unwrapped again; the last records."""
        collector, self.collector = self.collector, None
        if collector is None or self.runner is None:
            return None
        self._switch(self.runner.remove_observer, collector, compiled)
        return collector.take()

    def _switch(self, change: Callable[[Any], None], collector: Collector, later: bool) -> None:
        self.switches.append(functools.partial(change, collector))
        if not later:
            self.apply_switches()

    def apply_switches(self) -> None:
        """Make the observer changes that wait, in order (``list.pop`` is atomic)."""
        while self.switches:
            self.switches.pop(0)()


_RemoteGroupActor = ray.remote(max_restarts=0, max_task_retries=0)(_GroupActor)

# idle actors by (Ray session, job, options): see ``reuse_actors``
_pool: dict[tuple, list[Any]] = collections.defaultdict(list)


def _pool_key(options: dict) -> tuple:
    context = ray.get_runtime_context()  # the session too: job ids start again after ray.shutdown()
    return (context.get_session_name(), context.get_job_id(), repr(sorted(options.items())))


# ---------------------------------------------------------------------- the driver


@dataclass
class _Pending:
    """An epoch submitted to the actors and not yet collected."""

    epoch: int
    statuses: list[tuple[int, Any]]  # (stage, ref) of each reporting stage (a ``_Status`` or the plain return value)


def connect(address: str | None = None, **init_kwargs: Any) -> None:
    """Make sure this process is connected to Ray (no-op if it already is).

    ``address=None`` starts a private local Ray instance bound to the loopback interface,
    without dashboard or usage reporting, whose workers run at the driver's priority
    (niceness 0, not Ray's 15; set ``RAY_worker_niceness`` to choose another). ``"auto"``
    joins the cluster started on this machine with ``ray start``; ``"ray://host:10001"`` joins a remote cluster through Ray Client.
    ``init_kwargs`` go to ``ray.init`` (``num_cpus``, ``runtime_env``, ...).
    """
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is not None:
        ray.init(address=address, **init_kwargs)
        return
    # Ray 2.60 binds every server to the node's IP unless it believes it cannot form a
    # cluster; this switch (read by the driver here, and by the raylet and workers from the
    # environment) keeps a private instance on 127.0.0.1.
    from ray._private import ray_constants

    previous = ray_constants.ENABLE_RAY_CLUSTER
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray_constants.ENABLE_RAY_CLUSTER = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] not in ("0", "false", "False")
    # Ray starts its workers at niceness 15, below the driver. A compiled graph's reader waits
    # by spinning, so a driver waiting for an epoch takes a core from the actors doing the
    # work (two ~30 ms stages on two cores ran no faster than one process). The tube's actors
    # are the work here: the raylet reads this variable when it starts (a user's value wins).
    niceness = os.environ.get(WORKER_NICENESS)
    os.environ.setdefault(WORKER_NICENESS, "0")
    try:
        init_kwargs.setdefault("include_dashboard", False)
        init_kwargs.setdefault("log_to_driver", True)
        ray.init(address="local", **init_kwargs)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous
        if niceness is None:
            os.environ.pop(WORKER_NICENESS, None)


class RayRunner(TubeRunner):
    """Runs a tube in Ray actors: same API and results as ``SynchronousRunner``.

    ``address``: ``None`` starts a local Ray on loopback; ``"auto"`` or ``"ray://..."`` joins
    a cluster (see ``connect``); an existing connection (``ray.init`` already called) is
    used as it is. ``groups`` (node id -> group) and ``resources`` (group -> actor options
    such as ``num_cpus``, ``num_gpus``, ``resources``) place nodes; ``placement`` is the
    default for ungrouped nodes (``"fused"`` or ``"node"``, see the module docstring).
    ``max_epochs_in_flight`` pipelines ``run``/``iter``. ``timeout`` (seconds) bounds every
    wait. ``reuse_actors`` keeps actor processes for the next runner. ``ray_init`` is passed
    to ``ray.init`` when this runner starts Ray. ``actor_setup()`` is called in every actor
    before its nodes are initialised (seed random generators, configure logging, ...).
    ``compiled``: ``"auto"`` (the default) runs epochs through a Ray Compiled Graph where it
    can and falls back to classic actor calls (with one ``CompiledFallbackWarning``) where it
    cannot; ``True`` raises instead of falling back; ``False`` always uses classic calls (see
    "Compiled graphs" in the module docstring).
    """

    def __init__(self, tube: Tube, address: str | None = None, *, groups: Mapping[str, str] | None = None,
                 resources: Mapping[str, Mapping] | None = None, placement: str = "fused", max_epochs_in_flight: int = 1,
                 timeout: float = 120.0, reuse_actors: bool = True, ray_init: Mapping[str, Any] | None = None,
                 actor_setup: Callable[[], Any] | None = None, store: EventStore | None = None, max_iter_loops: int = 100, core: str | None = None,
                 compiled: bool | str = "auto"):
        super().__init__(tube, store=store, max_iter_loops=max_iter_loops, core=core)
        if not isinstance(max_epochs_in_flight, int) or max_epochs_in_flight < 1:
            raise ValueError(f"max_epochs_in_flight must be an integer >= 1, got {max_epochs_in_flight!r}")
        if not timeout or timeout <= 0:
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        if compiled not in ("auto", True, False):
            raise ValueError(f"compiled must be 'auto', True or False, got {compiled!r}")
        self.layout = _Layout(tube, self.plan, groups, resources, placement)
        self.compiled = compiled
        self._graph: CompiledGraph | None = None  # while a compiled graph runs the epochs
        self._graph_rebuild = False  # an error escaped a stage of the graph: see ``_rebuild``
        self._fallback_warned = False
        self.address = address
        self.max_epochs_in_flight = max_epochs_in_flight
        self.timeout = float(timeout)
        self.reuse_actors = reuse_actors
        self.actor_setup = actor_setup
        self._ray_init = dict(ray_init or {})
        self._actors: dict[str, Any] = {}
        self._calls: list[Any] = []  # per stage: the bound ``run_stage`` with its num_returns
        self._dead: set[str] = set()
        self._last_result: Any = None
        self._has_inputs = bool(self.plan.input_slot)
        self._watcher: _Watcher | None = None  # while observers are attached and the actors run
        self._observe_lock = threading.RLock()  # held while observers change and while calls are replayed

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._running

    @property
    def actors(self) -> dict[str, Any]:
        """The actor handle of each group while the runner is initialised."""
        return dict(self._actors)

    def child_runner(self, tube: Tube) -> SynchronousRunner:
        """Nested tubes run inside the actor of their ``type: tube`` node, synchronously."""
        return SynchronousRunner(tube, core=self.core.IMPLEMENTATION)

    def init(self) -> None:
        """Start (or reuse) one actor per group, then initialise its nodes and assets. Idempotent."""
        if not self._running:
            self._start()

    def _start(self) -> None:
        connect(self.address, **self._ray_init)
        layout = self.layout
        spec_ref = ray.put(self.tube.spec)
        events = bool(self._callbacks)
        try:
            setups = {}
            parts = {}
            for g in layout.groups:
                actor, pooled = self._acquire(layout.options[g])
                self._actors[g] = actor
                stages = [st for st in layout.stages if st.group == g]
                assets = [a for a, ag in layout.asset_group.items() if ag == g]
                disabled = [self.plan.node_ids[i] for i in layout.group_nodes[g] if not self.nodes[self.plan.node_ids[i]].enabled]
                parts[g] = {"nodes": layout.group_nodes[g], "assets": assets, "stages": stages, "disabled": disabled}
                setup = (spec_ref, dict(self.tube.input), self.core.IMPLEMENTATION, g, parts[g], events, self.actor_setup)
                setups[g] = (actor.setup.remote(*setup), pooled, setup)
            for g, (ref, pooled, setup) in setups.items():
                try:
                    self._get(ref, g, "setting up its actor")
                except RayActorLostError:
                    if not pooled:
                        raise
                    self._dead.discard(g)  # an idle actor died in the pool: start a fresh one
                    self._actors[g] = actor = self._new_actor(layout.options[g])
                    self._get(actor.setup.remote(*setup), g, "setting up its actor")
            for g in layout.groups:  # in order, as the sync runner initialises nodes in spec order
                self._get(self._actors[g].init.remote(self._epoch), g, "initialising its nodes")
        except BaseException:
            self._teardown()
            raise
        self._bind_calls()
        self._running = True
        self._exhausted = False
        try:
            self._compile()
        except BaseException:
            self._teardown()
            raise
        self._clear_exhausted()
        if self._observers:
            self._watch()

    def _bind_calls(self) -> None:
        """Each stage's ``run`` with its number of returns (a status first if it reports)."""
        self._reports = [st.report or bool(self._callbacks) for st in self.layout.stages]
        self._reports_compiled = [st.report_compiled or bool(self._callbacks) for st in self.layout.stages]
        self._calls = [self._actors[st.group].run.options(num_returns=int(rep) + len(st.out_slots))
                       for st, rep in zip(self.layout.stages, self._reports)]
        if self._graph is not None:  # the outputs changed (callbacks want every stage's events)
            graph, self._graph = self._graph, None
            lost = self._retire(self._graph_down(graph))
            if lost:
                raise RayActorLostError(
                    f"adding a callback to running tube {self.tube.tube_id!r} recompiles its graph, and Ray could not stop "
                    f"the loops of {', '.join(map(repr, sorted(self._dead)))}, which were deinitialised and killed; "
                    "call runner.deinit() and runner.init() (or add callbacks before init())",
                    group=sorted(self._dead)[0], nodes=self.layout.nodes_of(sorted(self._dead)[0]),
                )
            self._compile()

    def _compile(self) -> None:
        """Run the epochs through a compiled graph, unless ``compiled`` or the connection say
        no (see "Compiled graphs" in the module docstring)."""
        if self.compiled is False or not self.layout.stages:
            return
        why = unavailable()
        if why is None:
            try:
                self._graph_rebuild = False  # the actors count from the runner's epoch (``init``)
                self._graph = CompiledGraph(self.layout.stages, self._actors, self._reports_compiled,
                                            self.max_epochs_in_flight, self.timeout)
                return
            except Exception as exc:  # noqa: BLE001 - reported below, or raised with compiled=True
                if self.compiled is True:
                    raise RunnerError(
                        f"tube {self.tube.tube_id!r} could not be compiled into a Ray Compiled Graph: "
                        f"{type(exc).__name__}: {exc}; pass RayRunner(compiled='auto') to fall back to classic actor calls"
                    ) from exc
                why = f"compiling the graph failed: {type(exc).__name__}: {exc}"
        elif self.compiled is True:
            raise RunnerError(f"RayRunner(compiled=True) cannot run tube {self.tube.tube_id!r}: {why}; "
                              "pass compiled='auto' to fall back to classic actor calls")
        if not self._fallback_warned:
            self._fallback_warned = True
            warnings.warn(CompiledFallbackWarning(
                f"tube {self.tube.tube_id!r} runs on Ray's classic actor calls, not a compiled graph: {why}; "
                "pass RayRunner(compiled=False) to choose that path without this warning"), stacklevel=4)

    def _graph_down(self, graph: CompiledGraph) -> set[str]:
        """Tear ``graph`` down; the groups whose actors cannot run another graph: killed (a
        broken graph: marked dead) or alive with a stuck loop (see ``CompiledGraph.teardown``)."""
        lost = graph.teardown(self.timeout)
        groups = {g for g, actor in self._actors.items() if actor._actor_id in lost}
        if graph.broken:
            self._dead.update(groups)
        return groups

    def _retire(self, groups: set[str]) -> bool:
        """Deinitialise and kill the actors of ``groups`` (alive, but unable to run another
        graph) in the middle of a run; whether there were any."""
        for g in sorted(groups - self._dead):
            with contextlib.suppress(Exception):
                self._get(self._actors[g].deinit.remote(), g, "deinitialising its nodes")
            with contextlib.suppress(Exception):
                ray.kill(self._actors[g])
        self._dead.update(groups)
        return bool(groups)

    def _acquire(self, options: dict) -> tuple[Any, bool]:
        """An actor with ``options``: an idle one from the pool (``True``) or a new one."""
        if self.reuse_actors:
            idle = _pool[_pool_key(options)]
            if idle:
                return idle.pop(), True
        return self._new_actor(options), False

    @staticmethod
    def _new_actor(options: dict) -> Any:
        return _RemoteGroupActor.options(**options).remote() if options else _RemoteGroupActor.remote()

    def deinit(self) -> None:
        """Deinitialise every actor's nodes and assets (all of them, whatever fails). Idempotent."""
        if not self._actors:
            self._running = False
            return
        error = self._teardown()
        if error is not None:
            raise error

    def _teardown(self) -> BaseException | None:
        self._unwatch()
        self._running = False
        error: BaseException | None = None
        retire: set[str] = set()  # alive, deinitialised below, then killed: see ``_graph_down``
        if self._graph is not None:  # the actors serve ordinary calls again once it is gone
            graph, self._graph = self._graph, None
            try:
                retire = self._graph_down(graph)
            except BaseException as exc:  # noqa: BLE001 - raised after every actor is done
                error = _also(error, exc, "stopping")
        refs = {g: a.deinit.remote() for g, a in self._actors.items() if g not in self._dead}
        for g, ref in refs.items():
            try:
                self._get(ref, g, "deinitialising its nodes")
            except RayActorLostError:
                self._dead.add(g)
            except BaseException as exc:  # noqa: BLE001 - the first error is raised after all actors are done
                error = _also(error, exc, "stopping")
        for g, actor in self._actors.items():
            if g in self._dead or g in retire or not self.reuse_actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                continue
            try:
                self._get(actor.release.remote(), g, "releasing its actor")
            except BaseException:  # noqa: BLE001 - an actor that cannot be released is not reused
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                continue
            idle = _pool[_pool_key(self.layout.options[g])]
            if len(idle) < IDLE_ACTORS:
                idle.append(actor)
            else:
                ray.kill(actor)
        self._actors.clear()
        self._calls = []
        self._dead.clear()
        return error

    def __enter__(self) -> RayRunner:
        self.init()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    # ------------------------------------------------------------------ waiting
    def _describe(self, group: str) -> str:
        return f"the Ray actor of group {group!r} (nodes {', '.join(map(repr, self.layout.nodes_of(group)))})"

    def _get(self, ref: Any, group: str, doing: str) -> Any:
        """``ray.get(ref)`` within ``timeout``, with Ray's errors turned into ours."""
        try:
            return ray.get(ref, timeout=self.timeout)
        except Exception as exc:
            err = self._ray_error(exc, group, doing)
            raise err from err.__cause__

    def _ray_error(self, exc: BaseException, group: str, doing: str) -> BaseException:
        """Ray's ``exc`` (from waiting for ``group`` while ``doing``) as noob's error, its
        ``__cause__`` set: raise it ``from`` its ``__cause__``. Used by both paths."""
        err: BaseException
        if isinstance(exc, (ray.exceptions.GetTimeoutError, ray.exceptions.RayChannelTimeoutError)):
            err = RayTimeoutError(
                f"no answer from {self._describe(group)} within {self.timeout:g} s while {doing} "
                f"(tube {self.tube.tube_id!r}); pass a larger RayRunner(timeout=...) if this is expected",
                group=group, timeout=self.timeout,
            )
        elif isinstance(exc, (ray.exceptions.RayActorError, ray.exceptions.RayChannelError)):
            # a compiled graph whose actor died is torn down by Ray: its reads fail with RayChannelError
            self._dead.add(group)
            err = RayActorLostError(
                f"{self._describe(group)} died while {doing} (tube {self.tube.tube_id!r}): {type(exc).__name__}; "
                "call runner.deinit() and runner.init() to start a new one",
                group=group, nodes=self.layout.nodes_of(group),
            )
            err.__cause__ = exc
        elif isinstance(exc, ray.exceptions.RayTaskError):
            err = _unwrap(exc)
            err.__cause__ = _RemoteTraceback(str(exc))
        else:
            err = exc
        return err

    # ------------------------------------------------------------------ epochs
    def process(self, **inputs: Any) -> Any:
        """Run one epoch and return the ``return`` node's value (``None`` if it did not fire)."""
        if not self._running or self._exhausted:
            self._prepare()
        return self._collect(self._submit(inputs))

    def _submit(self, inputs: Mapping[str, Any]) -> _Pending:
        if self._graph_rebuild:
            self._rebuild()
        graph = self._graph
        if graph is not None and graph.broken:
            raise RunnerError(f"the compiled graph of tube {self.tube.tube_id!r} stopped after a wait timed out; "
                              "call runner.deinit() and runner.init() to start again")
        values = self._values
        epoch = self._epoch
        snapshot = None
        restore = self._set_inputs(inputs) if (inputs or self._process_input_slots) else None
        if self._has_inputs:
            snapshot = {s: values[s] for s in self.plan.input_slot.values()}
        if restore:
            for slot, value in restore:
                values[slot] = value
        self._epoch = epoch + 1
        if self._observers:
            self._tell_started(epoch)
        if graph is not None:
            try:
                return _Pending(epoch, graph.submit(epoch, snapshot))
            except Exception as exc:  # Ray tore the graph down: an actor died
                self._end_epoch(epoch, None)
                group = self.layout.stages[0].group
                if isinstance(exc, (ray.exceptions.RayChannelError, ray.exceptions.RayActorError)):
                    group = self._find_dead(group)
                err = self._ray_error(exc, group, f"starting epoch {epoch}")
                raise err from err.__cause__
        outs: dict[tuple[int, int], Any] = {}
        statuses = []
        for st, call, report in zip(self.layout.stages, self._calls, self._reports):
            args: list[Any] = [st.index] if st.pass_index else []
            if st.pass_inputs:
                args.append({s: snapshot[s] for s in st.input_slots} if snapshot else None)
            args.extend(outs[src] for src in st.in_from)
            refs = call.remote(*args)
            n = int(report) + len(st.out_slots)
            refs = [refs] if n == 1 else refs
            if report:
                statuses.append((st.index, refs[0]))
            for j in range(len(st.out_slots)):
                outs[(st.index, j)] = refs[j + int(report)]
        return _Pending(epoch, statuses)

    def _collect(self, pending: _Pending) -> Any:
        epoch = pending.epoch
        stages = self.layout.stages
        k = -1
        exhausted_now = 0
        value = NOEVENT
        statuses = [ref for _, ref in pending.statuses]
        try:
            got: list[Any] | None = None
            if self._graph is not None:  # every ref is read (the graph needs it), failures come back as Raised
                got = self._graph.fetch(statuses, self.timeout)
            elif len(statuses) > 1:  # one round trip for all stages; on an error, find its stage below
                try:
                    got = ray.get(statuses, timeout=self.timeout)
                except ray.exceptions.GetTimeoutError:
                    _, waiting = ray.wait(statuses, num_returns=len(statuses), timeout=0)
                    k = pending.statuses[statuses.index(waiting[0]) if waiting else -1][0]
                    raise RayTimeoutError(
                        f"epoch {epoch} of tube {self.tube.tube_id!r} did not finish within {self.timeout:g} s: "
                        f"still waiting for {self._describe(stages[k].group)}; pass a larger RayRunner(timeout=...) if this is expected",
                        group=stages[k].group, timeout=self.timeout,
                    ) from None
                except ray.exceptions.RayError:
                    got = None
            for j, (k, ref) in enumerate(pending.statuses):
                # without ``got``: one stage at a time, in order: the first failing stage is the cause
                status = got[j] if got is not None else self._get(ref, stages[k].group, f"running epoch {epoch}")
                if type(status) is StageFailed:
                    for i in status.exhausted:  # sources that ran out before the failure
                        self._dispatcher.set_flag(i, self.core.F_EXHAUSTED, True)
                    if status.exhausted:
                        self._check_exhausted(epoch)
                    raise status.exc from _RemoteTraceback(status.text)
                if type(status) is Raised:
                    group = stages[k].group
                    if isinstance(status.exc, TimeoutError):  # Ray waits for all outputs at once
                        group = self._busy_group(group)
                    err = self._ray_error(status.exc, group, f"running epoch {epoch}")
                    if not isinstance(err, (RayTimeoutError, RayActorLostError)):
                        self._graph_rebuild = True  # not a node's failure (those are values): Ray's own
                        err.add_note(f"in epoch {epoch} of tube {self.tube.tube_id!r}, Ray stopped the compiled graph: "
                                     "a value crossing actors could not be sent; the next epoch compiles it again")
                    raise err from err.__cause__
                if type(status) is not _Status:  # the plain form: only the return value
                    if stages[k].return_slot >= 0:
                        value = status
                    continue
                if stages[k].return_slot >= 0:
                    value = status.returned
                for i in status.exhausted:
                    self._dispatcher.set_flag(i, self.core.F_EXHAUSTED, True)
                    exhausted_now += 1
                if status.events and self._callbacks:
                    self._emit_events(status.events)
        except RayActorLostError as exc:
            self._end_epoch(epoch, None)
            dead = self._find_dead(exc.group)
            if dead == exc.group:
                raise
            raise RayActorLostError(
                f"{self._describe(dead)} died while running epoch {epoch} (tube {self.tube.tube_id!r}); "
                "call runner.deinit() and runner.init() to start a new one",
                group=dead, nodes=self.layout.nodes_of(dead),
            ) from exc
        except BaseException as exc:
            if not isinstance(exc, RayTimeoutError):
                self._resync()
                if k >= 0 and self._callbacks:
                    with contextlib.suppress(Exception):
                        self._emit_events(self._get(self._actors[stages[k].group].failed_events.remote(epoch), stages[k].group, "reporting events"))
            if self._observers and not isinstance(exc, StopIteration):
                self._report_remote_failure(exc, epoch)
            self._end_epoch(epoch, None)
            if isinstance(exc, StopIteration):  # a plain function node said "no more": as the sync runner
                self._exhausted = True
                self._last_result = NOEVENT
                return None
            raise
        self._end_epoch(epoch, None)
        if exhausted_now:
            self._check_exhausted(epoch)
        self._last_result = value
        return self._result(value)

    def _emit_events(self, events: list[Event]) -> None:
        for event in events:
            for cb in self._callbacks:
                cb(event)

    def _find_dead(self, reported: str) -> str:
        """The first group, in stage order, whose actor is dead (``reported`` if none is): a
        dead actor's failure reaches the driver through the stages downstream of it."""
        self._dead.discard(reported)
        for g in self.layout.groups:
            try:
                ray.get(self._actors[g].ping.remote(), timeout=min(self.timeout, 10.0))
            except ray.exceptions.RayActorError:
                self._dead.add(g)
                return g
            except ray.exceptions.GetTimeoutError:  # busy, not dead
                continue
        self._dead.add(reported)
        return reported

    def _busy_group(self, default: str) -> str:
        """The first group, in stage order, whose actor is inside a compiled graph's stage
        (asked on the actor's main thread; the graph runs on another) or ``default``."""
        groups = list(self._actors)
        refs = [self._actors[g].busy.remote() for g in groups]
        with contextlib.suppress(Exception):
            ray.wait(refs, num_returns=len(refs), timeout=min(self.timeout, 10.0))
        for g, ref in zip(groups, refs):
            with contextlib.suppress(Exception):
                if ray.get(ref, timeout=0) is not None:
                    return g
        return default

    def _resync(self) -> None:
        """Tell every actor the next epoch: after a failure Ray may have skipped some calls.
        On a compiled graph a failing node is a value (see ``noob.runner.ray_compiled``) and
        no call is skipped; see ``_rebuild`` for an error that escapes a stage there."""
        if self._graph is not None:
            return
        for g, actor in self._actors.items():
            if g not in self._dead:
                actor.start_epochs.remote(self._epoch)

    def _rebuild(self) -> None:
        """A compiled graph again, after an error escaped one of its stages (a value Ray could
        not serialise): Ray stops the graph then, and skipped the calls downstream. Done by
        the next ``_submit``, when no epoch is in flight: the actors count from the runner's
        next epoch, and a new graph is compiled over them (~1 s)."""
        self._graph_rebuild = False
        graph, self._graph = self._graph, None
        if graph is not None and self._retire(self._graph_down(graph)):
            raise RayActorLostError(
                f"the actors of tube {self.tube.tube_id!r} did not stop after a failed epoch and were killed; "
                "call runner.deinit() and runner.init() to start new ones",
                group=self.layout.groups[0], nodes=self.layout.nodes_of(self.layout.groups[0]),
            )
        refs = {g: actor.start_epochs.remote(self._epoch) for g, actor in self._actors.items() if g not in self._dead}
        for g, ref in refs.items():
            self._get(ref, g, "counting epochs again")
        self._compile()

    def _drain(self, pending: collections.deque) -> None:
        """Wait for epochs still in flight (their results and errors are dropped)."""
        if self._graph is not None:
            self._graph.drain([[r for _, r in p.statuses] for p in pending], self.timeout)
            pending.clear()
            return
        refs = [r for p in pending for _, r in p.statuses]
        if refs:
            with contextlib.suppress(Exception):
                ray.wait(refs, num_returns=len(refs), timeout=self.timeout)
            self._resync()
        pending.clear()

    def run(self, n: int | None = None) -> list | None:
        """Run ``n`` epochs (forever if ``None``) and return the non-``None`` results.

        Stops early, cleanly, when every source is exhausted. Returns ``None`` if there were no
        results. A ``KeyboardInterrupt`` deinitialises the runner and is raised again, with a
        note saying how many results had come back (as ``SynchronousRunner.run``). With
        ``max_epochs_in_flight`` > 1 up to that many epochs are in flight, never more than
        ``n``. (The rules: ``noob.runner.policy``.)
        """
        return run_sync(self, n, self._collect, self._submit_next, self._drain, self.max_epochs_in_flight)

    def iter(self, n: int | None = None) -> Iterator[Any]:
        """Yield ``n`` results (forever if ``None``).

        With a ``return`` node, epochs that return ``None`` are skipped (at most
        ``max_iter_loops`` in a row). Ends cleanly when every source is exhausted. Pipelined,
        no more epochs are in flight than results are still wanted (``iter(10)`` runs 10
        epochs when each has a result). Deinitialises the runner when done only if it
        started it.
        """
        return iter_sync(self, n, self._collect, self._submit_next, self._drain, self.max_epochs_in_flight)

    def _submit_next(self) -> _Pending:
        return self._submit({})

    def collect_return(self, epoch: Any = None) -> Any:
        """The return value of the last epoch."""
        if epoch is not None:
            raise ValueError("RayRunner only keeps the last epoch's return value")
        if self._return_slot is None or self._last_epoch is None:
            return None
        return self._result(self._last_result)

    # ------------------------------------------------------------------ nodes at runtime
    def _tell(self, node_id: str, method: str) -> None:
        g = self.layout.node_group[self.plan.index[node_id]]
        if g in self._actors:
            self._get(getattr(self._actors[g], method).remote(node_id), g, f"{method.replace('_', ' ')} {node_id!r}")

    def enable_node(self, node_id: str) -> None:
        """Enable a node between epochs (initialising it in its actor if the runner is running)."""
        i = self._node_index(node_id)
        self.nodes[node_id].enabled = True
        self._tell(node_id, "enable_node")
        self._dispatcher.set_flag(i, self.core.F_ENABLED, True)

    def disable_node(self, node_id: str) -> None:
        """Disable a node between epochs: it is deinitialised and its dependents are skipped."""
        i = self._node_index(node_id)
        self.nodes[node_id].enabled = False
        self._dispatcher.set_flag(i, self.core.F_ENABLED, False)
        self._tell(node_id, "disable_node")

    # ------------------------------------------------------------------ callbacks, store
    def add_callback(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` for every event a node emits (sent back by the actors), and
        for each ``EpochEnded``."""
        self._callbacks.append(callback)
        for g, actor in self._actors.items():
            self._get(actor.record_events.remote(), g, "turning on events")
        if self._actors:
            self._bind_calls()  # every stage now reports (its events)

    @property
    def store(self) -> EventStore:
        """The events of the last epoch (their values fetched from the actors on demand)."""
        store = EventStore()
        if self._last_epoch is None or not self._actors:
            return store
        epoch = Epoch(self._last_epoch)
        for g, actor in self._actors.items():
            for node_id, name, value in self._get(actor.store_values.remote(), g, "reporting its values"):
                store.add(self._events.new(node_id, name, epoch, value))
        return store

    # ------------------------------------------------------------------ observers
    # Nodes run in the actors: while observers are attached and the actors run, each actor
    # records its calls (``_GroupActor.observe``) and a ``_Watcher`` thread takes and replays
    # them here. Without observers the actors wrap nothing and an epoch costs what it did.
    def add_observer(self, observer: Observer) -> None:
        """Report node calls (replayed from the actors, see ``noob.runner.observe``), failures,
        epochs and exhausted sources to ``observer``; the actors record only while observed."""
        with self._observe_lock:
            super().add_observer(observer)
            if self._running:  # after ``attached``: the watcher asks the observers what they want
                self._watch()

    def remove_observer(self, observer: Observer) -> None:
        """Stop reporting to ``observer``; the last one gone, the actors stop recording (their
        last records reach it first) and nothing is replayed any more."""
        if self._observers == (observer,):
            self._unwatch()
        with self._observe_lock:
            super().remove_observer(observer)

    def _watch(self) -> None:
        """Start recording in the actors and replaying here (if not already)."""
        if self._watcher is None and self._actors:
            self._watcher = _Watcher(self)
            self._watcher.start()

    def _unwatch(self) -> None:
        """Stop the watcher: its thread ends, the actors' last records are replayed, the
        actors stop recording. Bounded: each wait is at most a few seconds."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()


class _Watcher:
    """Takes what a ``RayRunner``'s actors recorded (``_GroupActor.take_observed``) every
    ``PERIOD`` seconds, in a daemon thread, and replays it to the runner's observers.

    Times move onto the driver's clock by the smallest ``driver now - actor now`` seen per
    actor (on one machine CLOCK_MONOTONIC is shared, so that is the transfer time); durations
    stay as measured. A sample of a result comes with the call it is from; every other call
    is replayed with ``UNSENT``. A wait for an actor is at most ``WAIT`` seconds: a dead or
    stuck actor costs the view its figures, never the driver a hang.
    """

    PERIOD = 0.15
    WAIT = 2.0

    def __init__(self, runner: RayRunner) -> None:
        self.runner = runner
        self.actors = dict(runner._actors)
        self.compiled = runner._graph is not None  # the actors switch observers between stages
        self.offsets: dict[str, int] = {}
        self.reducers: dict[int, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"noob-view-ray-{runner.tube.tube_id}", daemon=True)

    def start(self) -> None:
        wanted = self._wanted()
        # awaited (bounded): every epoch submitted from here on is recorded from its first stage
        self._gather({g: a.observe.remote(wanted, self.compiled) for g, a in self.actors.items()})
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(self.WAIT + 1.0)
        self._gather({g: a.unobserve.remote(self.compiled) for g, a in self.actors.items()})

    def _loop(self) -> None:
        while not self._stop.wait(self.PERIOD):
            try:
                self.pull()
            except Exception:  # noqa: BLE001 -- the view must never break the run; the next pull tries again
                continue

    def _wanted(self) -> dict[int, Any] | None:
        """The nodes whose results the observers want (``remote_values``), if that changed."""
        wanted: dict[int, Any] = {}
        for observer in self.runner._observers:
            ask = getattr(observer, "remote_values", None)
            if ask is not None:
                for i, reduce in ask().items():
                    wanted.setdefault(i, reduce)
        old = self.reducers
        if wanted.keys() == old.keys() and all(wanted[i] is old[i] for i in wanted):
            return None
        self.reducers = wanted
        return wanted

    def pull(self) -> None:
        """Take every actor's records and replay them."""
        wanted = self._wanted()
        self._gather({g: a.take_observed.remote(wanted, self.compiled) for g, a in self.actors.items()})

    def _gather(self, refs: dict[str, Any]) -> None:
        if not refs:
            return
        with contextlib.suppress(Exception):
            ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.WAIT)
        for g, ref in refs.items():
            try:
                got = ray.get(ref, timeout=0)
            except Exception:  # noqa: BLE001 -- late, dead or released: nothing to replay from it
                continue
            if got is not None:
                self._replay(g, got, time.perf_counter_ns())

    def _replay(self, group: str, got: tuple, now: int) -> None:
        actor_now, calls, samples, running = got
        offset = min(self.offsets.get(group, now - actor_now), now - actor_now)
        self.offsets[group] = offset
        with self.runner._observe_lock:
            observers = self.runner._observers
            if not observers:
                return
            starts = [o.node_started for o in observers]
            ends = [o.node_finished for o in observers]
            for i, t0, t1 in calls:
                sample = samples.get(i)
                result = sample[1] if sample is not None and sample[0] == t1 else UNSENT
                t0 += offset
                t1 += offset
                for start in starts:
                    start(i, t0)
                for end in ends:
                    end(i, t0, t1, result)
            for i, t0 in running:
                for start in starts:
                    start(i, t0 + offset)


def _detached(value: Any) -> Any:
    """``value`` holding no view of another array: a result of a node reading Ray's buffers
    (see ``_GroupRunner._views``). Arrays owning their memory, numbers, strings and ``None``
    pass as they are; other arrays are copied; tuples element by element; anything else
    is deep-copied (``ray_compiled.own``)."""
    kind = type(value)
    if kind is np.ndarray:
        return value if value.base is None else value.copy()
    if kind in _PLAIN or isinstance(value, np.generic) or value is NOEVENT:
        return value
    if kind is tuple:
        return tuple(map(_detached, value))
    return own(value)


def _unwrap(exc: ray.exceptions.RayTaskError) -> BaseException:
    """The user's exception inside a ``RayTaskError`` (however deeply wrapped)."""
    cause: Any = exc
    while isinstance(cause, ray.exceptions.RayTaskError):
        inner = getattr(cause, "cause", None)
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    if isinstance(cause, ray.exceptions.RayTaskError) and type(cause) is not ray.exceptions.RayTaskError:
        # the dual class Ray builds (``RayTaskError(KeyError)``): its cause is the user's exception
        inner = getattr(cause, "cause", None)
        if isinstance(inner, BaseException):
            cause = inner
    cause.__traceback__ = None
    return cause
