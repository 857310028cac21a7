"""Tubes: a specification checked against the code it names, ready to be planned and run.

Owns: resolving ``type`` paths to Python objects, wrapping them as nodes and assets
(``WrapFuncNode``, ``WrapClassNode``, ``AssetRuntime``), reading their signals and slots,
binding ``depends`` and ``params`` to signatures, the graph checks (cycles, the asset race
check) and collecting every problem into one ``SpecError``.
Must not: run anything per epoch (that is ``noob.runner``) or lay out tables (``noob.plan``).
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import functools
import importlib
import inspect
import os
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from noob import _core
from noob.asset import Asset, AssetRuntime, AssetScope
from noob.exceptions import CycleError, InputMissingError, Problem, RaceWarning, SpecError
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
from noob.plan import Plan
from noob.spec import (
    AssetSpecification,
    Dependency,
    InputScope,
    NodeSpecification,
    TubeSpecification,
    _locate,
)

__all__ = ["Tube", "resolve_python_identifier"]

_P = inspect.Parameter


# --------------------------------------------------------------------------- type resolution

_resolve_cache: dict[str, Any] = {}


def resolve_python_identifier(path: str) -> Any:
    """Import ``pkg.mod.Obj`` (or a builtin name) and return the object.

    Raises ``ImportError`` / ``AttributeError`` with a message that says which part failed.
    """
    try:
        return _resolve_cache[path]
    except KeyError:
        pass
    if "." not in path:
        if hasattr(builtins, path):
            obj = getattr(builtins, path)
        else:
            raise AttributeError(f"{path!r} is not a builtin; give an absolute path like 'package.module.{path}'")
    else:
        module_name, attr = path.rsplit(".", 1)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ImportError(f"cannot import module {module_name!r} ({exc})") from exc
        try:
            obj = getattr(module, attr)
        except AttributeError:
            public = sorted(n for n in vars(module) if not n.startswith("_"))
            hint = _close_matches(attr, public)
            raise AttributeError(
                f"module {module_name!r} has no attribute {attr!r}" + (f" (did you mean {hint}?)" if hint else "")
            ) from None
    _resolve_cache[path] = obj
    return obj


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

    def in_edges(self, node: str | Node) -> list[Dependency]:
        node_id = node if isinstance(node, str) else node.id
        return list(self.spec.nodes[node_id].dependencies)

    def out_edges(self, node: str | Node) -> list[tuple[str, Dependency]]:
        node_id = node if isinstance(node, str) else node.id
        return [(t, d) for t, s in self.spec.nodes.items() for d in s.dependencies if d.node == node_id]

    def enable_node(self, node_id: str) -> None:
        """Enable ``node_id`` in the definition: runners made afterwards start with it enabled.

        A runner that exists already keeps its own flags; use ``runner.enable_node`` for it.
        """
        self._definition(node_id).enabled = True

    def disable_node(self, node_id: str) -> None:
        """Disable ``node_id`` in the definition, for runners made afterwards (see ``enable_node``)."""
        self._definition(node_id).enabled = False

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

    def problem(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(path, message, fix))

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
        if not self.problems:
            self._check_graph(nodes)
        if not self.problems:
            self._check_assets(nodes)
        if self.problems:
            if self.cycle:
                raise CycleError(self.problems, self.cycle, tube=name, source=spec.source)
            raise SpecError(self.problems, tube=name, source=spec.source)
        tube = Tube(spec.noob_id or name or "tube", spec, nodes, assets, inputs)
        tube.signals = signals
        tube.slots = slots
        if any(isinstance(n, MapNodeAdapter) for n in nodes.values()):
            tube.plan()  # map regions are checked when planned: report problems at load time
        return tube

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
                self.problem(f"{path}.enabled", str(exc))
                enabled = True
        try:
            params = inputs.resolve_params(nspec.params)
        except InputMissingError as exc:
            self.problem(f"{path}.params", str(exc), "pass the input to Tube.from_specification(..., input=...)")
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
                self.problem(f"{path}.type", f"cannot resolve {nspec.type!r}: {exc}", "check the spelling and that the package is installed")
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
        try:
            source = _locate(params["tube"], base)
        except Exception as exc:
            self.problem(f"{path}.tube", f"cannot find child tube {params['tube']!r}: {exc}", "give an existing noob_id or a path")
            return None
        key = str(source)
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
            unknown = sorted(set(given) - set(fields))
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
            self.problem(path, f"{what} do not fit {_callable_name(fn)}{sig}: {exc}", f"it accepts {_quoted(accepted)}")

    # -- assets
    def _asset(self, asset_id: str, aspec: AssetSpecification, inputs: InputCollection) -> AssetRuntime | None:
        path = f"assets.{asset_id}"
        if aspec.type is None:
            return None
        try:
            obj = resolve_python_identifier(aspec.type)
        except (ImportError, AttributeError) as exc:
            self.problem(f"{path}.type", f"cannot resolve {aspec.type!r}: {exc}", "check the spelling and that the package is installed")
            return None
        try:
            params = inputs.resolve_params(aspec.params)
        except InputMissingError as exc:
            self.problem(f"{path}.params", str(exc))
            params = aspec.params
        runtime = AssetRuntime(aspec, obj, params)
        if isinstance(obj, type) and issubclass(obj, Asset):
            fields = obj.param_fields()
            given = params if isinstance(params, Mapping) else {}
            for key in sorted(set(given) - set(fields)):
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
                self.problem(dep.path, f"{dep.source!r}: node {dep.node!r} has no signal {dep.signal!r} (signals: {_quoted(names)})",
                             "point `depends` at the signal that emits the modified asset")

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


    def _check_graph(self, nodes: dict[str, _Wrapped]) -> None:
        """Cycles, found by the core on the node graph and spelled out by name."""
        ids = list(nodes)
        index = {k: i for i, k in enumerate(ids)}
        src, dst = [], []
        for node_id in ids:
            for dep in self.spec.nodes[node_id].dependencies:
                if dep.node in index:
                    src.append(index[dep.node])
                    dst.append(index[node_id])
        core = _core.active
        indptr, indices = core.csr(len(ids), src, dst)
        _, _, ok = core.toposort(len(ids), indptr, indices)
        if not ok:
            cycle = [ids[i] for i in core.find_cycle(len(ids), indptr, indices)]
            self.cycle = cycle
            self.problem(
                f"nodes.{cycle[0]}.depends",
                "the graph has a cycle: " + " -> ".join(cycle),
                "break the cycle; to carry state from one epoch to the next use a runner-scoped asset with `depends`",
            )
        self._graph = (ids, index, indptr, indices)


    def _check_assets(self, nodes: dict[str, _Wrapped]) -> None:
        """The seed's CAUTION, checked: unordered mutation of a shared asset, and use after store."""
        ids, index, indptr, indices = self._graph
        core = _core.active
        n = len(ids)
        reach_cache: dict[int, Any] = {}

        def reach(i: int) -> Any:
            if i not in reach_cache:
                reach_cache[i] = core.reachable(n, indptr, indices, i)
            return reach_cache[i]

        def ordered(a: int, b: int) -> bool:
            return bool(reach(a)[b] or reach(b)[a])

        for asset_id, aspec in self.spec.assets.items():
            direct = [
                (node_id, dep) for node_id, ns in self.spec.nodes.items() if node_id in index
                for dep in ns.dependencies if dep.node == "assets" and dep.signal == asset_id
            ]
            if not direct:
                continue
            scope = AssetScope(aspec.scope)
            store = aspec.dependency
            if store is not None and store.node in index:
                s = index[store.node]
                for node_id, dep in direct:
                    i = index[node_id]
                    if i != s and not reach(i)[s]:
                        when = "after" if reach(s)[i] else "possibly after (no order between them)"
                        self.problem(
                            dep.path,
                            f"node {node_id!r} takes asset {asset_id!r} directly, but runs {when} node {store.node!r}, "
                            f"where `assets.{asset_id}.depends: {store.source}` stores the asset for the next epoch",
                            f"take the asset from the events of the node before it (e.g. `{dep.slot if isinstance(dep.slot, str) else 'slot'}: "
                            f"{store.source}`), or point `depends` at the last node that modifies the asset",
                        )
            if scope == AssetScope.node:
                continue
            receivers = sorted({index[nid] for nid, _ in direct})
            if store is not None and store.node in index:
                s = index[store.node]
                # nodes on a path from a direct consumer to the storing node carry the asset too
                between = [j for j in range(n) if reach(j)[s] and any(reach(r)[j] for r in receivers)]
                receivers = sorted(set(receivers) | set(between))
            for x in range(len(receivers)):
                for y in range(x + 1, len(receivers)):
                    a, b = receivers[x], receivers[y]
                    if not ordered(a, b):
                        warnings.warn(
                            RaceWarning(
                                f"tube {self.spec.noob_id!r}: nodes {ids[a]!r} and {ids[b]!r} both receive the {scope.value}-scoped "
                                f"asset {asset_id!r} with no order between them; if either modifies it in place, the result "
                                f"depends on which runs first. Fix: make one depend on the other (chain them), or give each "
                                f"its own node-scoped asset.",
                                asset=asset_id,
                                nodes=(ids[a], ids[b]),
                            ),
                            stacklevel=5,
                        )


def _dep_slot_names(nspec: NodeSpecification) -> set[str]:
    return {d.slot for d in nspec.dependencies if isinstance(d.slot, str)}


def _callable_name(fn: Any) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__qualname__", None) or repr(fn)
