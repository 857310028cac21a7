"""Assets that the test and documentation tubes refer to as ``noob.testing.<name>``.

Owns: small asset factories and classes (counters, arrays, lifecycle probes) whose
behaviour tests can predict exactly.
Must not: import the tube, plan, runner or core modules — assets are plain user objects.

The counters stand in for generators: a generator cannot be deep-copied, but a runner-scoped
asset with ``depends`` is deep-copied on every round trip, so tests use :class:`counter`,
which behaves like ``itertools.count``, is a ``collections.abc.Generator`` and copies cleanly.
``array``, ``asset_func`` and ``AssetCls`` are our own additions (the assets guide's examples).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from typing import Any

from noob.asset import Asset

try:  # numpy is only needed by the array helpers; importing noob.testing must not need it
    import numpy as np
except ImportError:  # pragma: no cover - numpy is installed wherever the array tubes run
    np = None  # type: ignore[assignment]

__all__ = [
    "AnyAsset",
    "AssetCls",
    "Initializer",
    "LifecycleCounter",
    "array",
    "asset_func",
    "counter",
    "counter_cm",
]


class AnyAsset(Asset):
    """An asset that holds whatever object is put in ``obj`` (by ``depends`` or by hand)."""

    obj: Any = None


class counter(Generator):
    """A deep-copyable stand-in for ``itertools.count``: ``next()`` returns ``current``, then adds 1.

    A ``collections.abc.Generator`` (``send``, ``throw``, ``close``); ``current`` (read-only)
    is the value the next call will return.
    """

    def __init__(self, start: int = 0):
        self.start = start
        self._current = start

    @property
    def current(self) -> int:
        """The value the next ``next()`` returns."""
        return self._current

    def send(self, value: Any) -> int:
        """Return ``current`` and add one (the sent value is ignored)."""
        out = self._current
        self._current += 1
        return out

    def throw(self, typ: Any = None, val: Any = None, tb: Any = None) -> int:
        """Raise the thrown exception (a counter cannot handle it)."""
        if val is None:
            val = typ() if isinstance(typ, type) else typ
        raise val

    def next(self) -> int:
        """Same as ``next(self)``."""
        return self.send(None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start}, current={self.current})"


class LifecycleCounter(counter):
    """A :class:`counter` that also records how often a context manager entered and exited it."""

    def __init__(self, start: int = 0):
        super().__init__(start)
        self.entered = 0
        self.exited = 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(start={self.start}, current={self.current}, "
            f"entered={self.entered}, exited={self.exited})"
        )


@contextlib.contextmanager
def counter_cm(start: int = 0) -> Iterator[LifecycleCounter]:
    """Yield a :class:`LifecycleCounter`; on enter count and advance it once, on exit advance then count."""
    value = LifecycleCounter(start)
    value.entered += 1
    next(value)
    try:
        yield value
    finally:
        next(value)
        value.exited += 1


class Initializer(Asset):
    """An asset whose ``obj`` is ``True`` between ``init()`` and ``deinit()`` (``False`` otherwise)."""

    obj: bool = False

    def init(self) -> None:
        self.obj = True

    def deinit(self) -> None:
        self.obj = False


def array(rows: int = 3, cols: int = 3, fill: float = 1.0) -> Any:
    """A ``rows x cols`` float64 numpy array filled with ``fill``."""
    return np.full((rows, cols), fill, dtype=np.float64)


def asset_func(x: int, y: int) -> Any:
    """A random ``x x y`` float64 array (the function asset of the assets guide)."""
    return np.random.random((x, y))


class AssetCls:
    """A plain class asset with two attributes (the class asset of the assets guide)."""

    def __init__(self, x: Any, y: Any):
        self.x = x
        self.y = y

    def some_method(self) -> Any:
        """Return ``(x, y)``; exists so the guide's example class has a method."""
        return self.x, self.y

    def __repr__(self) -> str:
        return f"AssetCls(x={self.x!r}, y={self.y!r})"
