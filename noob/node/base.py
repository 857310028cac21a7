"""Nodes as users write them, and how noob reads their signals and slots.

Owns: the ``Node`` base class, the ``@process_method`` / ``@init_method`` /
``@deinit_method`` markers, and introspection (``Signal``, ``Slot``, ``signals_of``,
``slots_of``) that turns a callable's signature and return annotation into named outputs
and inputs. Re-exports ``NodeSpecification``, ``WrapClassNode`` and ``WrapFuncNode``, which
code written for the original noob imports from here (the adapters live in
``noob.node.adapters`` and are imported on first use, as they import this module).
Must not: know about YAML, tubes, plans or runners.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, get_args, get_origin

import attrs

from noob.spec import NodeSpecification
from noob.types import Epoch, EventMap, Name, RunnerContext
from noob.utils import resolve_default

if TYPE_CHECKING:  # imported on first use at runtime (see __getattr__): the adapters import this module
    from noob.node.adapters import WrapClassNode, WrapFuncNode

__all__ = [
    "Node",
    "NodeSpecification",
    "Signal",
    "Slot",
    "WrapClassNode",
    "WrapFuncNode",
    "deinit_method",
    "init_method",
    "process_method",
    "signals_of",
    "signature",
    "slots_of",
]


def process_method(fn: Callable) -> Callable:
    """Mark the method of a plain class that noob calls once per epoch."""
    fn.__is_process_method__ = True  # type: ignore[attr-defined]
    return fn


def init_method(fn: Callable) -> Callable:
    """Mark the method of a plain class that noob calls when the runner starts."""
    fn.__is_init_method__ = True  # type: ignore[attr-defined]
    return fn


def deinit_method(fn: Callable) -> Callable:
    """Mark the method of a plain class that noob calls when the runner stops."""
    fn.__is_deinit_method__ = True  # type: ignore[attr-defined]
    return fn


@attrs.frozen
class Signal:
    """A named output of a node. ``annotation`` is the declared type (``Any`` if none)."""

    name: str
    annotation: Any = Any


@attrs.frozen
class Slot:
    """A named input of a node: ``Slot(name, annotation, required=True)``, as in the original.

    ``required`` is False only for ``Optional[T] = None`` parameters (and
    ``**kwargs``-absorbed slots). Introspection also records ``kind`` (an
    ``inspect.Parameter`` kind), ``default`` (``inspect.Parameter.empty`` when there is
    none) and ``injection`` (``"epoch"``, ``"context"`` or ``"events"`` for parameters noob
    fills itself); these three take no part in equality, so ``Slot("x", int)`` equals the
    slot read from ``def f(x: int = 1)``.
    """

    name: str
    annotation: Any = Any
    required: bool = True
    kind: Any = attrs.field(default=inspect.Parameter.POSITIONAL_OR_KEYWORD, eq=False, repr=False)
    default: Any = attrs.field(default=inspect.Parameter.empty, eq=False, repr=False)
    injection: str | None = attrs.field(default=None, eq=False, repr=False)


# --------------------------------------------------------------------------- introspection

_GENERATOR_ORIGINS = (
    collections.abc.Generator,
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterator,
)


def _hints(fn: Callable) -> dict[str, Any]:
    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        return dict(getattr(target, "__annotations__", {}) or {})


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _names_in(tp: Any) -> list[tuple[str, Any]]:
    """Signal names found in an annotation, following the original's rules (see module doc)."""
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        found = [(m.name, base) for m in meta if isinstance(m, Name)]
        return found or _names_in(base)
    origin = get_origin(tp)
    if origin in _GENERATOR_ORIGINS:
        args = get_args(tp)
        return _names_in(args[0]) if args else []
    if origin is tuple or _is_union(tp):
        out: list[tuple[str, Any]] = []
        for arg in get_args(tp):
            if arg is type(None) or arg is Ellipsis:
                continue
            if get_origin(arg) is Annotated or get_origin(arg) is tuple:
                out.extend(_names_in(arg))
            else:
                out = [("value", tp)]
        return out
    return []


