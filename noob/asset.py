"""Assets as users write them: the ``Asset`` base class and ``AssetScope``.

Owns: what an asset *is* for a user — a class with ``init``/``deinit`` that sets ``obj``,
or any class, function or context-manager factory (wrapped by ``noob.tube``) — and the
original's by-hand interface: ``Asset.from_specification``, ``WrapClassAsset``,
``WrapFuncAsset``; ``AssetSpecification`` is re-exported from ``noob.spec`` (imported on
first use: ``noob.spec`` imports this module); which runner assets are stored as a copy
(``copied_stores``) and the copier that names the asset when a copy fails (``store_copier``).
Must not: know about runners or the core; lifecycle ordering lives in the runner.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, get_origin

from noob.exceptions import AssetCopyError
from noob.utils import call_with_params, resolve_default

if TYPE_CHECKING:  # annotations only: noob.spec imports this module
    from noob.spec import AssetSpecification

__all__ = [
    "Asset", "AssetRuntime", "AssetScope", "AssetSpecification", "CopiedStore", "WrapClassAsset", "WrapFuncAsset",
    "StoreCopier", "copied_stores", "store_copier",
]


class AssetScope(str, enum.Enum):
    """How long an asset lives: the runner's life, one ``process()`` call, or one node call."""

    runner = "runner"
    process = "process"
    node = "node"

    def __str__(self) -> str:
        return self.value


def _asset_fields(cls: type) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is Asset or not issubclass(klass, Asset):
            continue
        for name, ann in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or name == "obj" or get_origin(ann) is ClassVar or str(ann).startswith("ClassVar"):
                continue
            fields[name] = resolve_default(vars(klass).get(name, inspect.Parameter.empty), factory=False)
    return fields


class Asset:
    """Base class for assets with a lifecycle.

    Declare parameters as annotated class attributes (``size: int = 10``); they are filled
    from the asset's ``params``. ``init`` must set ``self.obj`` — the object nodes receive —
    and ``deinit`` should release it. Both may be ``async``.
    """

    obj: Any = None

    def __init__(self, id: str = "", spec: Any = None, scope: AssetScope | str = AssetScope.runner, depends: str | None = None, **params: Any):
        self.id = id
        self.spec = spec
        self.scope = AssetScope(scope)
        self.depends = depends
        self.obj = resolve_default(type(self).obj)  # the class's declared default (``None`` unless overridden)
        fields = _asset_fields(type(self))
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected parameter(s) {unknown}; it accepts {sorted(fields) or 'no parameters'}")
        for name, default in fields.items():
            if name in params:
                setattr(self, name, params[name])
            elif default is inspect.Parameter.empty:
                raise TypeError(f"{type(self).__name__} is missing required parameter {name!r}")
            else:
                setattr(self, name, resolve_default(default))

    @classmethod
    def param_fields(cls) -> dict[str, Any]:
        """The parameters this class accepts: name -> default (``inspect.Parameter.empty`` if required)."""
        return _asset_fields(cls)

    @classmethod
    def from_specification(cls, spec: AssetSpecification, input_collection: Any = None) -> Asset:
        """The asset an ``AssetSpecification`` describes, not yet initialised (call ``init()``).

        ``input.<key>`` params are filled from ``input_collection``. An ``Asset`` subclass is
        instantiated with its params; another class is wrapped as a ``WrapClassAsset``, a
        function (or context-manager factory) as a ``WrapFuncAsset``.
        """
        from noob.utils import resolve_python_identifier

        params = spec.params
        if input_collection is not None:
            params = input_collection.resolve_params(params)
        obj = resolve_python_identifier(str(spec.type))
        common: dict[str, Any] = dict(id=spec.id, spec=spec, scope=spec.scope, depends=spec.depends)
        if isinstance(obj, type) and issubclass(obj, Asset):
            return obj(**common, **(params if isinstance(params, Mapping) else {}))
        if isinstance(obj, type):
            return WrapClassAsset(**common, cls=obj, params=params)
        return WrapFuncAsset(**common, fn=obj, params=params)

    def init(self) -> None:
        """Create the object (set ``self.obj``)."""

    def deinit(self) -> None:
        """Release the object."""
        self.obj = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} scope={self.scope.value}>"

class WrapClassAsset(Asset):
    """A plain class used as an asset: ``init()`` makes a new instance from ``params``, ``deinit()`` drops it."""

    def __init__(self, id: str = "", spec: Any = None, scope: AssetScope | str = AssetScope.runner,
                 depends: str | None = None, cls: type | None = None, params: Any = None):
        super().__init__(id, spec, scope, depends)
        self.cls = cls
        self.params = params if params is not None else {}

    def init(self) -> None:
        self.obj = call_with_params(self.cls, self.params)  # type: ignore[arg-type]


