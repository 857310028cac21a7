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
import functools
import importlib
import inspect
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from noob import _core
from noob.asset import Asset, AssetScope
from noob.exceptions import (
    CycleError,
    ExtraInputWarning,
    InputMissingError,
    Problem,
    RaceWarning,
    SchedulerExhaustedError,
    SpecError,
)
from noob.node import Node, Signal, Slot, signals_of, signature, slots_of
from noob.spec import (
    AssetSpecification,
    Dependency,
    InputScope,
    InputSpecification,
    NodeSpecification,
    TubeSpecification,
    _locate,
)
from noob.types import Epoch, MetaSignal, RunnerContext

__all__ = ["AssetRuntime", "InputCollection", "Tube", "WrapClassNode", "WrapFuncNode", "resolve_python_identifier"]

INPUT_PATTERN = re.compile(r"input\.(?P<key>.+)")
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
    import difflib

    found = difflib.get_close_matches(word, list(options), n=3)
    return ", ".join(repr(f) for f in found)


def _quoted(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(repr(n) for n in names) if names else "none"


# --------------------------------------------------------------------------- nodes


def _is_async_callable(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def _marked(cls: type, marker: str) -> list[Callable]:
    return [f for _, f in inspect.getmembers(cls, inspect.isfunction) if getattr(f, marker, False)]


def _process_method(cls: type) -> Callable:
    marked = _marked(cls, "__is_process_method__")
    if len(marked) > 1:
        raise TypeError(f"class {cls.__qualname__} has {len(marked)} @process_method methods; only one is allowed")
    if marked:
        return marked[0]
    proc = getattr(cls, "process", None)
    if callable(proc):
        return proc
    nxt = getattr(cls, "__next__", None)
    if callable(nxt):
        return nxt  # an iterator class (``itertools.count``) is a source
    raise TypeError(f"class {cls.__qualname__} has no 'process' method; add one or decorate a method with @process_method")


def _hook_method(cls: type, marker: str, name: str) -> Callable | None:
    marked = _marked(cls, marker)
    if marked:
        return marked[0]
    fn = getattr(cls, name, None)
    return fn if callable(fn) else None


class _Wrapped(Node):
    """Common base of the adapters that present what a tube names as nodes to the runners.

    The interface runners use: ``signal_list()`` / ``slot_list()`` (what the node emits and
    takes), ``init_hooks()`` (set the node up for a runner; return callables the runner calls,
    with a ``RunnerContext`` if they ask for one, awaited if async), ``target()`` (the callable
    the core invokes each epoch), ``deinit_hooks()`` then ``release()`` (tear down).
    """

    obj: Any

    def __init__(self, id: str, obj: Any, spec: Any = None, params: Any = None, enabled: bool = True, stateful: bool | None = None):
        self.id = id
        self.obj = obj
        self.spec = spec
        self.params = params if params is not None else {}
        self.enabled = enabled
        if stateful is not None:
            self.stateful = stateful

    def signal_list(self) -> list[Signal]:
        raise NotImplementedError

    def slot_list(self) -> list[Slot]:
        raise NotImplementedError

    def param_signature(self) -> Callable | None:
        """The callable ``params`` are checked against at load time (``None``: not checkable)."""
        return None

    def init_hooks(self) -> list[Callable]:
        """Prepare for a runner; return the user's own init hooks for the runner to call."""
        return []

    def deinit_hooks(self) -> list[Callable]:
        """The user's own deinit hooks, called by the runner before ``release()``."""
        return []

    def release(self) -> None:
        """Drop what ``init_hooks`` created."""

    def target(self) -> Callable:
        """The callable the core invokes each epoch (valid between ``init_hooks`` and ``release``)."""
        raise NotImplementedError

    #: True if ``target()`` returns a generator's ``__next__`` (a source)
    is_generator: bool = False
    #: True if ``target()`` returns coroutines the runner must await
    is_async: bool = False
    #: True if the node's ``params`` are passed on every call (functions) rather than once
    params_per_call: bool = False


class WrapFuncNode(_Wrapped):
    """A plain function (or builtin, partial, callable object) used as a node.

    Its ``params`` are passed on every call. A generator function is a source: the generator
    is created with the params when the runner starts and discarded when it stops, so a
    stop/start cycle restarts it.
    """

    stateful = False

    def __init__(self, id: str, obj: Any, **kwargs: Any):
        self.is_generator = inspect.isgeneratorfunction(obj)
        if inspect.isasyncgenfunction(obj):
            raise TypeError(f"async generator functions cannot be nodes yet ({obj!r}); use a generator or a class")
        if self.is_generator and kwargs.get("stateful") is None:
            kwargs["stateful"] = True
        super().__init__(id, obj, **kwargs)
        self.is_async = _is_async_callable(obj)
        self.params_per_call = not self.is_generator
        self._gen = None

    def signal_list(self) -> list[Signal]:
        return signals_of(self.obj)

    def slot_list(self) -> list[Slot]:
        return [] if self.is_generator else slots_of(self.obj)

    def param_signature(self) -> Callable | None:
        return self.obj

    def init_hooks(self) -> list[Callable]:
        if self.is_generator:
            self._gen = _call_with_params(self.obj, self.params)
        return []

    def release(self) -> None:
        self._gen = None

    def target(self) -> Callable:
        if self.is_generator:
            if self._gen is None:
                self.init_hooks()
            gen: Any = self._gen
            return gen.__next__
        return self.obj


class WrapClassNode(_Wrapped):
    """A plain class used as a node: instantiated with ``params`` when the runner starts.

    The method marked ``@process_method`` (or named ``process``) is called each epoch; methods
    marked ``@init_method`` / ``@deinit_method`` (or named ``init`` / ``deinit``) run when the
    runner starts and stops. A generator process method makes the node a source.
    """

    stateful = True

    def __init__(self, id: str, obj: type, **kwargs: Any):
        super().__init__(id, obj, **kwargs)
        self.method = _process_method(obj)
        self.is_iterator = self.method is getattr(obj, "__next__", None)
        self.is_generator = self.is_iterator or inspect.isgeneratorfunction(self.method)
        self.is_async = inspect.iscoroutinefunction(self.method)
        self._init_hook = _hook_method(obj, "__is_init_method__", "init")
        self._deinit_hook = _hook_method(obj, "__is_deinit_method__", "deinit")
        self.instance: Any = None
        self._target: Callable | None = None

    def signal_list(self) -> list[Signal]:
        return [Signal("value")] if self.is_iterator else signals_of(self.method)

    def slot_list(self) -> list[Slot]:
        return [] if self.is_generator else slots_of(self.method, skip_self=True)

    def param_signature(self) -> Callable | None:
        return self.obj

    def init_hooks(self) -> list[Callable]:
        """Create the instance; return the class's own init hook bound to it (if any)."""
        self.instance = _call_with_params(self.obj, self.params)
        if self.is_iterator:
            self._target = self.instance.__next__
        else:
            bound = self.method.__get__(self.instance, self.obj)
            self._target = bound().__next__ if self.is_generator else bound
        return [self._init_hook.__get__(self.instance, self.obj)] if self._init_hook else []

    def deinit_hooks(self) -> list[Callable]:
        """Hooks to call on stop; the instance is dropped afterwards by ``release``."""
        if self.instance is None or self._deinit_hook is None:
            return []
        return [self._deinit_hook.__get__(self.instance, self.obj)]

    def release(self) -> None:
        self.instance = None
        self._target = None

    def target(self) -> Callable:
        if self._target is None:
            raise RuntimeError(f"node {self.id!r} is not initialised; call runner.init() first")
        return self._target


class NodeSubclassAdapter(_Wrapped):
    """A user ``Node`` subclass: instantiated once per tube with its params as fields."""

    def __init__(self, id: str, obj: type[Node], **kwargs: Any):
        super().__init__(id, obj, **kwargs)
        self.instance: Node | None = None
        self.is_generator = inspect.isgeneratorfunction(obj.process)
        self.is_async = inspect.iscoroutinefunction(obj.process)
        stateful = kwargs.get("stateful")
        self.stateful = bool(obj.stateful if stateful is None else stateful)
        self._target: Callable | None = None

    def build(self) -> Node:
        params = self.params if isinstance(self.params, Mapping) else {}
        self.instance = self.obj(id=self.id, spec=self.spec, enabled=self.enabled, **params)
        return self.instance

    def signal_list(self) -> list[Signal]:
        return list(self.obj.get_signals(self.spec))

    def slot_list(self) -> list[Slot]:
        return [] if self.is_generator else list(self.obj.get_slots(self.spec))

    def init_hooks(self) -> list[Callable]:
        inst = self.instance if self.instance is not None else self.build()
        self._target = inst.process().__next__ if self.is_generator else inst.process
        return [inst.init]

    def deinit_hooks(self) -> list[Callable]:
        return [self.instance.deinit] if self.instance is not None else []

    def release(self) -> None:
        self._target = None

    def target(self) -> Callable:
        if self._target is None:
            raise RuntimeError(f"node {self.id!r} is not initialised; call runner.init() first")
        return self._target


class TubeNodeAdapter(_Wrapped):
    """A ``type: tube`` node: another tube run as one node.

    ``params.tube`` names the child (a ``noob_id`` or a path, relative paths resolved against
    the parent's file); other params become the child's tube-scoped inputs. The child's
    process-scoped inputs are this node's slots; its return node's values are this node's
    signals (one per key of a dict-form return, else ``value``). A child epoch that returns
    nothing emits no event; a child whose sources ran out makes this node exhausted. The
    child's runner is started and stopped with the parent's.
    """

    stateful = True

    def __init__(self, id: str, child: Tube, **kwargs: Any):
        super().__init__(id, None, **kwargs)
        self.child = child
        ret = child.spec.return_node
        deps = ret.dependencies if ret is not None else []
        keys = [d.slot for d in deps if isinstance(d.slot, str)]
        #: the child's dict-form return keys, which become this node's signals (else `value`)
        self.keys: list[str] | None = keys if deps and len(keys) == len(deps) else None
        self.runner: Any = None
        self._target: Callable | None = None

    def signal_list(self) -> list[Signal]:
        return [Signal(k) for k in self.keys] if self.keys else [Signal("value")]

    def slot_list(self) -> list[Slot]:
        return [
            Slot(k, required=s.required and not s.has_default, kind=_P.KEYWORD_ONLY)
            for k, s in self.child.input_collection.specs.items()
            if InputScope(s.scope) == InputScope.process
        ]

    def init_hooks(self) -> list[Callable]:
        def start(context: RunnerContext) -> None:
            from noob.runner.sync import SynchronousRunner

            parent = context["runner"]
            self.runner = SynchronousRunner(self.child, core=getattr(parent.core, "IMPLEMENTATION", None))
            self.runner.init()

        start.__annotations__ = {"context": RunnerContext}
        self._target = self._call
        return [start]

    def _call(self, **inputs: Any) -> Any:
        try:
            result = self.runner.process(**inputs)
        except SchedulerExhaustedError:
            return MetaSignal.Exhausted
        if result is None and self.runner._exhausted:
            return MetaSignal.Exhausted if self.runner._return_slot is None else MetaSignal.NoEvent
        if self.keys is None:
            return MetaSignal.NoEvent if result is None else result
        if result is None:
            return MetaSignal.NoEvent
        return tuple(result.get(k, MetaSignal.NoEvent) for k in self.keys)

    def deinit_hooks(self) -> list[Callable]:
        return [self.runner.deinit] if self.runner is not None else []

    def release(self) -> None:
        self.runner = None
        self._target = None

    def target(self) -> Callable:
        if self._target is None:
            raise RuntimeError(f"node {self.id!r} is not initialised; call runner.init() first")
        return self._target


class MapNodeAdapter(_Wrapped):
    """A ``type: map`` node: spreads one iterable event into one sub-epoch per element.

    Signals: ``value`` (each element, in its own sub-epoch) and ``n`` (how many, in the
    parent epoch). The nodes downstream of ``value`` run once per element, up to the
    ``gather`` that collects them back (``depends: [{value: ...}, {n: <map>.n}]``). The
    runner supplies the callable that drives the per-element runs (see ``Plan.region_order``).
    """

    stateful = False

    def __init__(self, id: str, **kwargs: Any):
        super().__init__(id, None, **kwargs)
        self._target: Callable | None = None

    def signal_list(self) -> list[Signal]:
        return [Signal("value"), Signal("n", int)]

    def slot_list(self) -> list[Slot]:
        return [Slot("value")]

    def target(self) -> Callable:
        if self._target is None:
            raise RuntimeError(f"map node {self.id!r} is not initialised; call runner.init() first")
        return self._target


class ReturnNode(_Wrapped):
    """The ``return`` node: packs its inputs into what ``process()`` returns.

    Shapes, as in the original: ``depends: a.x`` → the value; ``[a.x, b.y]`` → a tuple;
    ``[{k: a.x}]`` → a dict (keys whose signal did not fire are left out; no key at all →
    ``None``); both → ``(tuple, dict)``.
    """

    stateful = False

    def __init__(self, id: str, spec: NodeSpecification, **kwargs: Any):
        super().__init__(id, None, spec=spec, **kwargs)
        deps = spec.dependencies
        self.scalar = isinstance(spec.depends, str)
        self.has_pos = any(not isinstance(d.slot, str) for d in deps)
        self.has_kw = any(isinstance(d.slot, str) for d in deps)

    def signal_list(self) -> list[Signal]:
        return [Signal("value")]

    def slot_list(self) -> list[Slot]:
        return [Slot(d.slot, required=False, kind=_P.KEYWORD_ONLY) for d in self.spec.dependencies if isinstance(d.slot, str)] + [
            Slot("args", kind=_P.VAR_POSITIONAL, required=False)
        ]

    def target(self) -> Callable:
        if self.scalar:
            return _ret_scalar
        if self.has_pos and self.has_kw:
            return _ret_both
        if self.has_kw:
            return _ret_kw
        return _ret_pos


def _ret_scalar(x: Any) -> Any:
    return x


def _ret_pos(*args: Any) -> tuple:
    return args


def _ret_kw(**kwargs: Any) -> dict | None:
    return kwargs or None


def _ret_both(*args: Any, **kwargs: Any) -> tuple:
    return (args, kwargs)


def _call_with_params(fn: Callable, params: Any) -> Any:
    if isinstance(params, (list, tuple)):
        return fn(*params)
    return fn(**(params or {}))


# --------------------------------------------------------------------------- assets


class AssetRuntime:
    """An asset of the tube: how to create and close its object.

    ``create()`` returns the object nodes receive: an ``Asset`` subclass's ``obj`` after its
    ``init``; a class instance; a function's result, entered if it is a context manager.
    ``close(exc)`` undoes it (``deinit`` / ``__exit__``). ``create`` and ``close`` are always
    paired by the runner. Async ``init``/``deinit`` and async context managers are awaited
    through ``run_async`` (supplied by the runner).
    """

    def __init__(self, spec: AssetSpecification, obj: Any, params: Any):
        self.id = spec.id
        self.spec = spec
        self.scope = AssetScope(spec.scope)
        self.obj = obj
        self.params = params
        self._handle: Any = None
        self._kind = "asset" if isinstance(obj, type) and issubclass(obj, Asset) else ("class" if isinstance(obj, type) else "func")

    def param_signature(self) -> Callable | None:
        return None if self._kind == "asset" else self.obj

    def create(self, run_async: Callable[[Any], Any]) -> Any:
        if self._kind == "asset":
            params = self.params if isinstance(self.params, Mapping) else {}
            inst = self.obj(id=self.id, spec=self.spec, scope=self.scope, depends=self.spec.depends, **params)
            result = inst.init()
            if inspect.isawaitable(result):
                run_async(result)
            handle, value = ("asset", inst), inst.obj
        elif self._kind == "class":
            value = _call_with_params(self.obj, self.params)
            handle = None
        else:
            value = _call_with_params(self.obj, self.params)
            if inspect.isawaitable(value):
                value = run_async(value)
            if isinstance(value, contextlib.AbstractContextManager):
                cm = value
                value = cm.__enter__()
                handle = ("cm", cm)
            elif isinstance(value, contextlib.AbstractAsyncContextManager):
                acm = value
                value = run_async(acm.__aenter__())
                handle = ("acm", acm)
            else:
                handle = None
        self._handle = handle
        return value

    def close(self, run_async: Callable[[Any], Any], exc: BaseException | None = None) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        kind, thing = handle
        if kind == "asset":
            result = thing.deinit()
            if inspect.isawaitable(result):
                run_async(result)
        elif kind == "cm":
            thing.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
        elif kind == "acm":
            run_async(thing.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None))


# --------------------------------------------------------------------------- inputs


class InputCollection:
    """The tube's declared inputs and the tube-scoped values given to it.

    ``get(key, process_input)`` looks a key up in the process call's input, then the tube's
    input, then declared defaults. Tube-scoped inputs can be overridden per ``process()``
    call (the original's documentation says so; its code drops them).
    """

    def __init__(self, specs: Mapping[str, InputSpecification], tube_input: Mapping[str, Any] | None = None):
        self.specs = dict(specs)
        self.tube_input: dict[str, Any] = {}
        self.by_scope = {
            scope: {k: s for k, s in self.specs.items() if InputScope(s.scope) == scope} for scope in InputScope
        }
        self.add_tube_input(tube_input or {})

    def add_tube_input(self, given: Mapping[str, Any]) -> None:
        tube_specs = self.by_scope[InputScope.tube]
        extra = {k: v for k, v in given.items() if k not in tube_specs}
        if extra:
            warnings.warn(
                ExtraInputWarning(
                    f"Ignoring extra input without a specification provided to scope `tube`: {extra!r} "
                    f"(tube inputs: {_quoted(tube_specs)})"
                ),
                stacklevel=4,
            )
        self.tube_input.update({k: v for k, v in given.items() if k in tube_specs})
        for key, spec in tube_specs.items():
            if spec.required and key not in self.tube_input and not spec.has_default:
                raise InputMissingError(
                    f"required tube-scoped input {key!r} was not given; pass it as "
                    f"Tube.from_specification(..., input={{{key!r}: ...}})",
                    input=key,
                    scope="tube",
                )

    def get(self, key: str, process_input: Mapping[str, Any] | None = None) -> Any:
        if process_input and key in process_input:
            return process_input[key]
        if key in self.tube_input:
            return self.tube_input[key]
        spec = self.specs[key]
        if spec.has_default or not spec.required:
            return spec.default
        raise InputMissingError(
            f"input {key!r} ({spec.scope} scope) was not given and has no default", input=key, scope=str(spec.scope)
        )

    def resolve_params(self, params: Any) -> Any:
        """``params`` with every ``input.<key>`` string replaced by the tube-scoped value (a copy)."""
        if isinstance(params, Mapping):
            return {k: self._resolve_value(v) for k, v in params.items()}
        if isinstance(params, (list, tuple)):
            return [self._resolve_value(v) for v in params]
        return params

    def _resolve_value(self, value: Any) -> Any:
        if isinstance(value, str):
            m = INPUT_PATTERN.fullmatch(value)
            if m and m.group("key") in self.specs:
                key = m.group("key")
                if InputScope(self.specs[key].scope) == InputScope.process:
                    raise InputMissingError(
                        f"params use process-scoped input {key!r}, which only exists during process(); "
                        "use it in `depends` instead, or make it tube-scoped",
                        input=key,
                        scope="process",
                    )
                return self.get(key)
        return value


# --------------------------------------------------------------------------- Tube

_LOADING: list[str] = []  # sources of the tubes being built, to catch a tube nesting itself


class Tube:
    """A tube: its specification, its nodes and assets resolved, its graph checked.

    Build one with ``Tube.from_specification(source, input=None)`` where ``source`` is a
    path, a dict, a ``TubeSpecification`` or a ``noob_id``. Every problem found (in the
    file, in the code it names, in the graph) is raised at once as a ``SpecError``.
    """

    def __init__(self, tube_id: str, spec: TubeSpecification, nodes: dict[str, _Wrapped], assets: dict[str, AssetRuntime],
                 input_collection: InputCollection):
        self.tube_id = tube_id
        self.spec = spec
        self.nodes = nodes
        self.assets = assets
        self.input_collection = input_collection
        self.input = dict(input_collection.tube_input)
        #: node id -> list of its signals / slots
        self.signals: dict[str, list[Signal]] = {}
        self.slots: dict[str, dict[str, Slot]] = {}
        self._plans: dict[str, Any] = {}

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
        self.nodes[node_id].enabled = True

    def disable_node(self, node_id: str) -> None:
        self.nodes[node_id].enabled = False

    def plan(self, core: str | None = None) -> Any:
        """The compiled plan of this tube for the given core (``"compiled"``/``"python"``; default: active)."""
        from noob.plan import Plan

        key = core or _core.IMPLEMENTATION
        if key not in self._plans:
            self._plans[key] = Plan(self, _core.get(key) if core else _core.active)
        return self._plans[key]

    def __repr__(self) -> str:
        return f"<Tube {self.tube_id!r}: {len(self.nodes)} nodes, {len(self.assets)} assets>"


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
            from noob.special import Gather

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




def run_coroutine_blocking(coro: Any, loop_holder: list) -> Any:
    """Run ``coro`` to completion from synchronous code, even inside a running event loop.

    Outside a loop, a private loop (kept in ``loop_holder[0]``, reused across calls so
    loop-bound objects survive) runs it. Inside a running loop (a sync runner called from
    async code), the coroutine runs on a helper thread's loop and this thread waits for it.
    """
    import asyncio  # only tubes with async code pay for importing asyncio

    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if not running:
        loop = loop_holder[0] if loop_holder and loop_holder[0] is not None else None
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            if loop_holder:
                loop_holder[0] = loop
            else:
                loop_holder.append(loop)
        return loop.run_until_complete(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def ensure_epoch(value: Any) -> Epoch:
    return value if isinstance(value, Epoch) else Epoch(int(value))
