"""Tubes: a specification checked against the code it names, ready to be planned and run.

Owns: resolving ``type`` paths to Python objects, wrapping them as nodes and assets
(``WrapFuncNode``, ``WrapClassNode``, ``AssetRuntime``), reading their signals and slots,
binding ``depends`` and ``params`` to signatures, the graph checks (cycles, positional
arguments, map regions, the asset order and race checks, signal/slot annotations) and
collecting every problem into one ``SpecError``. Everything a plan relies on is checked here,
with ``noob.plan``'s own layout helpers, so ``Plan`` never meets an invalid tube.
Must not: run anything per epoch (that is ``noob.runner``) or lay out tables (``noob.plan``).
"""

from __future__ import annotations

import collections.abc
import contextlib
import difflib
import functools
import inspect
import numbers
import os
import sys
import threading
import types
import typing
import warnings
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from noob import _core
from noob.asset import Asset, AssetRuntime, AssetScope, copied_stores
from noob.edge import Edge
from noob.exceptions import (
    AnnotationWarning,
    AssetCopyWarning,
    AssetDependsWarning,
    CycleError,
    InputMissingError,
    Problem,
    RaceWarning,
    SpecError,
)
from noob.input import INPUT_PATTERN, InputCollection
from noob.node.adapters import (
    MapNodeAdapter,
    NodeSubclassAdapter,
    ReturnNode,
    TubeNodeAdapter,
    WrapClassNode,
    WrapFuncNode,
    _Wrapped,
)
from noob.node.base import Node, Signal, Slot, signature
from noob.node.gather import Gather
from noob.plan import Plan, arg_positions, constant_positions, map_regions, region_conflicts
from noob.spec import (
    MAX_TUBE_NESTING,
    AssetSpecification,
    Dependency,
    InputScope,
    NodeSpecification,
    TubeSpecification,
    _locate,
    merge_tube_specs,
)
from noob.utils import resolve_python_identifier
from noob.yaml import _short as _short_value

__all__ = ["Tube", "TubeSpecification", "TubeState", "merge_tube_specs", "resolve_python_identifier"]

_P = inspect.Parameter


# --------------------------------------------------------------------------- type resolution
# ``resolve_python_identifier`` lives in ``noob.utils`` (node and asset construction use it
# too); it is re-exported here, where the original had it.


def _close_matches(word: str, options: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(options), n=3)
    return ", ".join(repr(f) for f in found)