def signals_from_annotation(annotation: Any) -> list[Signal]:
    """Signals declared by a return annotation; ``[Signal("value")]`` when none are named."""
    if annotation is inspect.Signature.empty or annotation is None or annotation is type(None):
        return [Signal("value")]
    names = _names_in(annotation)
    if not names:
        return [Signal("value", annotation)]
    return [Signal(n, a) for n, a in names]


def _cached(fn: Callable) -> Callable:
    """Memoise an introspection function on its (hashable) callable argument.

    Loading a tube introspects the same few callables thousands of times; signatures of
    builtins in particular are slow to compute. Unhashable callables are not cached.
    """
    cache: dict[Any, Any] = {}

    @functools.wraps(fn)
    def wrapper(target: Any, *args: Any) -> Any:
        try:
            key = (target, *args)
            hash(key)
        except TypeError:
            return fn(target, *args)
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = fn(target, *args)
            return value

    return wrapper


@_cached
def signature(fn: Callable) -> inspect.Signature | None:
    """``inspect.signature(fn)``, or ``None`` when it has none (some builtins); memoised."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


@_cached
def _signals_of(fn: Callable) -> tuple[Signal, ...]:
    return tuple(signals_from_annotation(_hints(fn).get("return", inspect.Signature.empty)))


def signals_of(fn: Callable) -> list[Signal]:
    """The signals of a function or method, from its return annotation."""
    return list(_signals_of(fn))


def _is_optional(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation is None or (_is_union(annotation) and type(None) in get_args(annotation))


def _injection(annotation: Any) -> str | None:
    if annotation is Epoch or annotation == "Epoch":
        return "epoch"
    if annotation is RunnerContext or annotation == "RunnerContext":
        return "context"
    if annotation is EventMap or annotation == "EventMap":
        return "events"
    return None


def slots_of(fn: Callable, skip_self: bool = False) -> list[Slot]:
    """The slots of a callable, from its signature. ``self`` is skipped when asked."""
    return list(_slots_of(fn, skip_self))


@_cached
def _slots_of(fn: Callable, skip_self: bool) -> tuple[Slot, ...]:
    sig = signature(fn)
    if sig is None:
        # builtins without a signature (``print``, ``max``): treat as *args
        return (Slot("args", Any, False, inspect.Parameter.VAR_POSITIONAL),)
    hints = _hints(fn)
    out = []
    for i, (name, p) in enumerate(sig.parameters.items()):
        if skip_self and i == 0 and name == "self":
            continue
        ann = hints.get(name, p.annotation if p.annotation is not p.empty else Any)
        required = not (_is_optional(ann) and p.default is None)
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            required = False
        out.append(Slot(name, ann, required, p.kind, p.default, _injection(ann)))
    return tuple(out)


def as_list(found: Any) -> list[Any]:
    """Signals or slots as a list: ``get_signals``/``get_slots`` may return a list or, as in
    the original, a ``{name: Signal}`` dict."""
    if isinstance(found, Mapping):
        return list(found.values())
    return list(found)


# --------------------------------------------------------------------------- Node


_BASE_FIELDS = frozenset({"id", "spec", "enabled", "stateful"})


def _node_fields(cls: type) -> dict[str, Any]:
    """Annotated class attributes of ``Node`` subclasses: name -> default (or ``empty``).

    A default may be a factory (``attrs.Factory(list)``, ``dataclasses.field(default_factory=
    list)``, a pydantic-style ``Field(default_factory=list)``): it is called once per instance
    (see :func:`noob.utils.resolve_default`). A field object without a default means required.
    ``id``, ``spec``, ``enabled`` and ``stateful`` (declared by the original's pydantic
    ``Node``) are constructor arguments, not params.
    """
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is Node or not issubclass(klass, Node):
            continue
        for name, ann in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or name in _BASE_FIELDS or get_origin(ann) is ClassVar or str(ann).startswith("ClassVar"):
                continue
            default = vars(klass).get(name, inspect.Parameter.empty)
            fields[name] = resolve_default(default, factory=False)
    return fields


class Node:
    """Base class for nodes with a lifecycle.

    Subclasses declare parameters as annotated class attributes (``start: int = 0``); they
    become constructor keywords, filled from the node's ``params`` in the tube. Override
    ``process`` (called once per epoch; may be a generator, which makes the node a source),
    and optionally ``init`` / ``deinit`` (called when the runner starts and stops; may be
    ``async``), and the classmethods ``get_signals`` / ``get_slots`` to compute signals and
    slots from the node's specification.
    """

    stateful: bool = True

    def __init__(self, id: str = "", spec: Any = None, enabled: bool = True, stateful: bool | None = None, **params: Any):
        self.id = id
        self.spec = spec
        self.enabled = enabled
        if stateful is not None:
            self.stateful = stateful
        fields = _node_fields(type(self))
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameter(s) {unknown}; "
                f"it accepts {sorted(fields) or 'no parameters'}"
            )
        for name, default in fields.items():
            if name in params:
                value = params[name]
            elif default is inspect.Parameter.empty:
                raise TypeError(f"{type(self).__name__} is missing required parameter {name!r}")
            else:
                value = resolve_default(default)
            setattr(self, name, value)
        self.__post_init__()
        if inspect.isgeneratorfunction(type(self).process):
            self.process = self._next_wrapper()  # type: ignore[method-assign]

    def _next_wrapper(self) -> Callable[[], Any]:
        """``process`` of a generator node called by hand: each call returns the next value.

        The generator is created on the first call (runners do not use this: they create
        their own generator from the class's ``process`` when they start the node).
        """
        gen: list[Any] = []
        process = type(self).process

        def next_value() -> Any:
            if not gen:
                gen.append(process(self))
            return next(gen[0])

        return next_value

    def __post_init__(self) -> None:
        """Hook for subclasses: called at the end of ``__init__``."""

    @classmethod
    def from_specification(cls, spec: NodeSpecification, input_collection: Any = None) -> Node:
        """The node a ``NodeSpecification`` describes, as the original's classmethod builds it.

        ``type`` is resolved; ``input.<key>`` params are filled from ``input_collection``; a
        ``Node`` subclass is instantiated with its params, any other class wrapped as a
        ``WrapClassNode``, a function as a ``WrapFuncNode``; ``gather``, ``map`` and
        ``return`` give the special nodes. (``type: tube`` nodes need their child tube: build
        those through ``Tube.from_specification``.)
        """
        from noob.node.adapters import node_from_specification

        return node_from_specification(spec, input_collection)

    @classmethod
    def param_fields(cls) -> dict[str, Any]:
        """The parameters this class accepts: name -> default (``inspect.Parameter.empty`` if required)."""
        return _node_fields(cls)

    def init(self) -> None:
        """Called when the runner starts (or the node is enabled)."""

    def deinit(self) -> None:
        """Called when the runner stops (or the node is disabled)."""

    def process(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement process()")

    @classmethod
    def get_signals(cls, spec: Any = None) -> list[Signal] | Mapping[str, Signal]:
        return signals_of(cls.process)

    @classmethod
    def get_slots(cls, spec: Any = None) -> list[Slot] | Mapping[str, Slot]:
        return slots_of(cls.process, skip_self=True)

    @property
    def signals(self) -> dict[str, Signal]:
        """This node's signals by name (from ``get_signals(spec)``)."""
        return {s.name: s for s in as_list(type(self).get_signals(self.spec))}

    @property
    def slots(self) -> dict[str, Slot]:
        """This node's slots by name (from ``get_slots(spec)``)."""
        return {s.name: s for s in as_list(type(self).get_slots(self.spec))}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"


def __getattr__(name: str) -> Any:
    # the adapters import this module, so they are imported on first use
    if name in ("WrapClassNode", "WrapFuncNode"):
        from noob.node import adapters

        return getattr(adapters, name)
    raise AttributeError(f"module 'noob.node.base' has no attribute {name!r}")
