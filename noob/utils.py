"""Small helpers every layer may use: calling with params, async detection and bridging, epochs.

Owns: nothing stateful. Must not: import any other noob module but ``noob.types``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from noob.types import Epoch

__all__ = ["call_with_params", "ensure_epoch", "iscoroutinefunction_partial", "run_coroutine_blocking"]


def iscoroutinefunction_partial(fn: Any) -> bool:
    """True if ``fn`` (after unwrapping ``functools.partial``) is a coroutine function, an async
    generator function, or an object whose ``__call__`` is one."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return True
    call = getattr(fn, "__call__", None)
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


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