class WrapFuncAsset(Asset):
    """A function (or context-manager factory) used as an asset.

    ``init()`` calls it with ``params``; a context manager it returns is entered and its
    ``__enter__`` value is the asset. ``deinit()`` exits it and sets ``obj`` to ``None``;
    the asset can be initialised again.
    """

    def __init__(self, id: str = "", spec: Any = None, scope: AssetScope | str = AssetScope.runner,
                 depends: str | None = None, fn: Callable | None = None, params: Any = None):
        super().__init__(id, spec, scope, depends)
        self.fn = fn
        self.params = params if params is not None else {}
        self._cm: Any = None

    def init(self) -> None:
        value = call_with_params(self.fn, self.params)  # type: ignore[arg-type]
        if isinstance(value, contextlib.AbstractContextManager):
            self._cm = value
            value = value.__enter__()
        self.obj = value

    def deinit(self) -> None:
        cm, self._cm = self._cm, None
        if cm is not None:
            cm.__exit__(None, None, None)
        self.obj = None


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

    def instantiate(self) -> AssetRuntime:
        """A fresh copy for one runner to own (it holds that runner's open handle)."""
        live = copy.copy(self)
        live._handle = None
        return live

    def create(self, run_async: Callable[[Any], Any]) -> Any:
        if self._kind == "asset":
            params = self.params if isinstance(self.params, Mapping) else {}
            inst = self.obj(id=self.id, spec=self.spec, scope=self.scope, depends=self.spec.depends, **params)
            result = inst.init()
            if inspect.isawaitable(result):
                run_async(result)
            handle, value = ("asset", inst), inst.obj
        elif self._kind == "class":
            value = call_with_params(self.obj, self.params)
            handle = None
        else:
            value = call_with_params(self.obj, self.params)
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


# --------------------------------------------------------------------------- stored copies
class CopiedStore(NamedTuple):
    """A runner asset whose ``depends`` signal is also read by nodes: its value is stored as
    a deep copy each epoch. ``store`` and ``readers`` are the parsed ``depends`` entries
    (``noob.spec.Dependency``: ``source``, ``path``)."""

    asset: str
    store: Any
    readers: tuple[Any, ...]

    @property
    def path(self) -> str:
        return f"assets.{self.asset}.depends"

    def describe(self) -> str:
        """``runner asset 'conn' is stored back from 's.conn', which node 'n' also reads (nodes.n.depends[0])``."""
        names = ", ".join(f"{r.path.split('.')[1]!r} ({r.path})" for r in self.readers)
        return (f"runner asset {self.asset!r} is stored back from {self.store.source!r}, which "
                f"node{'s' if len(self.readers) != 1 else ''} {names} also read{'s' if len(self.readers) == 1 else ''}")

    def fix(self) -> str:
        node = self.store.node
        return (f"let only the asset take {self.store.source!r}: {node!r} emits what the other nodes need "
                f"as a signal of its own; or make the object copyable (a `__deepcopy__`; `return self` "
                f"when sharing it is safe)")


def copied_stores(spec: Any) -> list[CopiedStore]:
    """The runner assets of a ``TubeSpecification`` whose ``depends`` signal a node also reads.

    The runner stores a deep copy of such a signal into the asset at the end of each epoch, so
    that what a reading node does to its value cannot change the asset (``noob.plan`` lays the
    copy out; the tube builder warns about it with ``AssetCopyWarning``).
    """
    readers: dict[tuple[str, str], list[Any]] = {}
    for nspec in spec.nodes.values():
        for dep in nspec.dependencies:
            if dep.node not in ("input", "assets"):
                readers.setdefault((dep.node, dep.signal), []).append(dep)
    out = []
    for asset_id, aspec in spec.assets.items():
        dep = aspec.dependency
        if dep is None or aspec.scope != AssetScope.runner or (dep.node, dep.signal) not in readers:
            continue
        out.append(CopiedStore(asset_id, dep, tuple(readers[(dep.node, dep.signal)])))
    return out


class StoreCopier:
    """``copy.deepcopy`` for the core to copy stored runner assets with; a failed copy raises
    ``AssetCopyError`` naming the asset (every candidate when several stores are copied, as the
    core hands over only the value), why it is copied and how to avoid it. An object, not a
    closure, so a plan's copier pickles."""

    __slots__ = ("stores",)

    def __init__(self, stores: Sequence[CopiedStore]):
        self.stores = tuple(stores)

    def __call__(self, value: Any) -> Any:
        try:
            return copy.deepcopy(value)
        except Exception as exc:
            raise _copy_error(self.stores, value, exc) from exc


def store_copier(stores: Sequence[CopiedStore]) -> Callable[[Any], Any]:
    """The copier for ``stores`` (see :class:`StoreCopier`)."""
    return StoreCopier(stores)


def _copy_error(stores: Sequence[CopiedStore], value: Any, exc: Exception) -> Exception:
    why = f"{type(exc).__name__}: {exc}"
    what = f"a {type(value).__module__}.{type(value).__qualname__}"
    if len(stores) == 1:
        store = stores[0]
        return AssetCopyError(
            f"{store.path}: {store.describe()}, so noob stores a deep copy of it each epoch (the readers must not "
            f"change the asset), and {what} cannot be copied ({why}). Fix: {store.fix()}.",
            asset=store.asset, source=store.store.source,
            readers=[r.path.split(".")[1] for r in store.readers], path=store.path,
        )
    described = "; ".join(f"{s.path}: {s.describe()}" for s in stores)
    return AssetCopyError(
        f"one of these runner assets is stored as a deep copy each epoch (their readers must not change "
        f"them), and {what} cannot be copied ({why}): {described}. Fix: let only the asset take its signal (the node "
        f"emits what the others need as a signal of its own), or make the object copyable (a `__deepcopy__`).",
        asset=" or ".join(s.asset for s in stores), path=stores[0].path,
    )


def __getattr__(name: str) -> Any:
    if name == "AssetSpecification":  # noob.spec imports this module: re-exported on first use
        from noob.spec import AssetSpecification

        return AssetSpecification
    raise AttributeError(f"module 'noob.asset' has no attribute {name!r}")
