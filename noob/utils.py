"""Small helpers every layer may use: calling with params, async detection and bridging, epochs.

Owns: nothing stateful. Must not: import any other noob module but ``noob.types``.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from noob.types import Epoch

__all__ = [
    "call_with_params",
    "ensure_epoch",
    "iscoroutinefunction_partial",
    "resolve_python_identifier",
    "run_coroutine_blocking",
]

_resolve_cache: dict[str, Any] = {}


def resolve_python_identifier(path: str) -> Any:
    """Import ``pkg.mod.Obj`` (or a builtin name) and return the object.

    Raises ``ModuleNotFoundError`` (the module does not import) or ``AttributeError`` (the
    module or builtins has no such name), with a message that says which part failed.
    """
    try:
        return _resolve_cache[path]
    except KeyError:
        pass
    if "." not in path:
        if not hasattr(builtins, path):
            raise AttributeError(f"{path!r} is not a builtin; give an absolute path like 'package.module.{path}'")
        obj = getattr(builtins, path)
    else:
        module_name, attr = path.rsplit(".", 1)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(f"cannot import module {module_name!r} ({exc})", name=exc.name) from exc
        try:
            obj = getattr(module, attr)
        except AttributeError:
            public = sorted(n for n in vars(module) if not n.startswith("_"))
            found = difflib.get_close_matches(attr, public, n=3)
            hint = f" (did you mean {', '.join(repr(f) for f in found)}?)" if found else ""
            raise AttributeError(f"module {module_name!r} has no attribute {attr!r}{hint}") from None
    _resolve_cache[path] = obj
    return obj


def iscoroutinefunction_partial(fn: Any) -> bool:
    """True if ``fn`` (after unwrapping ``functools.partial``) is a coroutine function, an async
    generator function, or an object whose ``__call__`` is one."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return True
    call = getattr(fn, "__call__", None)
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


_EMPTY = inspect.Parameter.empty


def resolve_default(default: Any, factory: bool = True) -> Any:
    """The value a class-level field default stands for.

    Understands the factory forms of attrs (``attrs.Factory(list)``), dataclasses
    (``dataclasses.field(default=..., default_factory=...)``) and pydantic-style field
    objects (anything with a callable ``default_factory``, or a ``default`` and an
    ``is_required()``). With ``factory=True`` a factory is called; with ``factory=False``
    it is returned as is (so it can be called once per instance later). A field object
    without any default gives ``inspect.Parameter.empty`` (required). Other values are
    returned unchanged.
    """
    import dataclasses  # cheap; kept local so importing noob.utils stays minimal

    if isinstance(default, _Factory):
        return default.make() if factory else default
    made = None
    if type(default).__name__ == "Factory" and hasattr(default, "factory") and hasattr(default, "takes_self"):
        made = default.factory
    elif isinstance(default, dataclasses.Field):
        if default.default_factory is not dataclasses.MISSING:
            made = default.default_factory
        elif default.default is not dataclasses.MISSING:
            return default.default
        else:
            return _EMPTY
    elif callable(getattr(default, "default_factory", None)) and not isinstance(default, type):
        made = default.default_factory
    elif hasattr(default, "default") and callable(getattr(default, "is_required", None)) and not isinstance(default, type):
        return _EMPTY if default.is_required() else default.default
    if made is None:
        return default
    if not factory:
        return _Factory(made)
    return made()


class _Factory:
    """A normalised field factory (see :func:`resolve_default`)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]):
        self.make = make

    def __repr__(self) -> str:
        return f"<factory {getattr(self.make, '__name__', self.make)!r}>"


def call_with_params(fn: Callable, params: Any) -> Any:
    """``fn(*params)`` for a list or tuple, else ``fn(**params)`` (nothing for ``None``)."""
    if isinstance(params, (list, tuple)):
        return fn(*params)
    return fn(**(params or {}))


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