def _quoted(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(repr(n) for n in names) if names else "none"


# --------------------------------------------------------------------------- Tube

_LOADING: list[str] = []  # sources of the tubes being built, to catch a tube nesting itself


class Tube:
    """A tube: a checked, immutable definition — its specification, its nodes and assets
    resolved to the code they name, its graph checked, and its plans.

    Build one with ``Tube.from_specification(source, input=None)`` where ``source`` is a
    path, a dict, a ``TubeSpecification`` or a ``noob_id``. Every problem found (in the
    file, in the code it names, in the graph) is raised at once as a ``SpecError``.

    A Tube holds nothing that lives: each runner makes its own copies of the node and asset
    definitions (``runner.nodes``, ``runner.assets``) and owns the instances, generators,
    child runners, enabled flags and asset objects on them. Any number of runners, in one
    thread or several, can run one Tube without seeing each other.
    """

    #: ``(tube, node_id, enabled)``: set by ``noob.runner.base`` to reach the live runners
    #: made from a tube (``enable_node`` / ``disable_node``); the tube imports no runner
    _on_toggle: typing.ClassVar[typing.Callable[[Tube, str, bool], None] | None] = None

    def __init__(self, tube_id: str, spec: TubeSpecification, nodes: dict[str, _Wrapped], assets: dict[str, AssetRuntime],
                 input_collection: InputCollection):
        self.tube_id = tube_id
        self.spec = spec
        #: node id -> node definition (read-only; runners copy them with ``instantiate()``)
        self.nodes: Mapping[str, _Wrapped] = MappingProxyType(dict(nodes))
        #: asset id -> asset definition (read-only; runners copy them with ``instantiate()``)
        self.assets: Mapping[str, AssetRuntime] = MappingProxyType(dict(assets))
        self.input_collection = input_collection
        self.input = dict(input_collection.tube_input)
        #: node id -> list of its signals / slots
        self.signals: dict[str, list[Signal]] = {}
        self.slots: dict[str, dict[str, Slot]] = {}
        self._plans: dict[str, Any] = {}
        self._plan_lock = threading.Lock()  # runners may be made in several threads at once

    # -- pickling: a Tube travels (to worker processes, Ray actors) as its definition; plans
    # and the lock are rebuilt where it lands
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["nodes"], state["assets"] = dict(self.nodes), dict(self.assets)
        state["_plans"] = {}
        del state["_plan_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.nodes = MappingProxyType(state["nodes"])
        self.assets = MappingProxyType(state["assets"])
        self._plan_lock = threading.Lock()

    # -- construction
    @classmethod
    def from_specification(cls, source: Any, input: Mapping[str, Any] | None = None) -> Tube:
        spec = TubeSpecification.from_any(source, strict=False)
        return _TubeBuilder(spec, input or {}).build()

    # -- queries
    @property
    def has_return(self) -> bool:
        return any(isinstance(n, ReturnNode) for n in self.nodes.values())

    @property
    def enabled_nodes(self) -> dict[str, _Wrapped]:
        return {k: n for k, n in self.nodes.items() if n.enabled}

    @property
    def edges(self) -> list[Edge]:
        """Every dependency as an ``Edge``, node by node in spec order (the original's ``Tube.edges``).

        ``required`` is the target slot's own flag for keyword slots (``Optional[T] = None``
        slots and every keyword slot of ``return`` are optional); positional and scalar
        dependencies are required.
        """
        out = []
        for node_id, nspec in self.spec.nodes.items():
            slots = self.slots.get(node_id, {})
            is_return = isinstance(self.nodes.get(node_id), ReturnNode)
            for dep in nspec.dependencies:
                required = True
                if isinstance(dep.slot, str):
                    slot = slots.get(dep.slot)
                    required = not is_return and (slot is None or slot.required)
                out.append(Edge(dep.node, dep.signal, node_id, dep.slot, required))
        return out

    @property
    def state(self) -> TubeState:
        """The tube's assets as definitions: ``state.assets[id].obj`` and ``state.dependencies``.

        Unlike the original (where the tube held the live assets), a ``Tube`` is a read-only
        definition and each runner owns its asset objects: ``state.assets[id]`` is a fresh,
        uninitialised ``Asset`` (``obj`` is its initial value, ``None`` unless the class says
        otherwise); the objects nodes receive live in the runner.
        """
        return TubeState(self)

    def in_edges(self, node: str | Node) -> list[Dependency]:
        node_id = node if isinstance(node, str) else node.id
        return list(self.spec.nodes[node_id].dependencies)

    def out_edges(self, node: str | Node) -> list[tuple[str, Dependency]]:
        node_id = node if isinstance(node, str) else node.id
        return [(t, d) for t, s in self.spec.nodes.items() for d in s.dependencies if d.node == node_id]

    def enable_node(self, node_id: str) -> None:
        """Enable ``node_id`` in the definition and in every live runner made from this tube
        (as the original: ``tube.enable_node("b"); runner.process()`` runs ``b``).

        ``runner.enable_node`` changes that runner only.
        """
        self._definition(node_id).enabled = True
        if Tube._on_toggle is not None:
            Tube._on_toggle(self, node_id, True)

    def disable_node(self, node_id: str) -> None:
        """Disable ``node_id`` in the definition and in every live runner (see ``enable_node``)."""
        self._definition(node_id).enabled = False
        if Tube._on_toggle is not None:
            Tube._on_toggle(self, node_id, False)

    def _definition(self, node_id: str) -> _Wrapped:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"tube {self.tube_id!r} has no node {node_id!r} (nodes: {_quoted(self.nodes)})") from None

    def plan(self, core: str | None = None) -> Plan:
        """The plan of this tube for the given core (``"compiled"``/``"python"``; default: the active one).

        Built once per core and shared by every runner (plans are read-only)."""
        key = core or _core.IMPLEMENTATION
        plan = self._plans.get(key)
        if plan is None:
            with self._plan_lock:
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._plans[key] = Plan(self, _core.get(key) if core else _core.active)
        return plan

    def __repr__(self) -> str:
        return f"<Tube {self.tube_id!r}: {len(self.nodes)} nodes, {len(self.assets)} assets>"


class TubeState:
    """What the original's ``Tube.state`` exposed, read from a tube's definition (see ``Tube.state``).

    ``assets``: asset id -> an uninitialised ``Asset`` built from its specification (call
    ``init()`` on it to create the object by hand). ``dependencies``: node id -> signal ->
    the ids of the runner-scoped assets that signal stores (``assets.<id>.depends``).
    """

    def __init__(self, tube: Tube):
        self.tube = tube
        self._assets: dict[str, Asset] | None = None

    @property
    def assets(self) -> dict[str, Asset]:
        if self._assets is None:
            self._assets = {
                k: Asset.from_specification(a.spec, self.tube.input_collection) for k, a in self.tube.assets.items()
            }
        return self._assets

    @property
    def dependencies(self) -> dict[str, dict[str, set[str]]]:
        out: dict[str, dict[str, set[str]]] = {}
        for asset_id, aspec in self.tube.spec.assets.items():
            dep = aspec.dependency
            if dep is not None:
                out.setdefault(dep.node, {}).setdefault(dep.signal, set()).add(asset_id)
        return out

    def __repr__(self) -> str:
        return f"<TubeState of {self.tube.tube_id!r}: assets {list(self.tube.assets)}>"


@contextlib.contextmanager
def _importable_beside(source: Any) -> Iterator[None]:
    """While a tube file loads, modules next to it import (as ``noob run`` finds them).

    The file's directory is searched *after* ``sys.path`` (installed packages win) and only
    during loading; what it imported stays imported, so the nodes resolved from it keep working.
    """
    if source is None:
        yield
        return
    directory = os.path.dirname(os.path.abspath(os.fspath(source)))
    if directory in sys.path:
        yield
        return
    sys.path.append(directory)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


class _TubeBuilder:
    """Turns a loaded specification into a ``Tube``, collecting every problem on the way."""

    def __init__(self, spec: TubeSpecification, tube_input: Mapping[str, Any]):
        self.spec = spec
        self.problems: list[Problem] = list(spec.problems)
        self.tube_input = tube_input
        self.cycle: list[str] = []
        #: node id -> ``arg_positions`` of its depends (computed once, by ``_check_positions``)
        self._positions: dict[str, tuple[list[int | None], dict[str, int]]] = {}
        #: generation of each node as the original noob counts them (see ``_original_accepts``)
        self._generations: list[int] | None = None

    def problem(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(path, message, fix))

    def input_problem(self, path: str, exc: InputMissingError) -> None:
        """An input the entry at ``path`` needs while the tube is built is not there: the
        raised ``SpecError`` is also an ``InputMissingError`` (with ``input`` and ``scope``)."""
        fix = "" if exc.scope == "process" else "pass the input to Tube.from_specification(..., input=...)"
        self.problems.append(Problem(path, str(exc), fix, error=InputMissingError,
                                     details={"input": exc.input, "scope": exc.scope}))

    def build(self) -> Tube:
        key = str(self.spec.source) if self.spec.source else None
        if key:
            _LOADING.append(key)
        try:
            with _importable_beside(self.spec.source):
                return self._build()
        finally:
            if key:
                _LOADING.pop()

    def _build(self) -> Tube:
        spec = self.spec
        name = spec.noob_id or (spec.source.name if spec.source else None)
        # inputs are checked first: a missing required tube input is its own error
        inputs = InputCollection(spec.input, self.tube_input)
        nodes: dict[str, _Wrapped] = {}
        signals: dict[str, list[Signal]] = {}
        slots: dict[str, dict[str, Slot]] = {}
        for node_id, nspec in spec.nodes.items():
            node = self._node(node_id, nspec, inputs)
            if node is None:
                continue
            nodes[node_id] = node
            try:
                signals[node_id] = node.signal_list()
                slots[node_id] = {s.name: s for s in node.slot_list()}
            except Exception as exc:  # user get_signals/get_slots raising
                self.problem(f"nodes.{node_id}.type", f"could not read the signals and slots of {nspec.type!r}: {exc}")
        assets: dict[str, AssetRuntime] = {}
        for asset_id, aspec in spec.assets.items():
            asset = self._asset(asset_id, aspec, inputs)
            if asset is not None:
                assets[asset_id] = asset
        self._check_dependencies(nodes, signals, slots)
        # the graph checks run whatever else is wrong, on the nodes that resolved (edges to
        # nodes that did not are left out); the map and asset checks need an acyclic graph
        graph = self._check_graph(nodes)
        if not self.cycle:
            self._check_map_regions(nodes, graph)
            self._check_assets(graph, signals)
        self._check_annotations(nodes, signals, slots)
        if self.problems:
            if self.cycle:
                raise CycleError(self.problems, self.cycle, tube=name, source=spec.source)
            raise SpecError(self.problems, tube=name, source=spec.source)
        tube = Tube(spec.noob_id or name or "tube", spec, nodes, assets, inputs)
        tube.signals = signals
        tube.slots = slots
        return tube

    def warn(self, warning: Warning) -> None:
        """Emit a load-time warning, attributed to the caller of ``Tube.from_specification``."""
        warnings.warn(warning, stacklevel=6)

    # -- nodes
    def _node(self, node_id: str, nspec: NodeSpecification, inputs: InputCollection) -> _Wrapped | None:
        path = f"nodes.{node_id}"
        if nspec.type is None:
            return None  # reported by the spec loader
        enabled = nspec.enabled
        if isinstance(enabled, str):
            m = INPUT_PATTERN.fullmatch(enabled)
            try:
                enabled = bool(inputs.get(m.group("key"))) if m and m.group("key") in inputs.specs else True
            except InputMissingError as exc:
                self.input_problem(f"{path}.enabled", exc)
                enabled = True
        try:
            params = inputs.resolve_params(nspec.params)
        except InputMissingError as exc:
            self.input_problem(f"{path}.params", exc)
            params = nspec.params
        common = dict(spec=nspec, params=params, enabled=bool(enabled), stateful=nspec.stateful)
        if nspec.type == "return":
            return ReturnNode(node_id, spec=nspec, enabled=bool(enabled), stateful=nspec.stateful)
        if nspec.type == "gather":
            obj: Any = Gather
        elif nspec.type == "tube":
            return self._tube_node(node_id, nspec, params, bool(enabled), inputs)
        elif nspec.type == "map":
            if params:
                self.problem(f"{path}.params", "a `map` node takes no params", "remove `params`")
            return MapNodeAdapter(node_id, spec=nspec, enabled=bool(enabled), stateful=nspec.stateful)
        else:
            try:
                obj = resolve_python_identifier(nspec.type)
            except (ImportError, AttributeError) as exc:
                self.problems.append(Problem(f"{path}.type", f"cannot resolve {nspec.type!r}: {exc}",
                                             "check the spelling and that the package is installed", error=type(exc)))
                return None
        try:
            if isinstance(obj, type) and issubclass(obj, Node):
                node: _Wrapped = NodeSubclassAdapter(node_id, obj, **common)
            elif isinstance(obj, type):
                node = WrapClassNode(node_id, obj, **common)
            elif callable(obj):
                node = WrapFuncNode(node_id, obj, **common)
            else:
                self.problem(f"{path}.type", f"{nspec.type!r} is a {type(obj).__name__}, not a function or class")
                return None
        except TypeError as exc:
            self.problem(f"{path}.type", str(exc))
            return None
        self._check_params(f"{path}.params", node, params)
        return node

    def _tube_node(self, node_id: str, nspec: NodeSpecification, params: Any, enabled: bool,
                   inputs: InputCollection) -> _Wrapped | None:
        path = f"nodes.{node_id}.params"
        if not isinstance(params, Mapping) or "tube" not in params:
            self.problem(path, "a `type: tube` node needs `params: {tube: <noob_id or path>}`", "add the child tube's id or path")
            return None
        child_input = {**inputs.tube_input, **{k: v for k, v in params.items() if k != "tube"}}
        base = self.spec.source.parent if self.spec.source else None
        source: Any
        if isinstance(params["tube"], TubeSpecification):  # loaded with context={"recursive": True}
            source = params["tube"]
        else:
            try:
                source = _locate(params["tube"], base)
            except Exception as exc:
                self.problem(f"{path}.tube", f"cannot find child tube {params['tube']!r}: {exc}", "give an existing noob_id or a path")
                return None
        key = str(source.source if isinstance(source, TubeSpecification) else source)
        if len(_LOADING) >= MAX_TUBE_NESTING:
            self.problem(f"{path}.tube", f"tubes nest more than {MAX_TUBE_NESTING} levels deep at {params['tube']!r} "
                         "(noob.spec.MAX_TUBE_NESTING); it is not loaded", "nest fewer levels of `type: tube`")
            return None
        if key in _LOADING:
            chain = " -> ".join(os.path.basename(k) for k in [*_LOADING[_LOADING.index(key):], key])
            self.problem(f"{path}.tube", f"tubes nest each other in a loop: {chain}", "a tube cannot contain itself")
            return None
        child_specs = TubeSpecification.from_any(source, strict=False).input
        known = {k: v for k, v in child_input.items() if k in child_specs and InputScope(child_specs[k].scope) == InputScope.tube}
        try:
            child = Tube.from_specification(source, input=known)
        except SpecError as exc:
            self.problem(f"{path}.tube", f"child tube {params['tube']!r} is invalid: " + "; ".join(str(p) for p in exc.problems))
            return None
        except InputMissingError as exc:
            self.problem(path, f"child tube {params['tube']!r}: {exc}", f"add `{exc.input}: ...` to this node's params")
            return None
        return TubeNodeAdapter(node_id, child, spec=nspec, params=params, enabled=enabled, stateful=nspec.stateful)

    def _check_params(self, path: str, node: _Wrapped, params: Any) -> None:
        if isinstance(node, NodeSubclassAdapter):
            fields = node.obj.param_fields()
            given = params if isinstance(params, Mapping) else {}
            if isinstance(params, (list, tuple)) and params:
                self.problem(path, f"{node.obj.__name__} is a Node subclass; its params must be a mapping, got a list",
                             f"name them: {_quoted(fields)}")
            unknown = sorted(set(given) - set(fields), key=str)
            for key in unknown:
                self.problem(f"{path}.{key}", f"{node.obj.__name__} has no parameter {key!r} (parameters: {_quoted(fields)})",
                             "remove it or declare it as an annotated class attribute")
            for key, default in fields.items():
                if default is _P.empty and key not in given:
                    self.problem(path, f"{node.obj.__name__} requires parameter {key!r}, which is not given", f"add `{key}: ...` to params")
            check = getattr(node.obj, "check_params", None)
            if callable(check) and not unknown:
                for key, message, fix in check(dict(given)):
                    self.problem(f"{path}.{key}", message, fix)
            return
        if isinstance(node, WrapClassNode) or (isinstance(node, WrapFuncNode) and node.is_generator):
            # params are bound once, at construction / generator creation
            self._bind(path, node.param_signature(), params, what="params")

    def _bind(self, path: str, fn: Any, params: Any, what: str, extra_kw: Iterable[str] = (), extra_pos: int = 0,
              params_path: str | None = None) -> None:
        """Check that ``params`` (plus ``extra_*`` placeholders for depends) fit ``fn``'s signature.

        Unknown parameter names are reported one by one at ``<path>.<name>``; anything else
        that does not bind (a missing required argument, too many positionals) once at ``path``.
        """
        sig = None if fn is None else signature(fn)
        if sig is None:
            return  # builtins without signatures: cannot check before calling
        accepted = [n for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if isinstance(params, Mapping) and not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            unknown = [k for k in params if k not in sig.parameters or sig.parameters[k].kind == _P.POSITIONAL_ONLY]
            for key in unknown:
                hint = _close_matches(str(key), accepted)
                self.problem(f"{params_path or path}.{key}",
                             f"{_callable_name(fn)} has no parameter {key!r} (parameters: {_quoted(accepted)})",
                             f"use {hint}" if hint else "remove it")
            if unknown:
                return
        pos = list(params) if isinstance(params, (list, tuple)) else []
        kw = dict(params) if isinstance(params, Mapping) else {}
        try:
            sig.bind(*pos, *([None] * extra_pos), **kw, **{k: None for k in extra_kw})
        except TypeError as exc:
            fix = f"it accepts {_quoted(accepted)}"
            if pos and all(isinstance(x, Mapping) and len(x) == 1 and next(iter(x)) in accepted for x in pos):
                # `params: [{right: 2}]` (written like `depends`): a list is positional arguments
                as_map = ", ".join(f"{k}: {_short_value(v)}" for x in pos for k, v in x.items())
                fix = f"params by name are a mapping, not a list of mappings: write `params: {{{as_map}}}`"
            self.problem(path, f"{what} do not fit {_callable_name(fn)}{sig}: {exc}", fix)

    # -- assets
    def _asset(self, asset_id: str, aspec: AssetSpecification, inputs: InputCollection) -> AssetRuntime | None:
        path = f"assets.{asset_id}"
        if aspec.type is None:
            return None
        try:
            obj = resolve_python_identifier(aspec.type)
        except (ImportError, AttributeError) as exc:
            self.problems.append(Problem(f"{path}.type", f"cannot resolve {aspec.type!r}: {exc}",
                                         "check the spelling and that the package is installed", error=type(exc)))
            return None
        try:
            params = inputs.resolve_params(aspec.params)
        except InputMissingError as exc:
            self.input_problem(f"{path}.params", exc)
            params = aspec.params
        runtime = AssetRuntime(aspec, obj, params)
        if isinstance(obj, type) and issubclass(obj, Asset):
            fields = obj.param_fields()
            given = params if isinstance(params, Mapping) else {}
            for key in sorted(set(given) - set(fields), key=str):
                self.problem(f"{path}.params.{key}", f"{obj.__name__} has no parameter {key!r} (parameters: {_quoted(fields)})")
        else:
            self._bind(f"{path}.params", obj, params, what="params")
        return runtime

    # -- dependencies
    def _check_dependencies(self, nodes: dict[str, _Wrapped], signals: dict, slots: dict) -> None:
        spec = self.spec
        for node_id, nspec in spec.nodes.items():
            node = nodes.get(node_id)
            if node is None or node_id not in slots:
                continue
            for dep in nspec.dependencies:
                if dep.node in ("input", "assets"):
                    continue
                if dep.node in signals:
                    names = [s.name for s in signals[dep.node]]
                    if dep.signal not in names:
                        hint = _close_matches(dep.signal, names)
                        self.problem(
                            dep.path,
                            f"{dep.source!r}: node {dep.node!r} has no signal {dep.signal!r} (signals: {_quoted(names)})",
                            f"use {hint}" if hint else "use one of its signals",
                        )
            if isinstance(node, WrapFuncNode) and node.is_generator and nspec.dependencies:
                self.problem(f"nodes.{node_id}.depends", f"{nspec.type!r} is a generator function (a source); it cannot take inputs",
                             "remove `depends`, or make it a function or class")
                continue
            self._check_positions(node_id, node, nspec, slots[node_id])
            if isinstance(node, (ReturnNode, MapNodeAdapter)):
                continue
            self._check_slots(node_id, node, nspec, slots[node_id])
        for asset_id, aspec in spec.assets.items():
            store = aspec.dependency
            if store is None or store.node not in signals:
                continue
            dep = store
            names = [s.name for s in signals[dep.node]]
            if dep.signal not in names:
                # the original runs such a tube (the asset is simply never stored): a warning
                hint = _close_matches(dep.signal, names)
                self.warn(AssetDependsWarning(
                    f"{dep.path}: {dep.source!r}: node {dep.node!r} has no signal {dep.signal!r} (signals: {_quoted(names)}), "
                    f"so asset {asset_id!r} is never stored back and keeps its initial value. "
                    f"Fix: point `depends` at the signal that emits the modified asset" + (f" (did you mean {hint}?)" if hint else ""),
                    asset=asset_id, path=dep.path,
                ))
        for copied in copied_stores(spec):
            if copied.store.node in signals and copied.store.signal in [s.name for s in signals[copied.store.node]]:
                self.warn(AssetCopyWarning(
                    f"{copied.path}: {copied.describe()}, so noob deep-copies the value into the asset every epoch "
                    f"(the readers must not change the asset): a cost on each epoch, and an AssetCopyError if the "
                    f"object holds a lock, a socket or a connection. Fix: {copied.fix()}.",
                    asset=copied.asset, source=copied.store.source,
                    readers=[r.path.split(".")[1] for r in copied.readers], path=copied.path,
                ))

    def _check_positions(self, node_id: str, node: _Wrapped, nspec: NodeSpecification, node_slots: dict[str, Slot]) -> None:
        """Positional arguments (list ``params``, numbered or scalar ``depends``, positional-only
        slots) are each given once and leave no gaps, laid out as ``Plan`` will lay them out."""
        dep_pos, epoch_pos = self._positions[node_id] = arg_positions(node, nspec.dependencies, node_slots)
        offset = constant_positions(node)
        if not offset and not epoch_pos and len(dep_pos) == 1:  # the common case: one scalar depends
            if dep_pos[0] not in (None, 0):
                self.problem(f"nodes.{node_id}.depends", f"positional slots [{dep_pos[0]}] of node {node_id!r} leave gaps",
                             "number positional slots 0, 1, 2, ... without gaps")
            return
        taken = set(range(offset))
        for dep, idx in zip(nspec.dependencies, dep_pos):
            if idx is None:
                continue
            if idx in taken:
                self.problem(dep.path, f"positional slot {idx} of node {node_id!r} is given twice",
                             "give each positional argument once (number list entries or name the slots)")
            taken.add(idx)
        taken |= set(epoch_pos.values())
        if taken and sorted(taken) != list(range(len(taken))):
            self.problem(f"nodes.{node_id}.depends", f"positional slots {sorted(taken)} of node {node_id!r} leave gaps",
                         "number positional slots 0, 1, 2, ... without gaps")

    def _check_slots(self, node_id: str, node: _Wrapped, nspec: NodeSpecification, node_slots: dict[str, Slot]) -> None:
        var_kw = any(s.kind == _P.VAR_KEYWORD for s in node_slots.values())
        named = [s.name for s in node_slots.values() if s.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) and not s.injection]
        before = len(self.problems)
        for dep in nspec.dependencies:
            if isinstance(dep.slot, str) and dep.slot not in node_slots and not var_kw:
                hint = _close_matches(dep.slot, named)
                self.problem(dep.path, f"{nspec.type!r} has no slot {dep.slot!r} (slots: {_quoted(named)})",
                             f"use {hint}" if hint else "rename the slot to one of its parameters")
        if isinstance(node, TubeNodeAdapter):
            given = _dep_slot_names(nspec)
            for slot in node_slots.values():
                if slot.required and slot.name not in given:
                    self.problem(f"nodes.{node_id}.depends",
                                 f"child tube {node.child.tube_id!r} requires process input {slot.name!r}, which no dependency gives",
                                 f"add `- {slot.name}: <node>.<signal>` to depends")
            return
        if isinstance(node, WrapFuncNode) and not node.is_generator:
            fn = node.obj
            params = node.params
        elif isinstance(node, (WrapClassNode,)) and not node.is_generator:
            fn = node.method  # unbound: one extra positional placeholder stands for `self`
            params = [None]
        elif isinstance(node, NodeSubclassAdapter) and not node.is_generator:
            fn = None
            params = None
        else:
            return
        injected = [s.name for s in node_slots.values() if s.injection and s.name not in _dep_slot_names(nspec)]
        kw = [d.slot for d in nspec.dependencies if isinstance(d.slot, str)] + injected
        npos = sum(1 for d in nspec.dependencies if not isinstance(d.slot, str))
        broken_depends = any(p.path.startswith(f"nodes.{node_id}.depends") for p in self.problems)
        if fn is not None and len(self.problems) == before and not broken_depends:
            self._bind(f"nodes.{node_id}.depends" if nspec.dependencies else f"nodes.{node_id}", fn, params,
                       what="depends and params", extra_kw=kw, extra_pos=npos, params_path=f"nodes.{node_id}.params")


    def _check_graph(self, nodes: dict[str, _Wrapped]) -> _Graph:
        """Cycles, found by the core on the graph of the nodes that resolved, spelled out by name."""
        ids = list(nodes)
        index = {k: i for i, k in enumerate(ids)}
        src, dst = [], []
        for node_id in ids:
            for dep in self.spec.nodes[node_id].dependencies:
                if dep.node in index:
                    src.append(index[dep.node])
                    dst.append(index[node_id])
        core = _core.active
        n = len(ids)
        indptr, indices = core.csr(n, src, dst)
        order, _, ok = core.toposort(n, indptr, indices)
        if not ok:
            cycle = [ids[i] for i in core.find_cycle(n, indptr, indices)]
            self.cycle = cycle
            self.problem(
                f"nodes.{cycle[0]}.depends",
                "the graph has a cycle: " + " -> ".join(cycle),
                "break the cycle; to carry state from one epoch to the next use a runner-scoped asset with `depends`",
            )
        return _Graph(ids, index, src, dst, indptr, indices, order)

    def _check_map_regions(self, nodes: dict[str, _Wrapped], graph: _Graph) -> None:
        """A node may be in the per-element region of several maps only if they nest."""
        ids = graph.ids
        dense = [nodes[k] for k in ids]
        if not any(isinstance(nd, MapNodeAdapter) for nd in dense):
            return
        succ: list[list[int]] = [[] for _ in ids]
        for a, b in zip(graph.src, graph.dst):
            succ[a].append(b)
        regions = map_regions(dense, [self.spec.nodes[k].dependencies for k in ids], graph.id_of, succ,
                              [int(x) for x in graph.order])
        for i, a, b in region_conflicts(regions):
            self.problem(
                f"nodes.{ids[i]}.depends",
                f"node {ids[i]!r} is downstream of two unrelated maps, {ids[a]!r} and {ids[b]!r}; its per-element epochs would be ambiguous",
                "gather one map's results before combining them with the other's",
            )

    def _check_assets(self, graph: _Graph, signals: dict[str, list[Signal]]) -> None:
        """The seed's CAUTION, checked: use after store, and unordered users of a shared asset.

        Linear in the graph per asset: one forward and one backward reachability sweep from
        the storing node, one forward sweep from the asset's direct users, and one pass in
        topological order for the race check (see ``_race_check``).

        - A node taking a runner asset directly that certainly runs after the node its
          ``depends`` stores it from (reachable from it) gets this epoch's stored value as if
          it were the next epoch's: an error (a ``RaceWarning`` where the original noob's rule
          let it through, see ``_original_accepts``). With no order between them (the
          original accepts it when the user is in an earlier topological generation) a
          ``RaceWarning``.
        - Nodes receiving a runner- or process-scoped asset (directly, or along the events
          from a direct user to the storing node) must be totally ordered, else the result
          depends on which runs first: a ``RaceWarning`` per adjacent unordered pair.
        """
        ids, index = graph.ids, graph.id_of
        n = len(ids)
        if not n or not self.spec.assets:
            return
        core = _core.active
        direct: dict[str, list[tuple[str, Dependency]]] = {}
        for node_id in ids:
            for dep in self.spec.nodes[node_id].dependencies:
                if dep.node == "assets":
                    direct.setdefault(dep.signal, []).append((node_id, dep))
        reverse: tuple[Any, Any] | None = None
        for asset_id, aspec in self.spec.assets.items():
            users = direct.get(asset_id)
            if not users:
                continue
            scope = AssetScope(aspec.scope)
            store = aspec.dependency
            s = index.get(store.node) if store is not None else None
            if s is not None and store is not None and store.signal not in {x.name for x in signals.get(store.node, ())}:
                s = None  # warned about in _check_dependencies: nothing is stored
            before = None
            if s is not None and store is not None:
                if reverse is None:
                    reverse = core.csr(n, graph.dst, graph.src)
                before = core.reachable(n, reverse[0], reverse[1], s)  # s and every node that reaches it
                after = core.reachable(n, graph.indptr, graph.indices, s)  # s and every node it reaches
                for node_id, dep in users:
                    i = index[node_id]
                    if before[i]:
                        continue
                    if after[i] and self._original_accepts(graph, s):
                        fix = (f"take the asset from the events of the node before it (e.g. `{dep.slot if isinstance(dep.slot, str) else 'slot'}: "
                               f"{store.source}`), or point `depends` at the last node that modifies the asset")
                        self.warn(RaceWarning(
                            f"{dep.path}: tube {self.spec.noob_id!r}: node {node_id!r} takes asset {asset_id!r} directly, but runs "
                            f"after node {store.node!r}, where `assets.{asset_id}.depends: {store.source}` stores the asset for "
                            f"the next epoch, so it receives the value stored in this epoch. The original noob accepted this "
                            f"only because {store.node!r} is alone in its topological generation; it is an error otherwise. "
                            f"Fix: {fix}.",
                            asset=asset_id, nodes=(node_id, store.node), path=dep.path,
                        ))
                    elif after[i]:
                        self.problem(
                            dep.path,
                            f"node {node_id!r} takes asset {asset_id!r} directly, but runs after node {store.node!r}, "
                            f"where `assets.{asset_id}.depends: {store.source}` stores the asset for the next epoch",
                            f"take the asset from the events of the node before it (e.g. `{dep.slot if isinstance(dep.slot, str) else 'slot'}: "
                            f"{store.source}`), or point `depends` at the last node that modifies the asset",
                        )
                    else:
                        self.warn(RaceWarning(
                            f"{dep.path}: tube {self.spec.noob_id!r}: node {node_id!r} takes asset {asset_id!r} directly with no "
                            f"order relative to node {store.node!r}, where `assets.{asset_id}.depends: {store.source}` stores "
                            f"it for the next epoch, so it may receive the value from before or after the store. Fix: make "
                            f"{store.node!r} depend on {node_id!r} (or {node_id!r} take the asset from {store.source!r}'s events).",
                            asset=asset_id, nodes=(node_id, store.node), path=dep.path,
                        ))
            if scope == AssetScope.node:
                continue
            first = sorted({index[nid] for nid, _ in users})
            receivers = first
            if before is not None:
                # nodes on a path from a direct user to the storing node carry the asset too
                carried = core.reachable(n, graph.indptr, graph.indices, first)
                receivers = sorted(set(first) | set(np.flatnonzero(carried & before).tolist()))
            paths = {index[nid]: dep.path for nid, dep in reversed(users)}
            for a, b in _race_check(graph, receivers):
                path = paths.get(b) or _carrier_path(self.spec.nodes[ids[b]], index, set(receivers))
                self.warn(RaceWarning(
                    f"{path}: tube {self.spec.noob_id!r}: nodes {ids[a]!r} and {ids[b]!r} both receive the {scope.value}-scoped "
                    f"asset {asset_id!r} with no order between them; if either modifies it in place, the result "
                    f"depends on which runs first. Fix: make one depend on the other (chain them), or give each "
                    f"its own node-scoped asset.",
                    asset=asset_id, nodes=(ids[a], ids[b]), path=path,
                ))

    def _original_accepts(self, graph: _Graph, s: int) -> bool:
        """The original noob's store-order rule misses users after store node ``s`` when ``s``
        is alone in its topological generation (its generations count the virtual ``input``
        and ``assets`` nodes, in generation 0). True in that case, so that such a tube, which
        the original runs, loads here with a warning instead of failing."""
        if self._generations is None:
            gen = [0] * len(graph.ids)
            preds: list[list[int]] = [[] for _ in graph.ids]
            for a, b in zip(graph.src, graph.dst):
                preds[b].append(a)
            for v in (int(x) for x in graph.order):
                has_deps = bool(self.spec.nodes[graph.ids[v]].dependencies)
                gen[v] = 1 + max((gen[u] for u in preds[v]), default=0) if has_deps else 0
            self._generations = gen
        gen = self._generations
        return gen[s] > 0 and gen.count(gen[s]) == 1

    # -- annotations
    def _check_annotations(self, nodes: dict[str, _Wrapped], signals: dict[str, list[Signal]],
                           slots: dict[str, dict[str, Slot]]) -> None:
        """Warn where a signal goes into a slot whose annotation it certainly cannot satisfy."""
        verdicts: dict[tuple[Any, Any], bool] = {}  # a 10 000-node chain has one pair of types
        for node_id, nspec in self.spec.nodes.items():
            node = nodes.get(node_id)
            if node is None or node_id not in slots or isinstance(node, (ReturnNode, MapNodeAdapter, TubeNodeAdapter)):
                continue
            if isinstance(node.obj, type) and issubclass(node.obj, Gather):
                continue
            node_slots = slots[node_id]
            positional: list[Slot] | None = None
            dep_pos = self._positions[node_id][0] if node_id in self._positions else [None] * len(nspec.dependencies)
            for dep, idx in zip(nspec.dependencies, dep_pos):
                if dep.node not in signals:
                    continue
                signal = None
                for candidate in signals[dep.node]:
                    if candidate.name == dep.signal:
                        signal = candidate
                        break
                if isinstance(dep.slot, str):
                    slot = node_slots.get(dep.slot)
                elif idx is None:
                    slot = None
                else:
                    if positional is None:
                        positional = [x for x in node_slots.values() if x.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
                    slot = positional[idx] if idx < len(positional) else None
                if signal is None or slot is None or slot.injection or slot.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD):
                    continue
                signal_type = signal.annotation
                if getattr(nodes.get(dep.node), "is_generator", False):
                    signal_type = _yielded(signal_type)  # a source emits what it yields
                key = (signal_type, slot.annotation)
                try:
                    bad = verdicts[key]
                except KeyError:
                    bad = verdicts[key] = _certainly_incompatible(*key)
                except TypeError:  # an unhashable annotation
                    bad = _certainly_incompatible(*key)
                if bad:
                    self.warn(AnnotationWarning(
                        f"{dep.path}: signal {dep.source!r} is annotated {_type_name(signal_type)}, but it goes "
                        f"into slot {slot.name!r} of node {node_id!r}, annotated {_type_name(slot.annotation)}; neither "
                        f"type is a subclass of the other. Fix: connect a signal of a fitting type, convert it in "
                        f"between, or correct the annotations.",
                        path=dep.path, node=node_id, slot=slot.name, source=dep.source,
                        signal_type=signal_type, slot_type=slot.annotation,
                    ))


class _Graph(NamedTuple):
    """The node graph the builder checks (dense ids of the nodes that resolved, spec order)."""

    ids: list[str]
    id_of: dict[str, int]
    src: list[int]
    dst: list[int]
    indptr: Any
    indices: Any
    order: Any


def _carrier_path(nspec: NodeSpecification, index: dict[str, int], receivers: set[int]) -> str:
    """The path of the first ``depends`` entry through which a node receives a carried asset."""
    for dep in nspec.dependencies:
        if index.get(dep.node, -1) in receivers:
            return dep.path
    return f"nodes.{nspec.id}.depends"


def _race_check(graph: _Graph, receivers: list[int]) -> list[tuple[int, int]]:
    """Adjacent unordered pairs of ``receivers`` in execution order; ``[]`` if totally ordered.

    Sorted by position in the topological order, the receivers are totally ordered exactly
    when each one reaches the next. One pass in topological order finds, for every node, the
    latest receiver (by position) that reaches it; receiver ``b`` is reached by its
    predecessor ``a`` in the sorted list iff that is ``a``. O(n + m), where checking every pair
    would be O(r^2) reachability queries.
    """
    if len(receivers) < 2:
        return []
    order = [int(x) for x in graph.order]
    position = [0] * len(order)
    for k, v in enumerate(order):
        position[v] = k
    is_receiver = bytearray(len(order))
    for r in receivers:
        is_receiver[r] = 1
    indptr = graph.indptr.tolist()
    indices = graph.indices.tolist()
    latest = [-1] * len(order)  # position of the latest receiver reaching a node, itself excluded
    for v in order:
        carry = position[v] if is_receiver[v] else latest[v]
        if carry < 0:
            continue
        for k in range(indptr[v], indptr[v + 1]):
            w = indices[k]
            if latest[w] < carry:
                latest[w] = carry
    ranked = sorted(receivers, key=position.__getitem__)
    return [(a, b) for a, b in zip(ranked, ranked[1:]) if latest[b] != position[a]]


_NUMBER = numbers.Number


def _plain(annotation: Any) -> Any:
    """``Annotated[T, ...]`` -> ``T``; ``list[int]`` -> ``list``; anything else unchanged."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is not None and isinstance(origin, type):
        return origin
    return annotation


_YIELDING = (collections.abc.Generator, collections.abc.Iterator, collections.abc.Iterable,
             collections.abc.AsyncGenerator, collections.abc.AsyncIterator, collections.abc.AsyncIterable)


def _yielded(annotation: Any) -> Any:
    """What a generator annotated ``annotation`` yields: ``Generator[int, None, None]``,
    ``Iterator[int]``, ``AsyncGenerator[int, None]``, ``Annotated[Iterator[int], ...]`` -> ``int``
    (``Annotated`` kept around the yielded type); anything else unchanged."""
    inner = annotation
    while typing.get_origin(inner) is typing.Annotated:
        inner = typing.get_args(inner)[0]
    if typing.get_origin(inner) in _YIELDING:
        args = typing.get_args(inner)
        return args[0] if args else Any
    return annotation


def _union_members(annotation: Any) -> tuple | None:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def _certainly_incompatible(signal: Any, slot: Any) -> bool:
    """True only when both annotations are concrete classes that cannot match: neither a
    subclass of the other, not both numbers. Any, unannotated, strings (unresolved forward
    references), type variables, protocols, ``Literal`` and other special forms never are;
    a union is incompatible only if every member is."""
    for side in (signal, slot):
        members = _union_members(side)
        if members is not None:
            if side is signal:
                return all(_certainly_incompatible(m, slot) for m in members)
            return all(_certainly_incompatible(signal, m) for m in members)
    a, b = _plain(signal), _plain(slot)
    if not (isinstance(a, type) and isinstance(b, type)) or any(x in (object, Any) for x in (a, b)):
        return False
    if a is type(None) or b is type(None):
        return False  # None as a signal type usually means "not annotated" (a -> None function)
    if getattr(a, "_is_protocol", False) or getattr(b, "_is_protocol", False):
        return False
    try:
        if issubclass(a, b) or issubclass(b, a):
            return False
        if issubclass(a, _NUMBER) and issubclass(b, _NUMBER):
            return False  # int into float, numpy scalars into int: numeric promotion
    except TypeError:
        return False
    return True


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def _dep_slot_names(nspec: NodeSpecification) -> set[str]:
    return {d.slot for d in nspec.dependencies if isinstance(d.slot, str)}


def _callable_name(fn: Any) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__qualname__", None) or repr(fn)
