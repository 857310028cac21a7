"""Node adapters: what a tube names (a function, a class, a ``Node`` subclass, a child tube,
``map``, ``return``) presented to the runners through one interface.

Owns: reading signals and slots of each kind of node, and the per-kind lifecycle
(``init_hooks`` / ``target`` / ``deinit_hooks`` / ``release``).
Must not: import ``noob.tube``, ``noob.plan`` or ``noob.runner``.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from noob.exceptions import SchedulerExhaustedError
from noob.node.base import Node, Signal, Slot, as_list, signals_of, slots_of
from noob.node.gather import Gather
from noob.spec import InputScope, NodeSpecification
from noob.types import MetaSignal, RunnerContext
from noob.utils import call_with_params, iscoroutinefunction_partial, resolve_python_identifier

if TYPE_CHECKING:  # annotations only: noob.tube imports this module
    from noob.tube import Tube

__all__ = [
    "MapNodeAdapter",
    "NodeSubclassAdapter",
    "ReturnNode",
    "TubeNodeAdapter",
    "WrapClassNode",
    "WrapFuncNode",
    "node_from_specification",
]

_P = inspect.Parameter

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

    def instantiate(self) -> _Wrapped:
        """A fresh, uninitialised copy of this node for one runner to own.

        The ``Tube`` keeps the definition; everything a runner sets up (instances, generators,
        child runners, bound targets) lives on the copy, so runners never share state.
        """
        live = copy.copy(self)
        live._reset()
        return live

    def _reset(self) -> None:
        """Forget runtime state (subclasses with state override this)."""

    def signal_list(self) -> list[Signal]:
        raise NotImplementedError

    def slot_list(self) -> list[Slot]:
        raise NotImplementedError

    # -- the original's Node interface, for code that uses a node by hand (not through a runner)
    @property
    def signals(self) -> dict[str, Signal]:  # type: ignore[override]
        """This node's signals by name."""
        return {s.name: s for s in self.signal_list()}

    @property
    def slots(self) -> dict[str, Slot]:  # type: ignore[override]
        """This node's slots by name."""
        return {s.name: s for s in self.slot_list()}

    def init(self) -> None:
        """Set the node up outside a runner (runners use ``init_hooks`` themselves)."""
        for hook in self.init_hooks():
            hook()

    def deinit(self) -> None:
        """Tear down what ``init`` set up."""
        for hook in self.deinit_hooks():
            hook()
        self.release()

    def process(self, *args: Any, **kwargs: Any) -> Any:
        """Call the node once by hand: a function with its params, the next value of a
        generator, a class's process method (after ``init``)."""
        if self.params_per_call and isinstance(self.params, Mapping):
            kwargs = {**self.params, **kwargs}
        elif self.params_per_call and self.params:
            args = (*self.params, *args)
        return self.target()(*args, **kwargs)

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

    def __init__(self, id: str = "", obj: Any = None, *, fn: Any = None, **kwargs: Any):
        # ``WrapFuncNode(id, fn)`` and the original's keywords ``WrapFuncNode(fn=f, id="a", spec=...)``
        obj = fn if obj is None else obj
        if obj is None:
            raise TypeError("WrapFuncNode needs the function to wrap: WrapFuncNode(id, fn) or WrapFuncNode(fn=..., id=...)")
        self.is_generator = inspect.isgeneratorfunction(obj)
        if inspect.isasyncgenfunction(obj):
            raise TypeError(f"async generator functions cannot be nodes yet ({obj!r}); use a generator or a class")
        if self.is_generator and kwargs.get("stateful") is None:
            kwargs["stateful"] = True
        super().__init__(id, obj, **kwargs)
        self.is_async = iscoroutinefunction_partial(obj) and not inspect.isasyncgenfunction(obj)
        self.params_per_call = not self.is_generator
        self._gen = None

    def _reset(self) -> None:
        self._gen = None

    def signal_list(self) -> list[Signal]:
        return signals_of(self.obj)

    def slot_list(self) -> list[Slot]:
        return [] if self.is_generator else slots_of(self.obj)

    def param_signature(self) -> Callable | None:
        return self.obj

    def init_hooks(self) -> list[Callable]:
        if self.is_generator:
            self._gen = call_with_params(self.obj, self.params)
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

    def __init__(self, id: str = "", obj: type | None = None, *, cls: type | None = None, **kwargs: Any):
        # ``WrapClassNode(id, cls)`` and the original's keywords ``WrapClassNode(cls=C, id="a", ...)``
        obj = cls if obj is None else obj
        if obj is None:
            raise TypeError("WrapClassNode needs the class to wrap: WrapClassNode(id, cls) or WrapClassNode(cls=..., id=...)")
        super().__init__(id, obj, **kwargs)
        self.method = _process_method(obj)
        self.is_iterator = self.method is getattr(obj, "__next__", None)
        self.is_generator = self.is_iterator or inspect.isgeneratorfunction(self.method)
        self.is_async = inspect.iscoroutinefunction(self.method)
        self._init_hook = _hook_method(obj, "__is_init_method__", "init")
        self._deinit_hook = _hook_method(obj, "__is_deinit_method__", "deinit")
        self.instance: Any = None
        self._target: Callable | None = None

    def _reset(self) -> None:
        self.instance = None
        self._target = None

    def signal_list(self) -> list[Signal]:
        return [Signal("value")] if self.is_iterator else signals_of(self.method)

    def slot_list(self) -> list[Slot]:
        return [] if self.is_generator else slots_of(self.method, skip_self=True)

    def param_signature(self) -> Callable | None:
        return self.obj

    def init_hooks(self) -> list[Callable]:
        """Create the instance; return the class's own init hook bound to it (if any)."""
        self.instance = call_with_params(self.obj, self.params)
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

    def _reset(self) -> None:
        self.instance = None
        self._target = None

    def build(self) -> Node:
        params = self.params if isinstance(self.params, Mapping) else {}
        self.instance = self.obj(id=self.id, spec=self.spec, enabled=self.enabled, **params)
        return self.instance

    def signal_list(self) -> list[Signal]:
        return as_list(self.obj.get_signals(self.spec))

    def slot_list(self) -> list[Slot]:
        return [] if self.is_generator else as_list(self.obj.get_slots(self.spec))

    def init_hooks(self) -> list[Callable]:
        inst = self.instance if self.instance is not None else self.build()
        # a generator is created from the class's process (the instance's own ``process`` is a
        # next()-wrapper for calls by hand), so every start begins a fresh one
        self._target = self.obj.process.__get__(inst, self.obj)().__next__ if self.is_generator else inst.process
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

    def _reset(self) -> None:
        self.runner = None
        self._target = None

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
            self.runner = context["runner"].child_runner(self.child)
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
        if len(self.keys) == 1:  # one signal: its bare value, as for any single-signal node
            return result.get(self.keys[0], MetaSignal.NoEvent)
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

    def _reset(self) -> None:
        self._target = None

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
    ``None``); both → ``(tuple, dict)``. The core builds the same shapes itself when a runner
    sets the node native (``NATIVE_RET_*``); ``target()``'s functions are the reference.
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
        if not self.spec.dependencies:
            return _ret_nothing  # `return` without depends returns None, as in the original
        if self.scalar:
            return _ret_scalar
        if self.has_pos and self.has_kw:
            return _ret_both
        if self.has_kw:
            return _ret_kw
        return _ret_pos


