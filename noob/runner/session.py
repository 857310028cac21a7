"""Asset sessions and teardown errors: the one place an asset is opened, closed and its errors kept.

Owns: opening an asset (its factory's error wrapped in ``AssetError`` naming asset, scope
and tube), closing assets in reverse creation order -- every one, exactly once (a runtime
forgets its handle before closing), whatever the others raise -- and, for the asyncio
runner, waiting for an open or a close running in a worker thread to finish even when the
awaiting task is cancelled (:func:`settle`), so a cancelled ``process()`` leaks no asset.
Also how several errors become one: the first keeps its type and every later one is
attached to it as a note (:func:`also`), including the notes the later one carried itself.
Must not: decide *when* assets open or close (the runners' epoch code does), or know a
runner's slot table beyond the callables it is handed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from noob.asset import AssetRuntime
from noob.exceptions import AssetError

__all__ = ["also", "close_all", "note", "open_asset", "settle"]


def note(exc: BaseException, text: str) -> None:
    """Add ``text`` to ``exc``'s notes unless it is there already."""
    notes = getattr(exc, "__notes__", [])
    if text not in notes:
        exc.add_note(text)


def also(first: BaseException | None, later: BaseException | None, doing: str) -> BaseException | None:
    """``first``, with ``later`` attached as a note; or ``later`` if there is no ``first``.

    The user's first exception is what propagates (it keeps its type: no ``ExceptionGroup``);
    every later one is summarised on it: ``[noob] also raised while <doing>: Type: message
    (where)``, ``where`` being the later error's own ``[noob]`` note, if it has one. Errors
    already attached to ``later`` move on to ``first``: none is lost.
    """
    if later is None or later is first:
        return first
    if first is None:
        return later
    notes = getattr(later, "__notes__", ())
    where = next((n[len("[noob] ") :] for n in notes if n.startswith("[noob] raised")), None)
    note(first, f"[noob] also raised while {doing}: {type(later).__name__}: {later}" + (f" ({where})" if where else ""))
    for text in notes:
        if text.startswith("[noob] also raised"):
            note(first, text)
    return first


def open_asset(runtime: AssetRuntime, run_async: Callable[[Any], Any], tube_id: str) -> Any:
    """Create ``runtime``'s object; a failing factory raises ``AssetError`` from its error."""
    try:
        return runtime.create(run_async)
    except Exception as exc:
        raise AssetError(
            f"asset {runtime.id!r} ({runtime.scope.value} scope) of tube {tube_id!r} could not be created: "
            f"{type(exc).__name__}: {exc}",
            asset=runtime.id,
            scope=runtime.scope.value,
        ) from exc


def close_all(runtimes: Iterable[AssetRuntime], run_async: Callable[[Any], Any], tube_id: str,
              exc: BaseException | None = None, after: Callable[[AssetRuntime], None] | None = None) -> BaseException | None:
    """Close ``runtimes`` in reverse order, every one; return the first error (later ones attached).

    ``exc`` is the error the session ends with (a context manager's ``__exit__`` sees it);
    ``after(runtime)`` runs once each is closed, failed or not (the runner clears its slot).
    """
    error = None
    for runtime in reversed(list(runtimes)):
        try:
            runtime.close(run_async, exc)
        except Exception as close_exc:
            note(close_exc, f"[noob] raised while closing asset {runtime.id!r} of tube {tube_id!r}")
            error = also(error, close_exc, "closing assets")
        finally:
            if after is not None:
                after(runtime)
    return error


async def settle(fut: asyncio.Future) -> Any:
    """``await fut`` (a call running in a worker thread), to its end even if the caller is cancelled.

    A thread cannot be interrupted: if the awaiting task is cancelled, wait for the call to
    finish anyway (so an asset it opened is known and can be closed), then raise the
    cancellation.
    """
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(fut)
            break
        except asyncio.CancelledError as exc:
            if fut.done():
                raise
            cancelled = exc
    if cancelled is not None:
        raise cancelled
    return result