def _ret_nothing() -> Any:
    return MetaSignal.NoEvent


def _ret_scalar(x: Any) -> Any:
    return x


def _ret_pos(*args: Any) -> tuple:
    return args


def _ret_kw(**kwargs: Any) -> dict | None:
    return kwargs or None


def _ret_both(*args: Any, **kwargs: Any) -> tuple:
    return (args, kwargs)


def node_from_specification(spec: NodeSpecification, input_collection: Any = None) -> Node:
    """``Node.from_specification``: the node ``spec`` describes (see there)."""
    params = spec.params
    if input_collection is not None:
        params = input_collection.resolve_params(params)
    elif isinstance(params, Mapping) and any(isinstance(v, str) and v.startswith("input.") for v in params.values()):
        raise ValueError(
            f"node {spec.id!r}: params use inputs ({params!r}) but no input_collection was given"
        )
    enabled = spec.enabled
    if isinstance(enabled, str):
        if input_collection is None:
            raise ValueError(f"node {spec.id!r}: enabled is {enabled!r}, which needs an input_collection")
        enabled = bool(input_collection.get(enabled.split(".", 1)[1]))
    common: dict[str, Any] = dict(spec=spec, enabled=bool(enabled), stateful=spec.stateful)
    if spec.type == "return":
        return ReturnNode(spec.id, **common)
    if spec.type == "map":
        return MapNodeAdapter(spec.id, **common)
    if spec.type == "tube":
        raise ValueError(f"node {spec.id!r}: a `type: tube` node is built with its child tube by Tube.from_specification")
    obj = Gather if spec.type == "gather" else resolve_python_identifier(str(spec.type))
    kw = params if isinstance(params, Mapping) else {}
    if isinstance(obj, type) and issubclass(obj, Node):
        stateful = {} if spec.stateful is None else {"stateful": spec.stateful}
        node = obj(id=spec.id, spec=spec, enabled=bool(enabled), **stateful, **kw)
    elif isinstance(obj, type):
        node = WrapClassNode(spec.id, obj, params=params, **common)
    else:
        node = WrapFuncNode(spec.id, obj, params=params, **common)
    spec.stateful = node.stateful
    return node


def node_info(spec: NodeSpecification) -> dict[str, Any]:
    """``NodeSpecification.nodeinfo``: ``{node_id, type, signals, slots}``, signals and slots by name.

    Reads the signature of the node's type without instantiating it. A ``return`` node
    without ``depends`` raises ``ValueError`` (it says nothing about what it returns).
    """
    kind = spec.type
    if kind == "return":
        if spec.depends is None:
            raise ValueError(f"return node {spec.id!r}: return nodes must have a specification that defines what they return")
        node: Any = ReturnNode(spec.id, spec=spec)
        slots = [s for s in node.slot_list() if s.kind != _P.VAR_POSITIONAL]
        signals = node.signal_list()
    elif kind == "map":
        signals, slots = MapNodeAdapter(spec.id).signal_list(), MapNodeAdapter(spec.id).slot_list()
    elif kind == "tube":
        signals, slots = [Signal("value")], []
    else:
        obj = Gather if kind == "gather" else resolve_python_identifier(str(kind))
        if isinstance(obj, type) and issubclass(obj, Node):
            signals, slots = as_list(obj.get_signals(spec)), as_list(obj.get_slots(spec))
        elif isinstance(obj, type):
            method = _process_method(obj)
            signals, slots = signals_of(method), slots_of(method, skip_self=True)
        else:
            signals = signals_of(obj)
            slots = [] if inspect.isgeneratorfunction(obj) else slots_of(obj)
    return {
        "node_id": spec.id,
        "type": kind,
        "signals": {s.name: s for s in signals},
        "slots": {s.name: s for s in slots},
    }
