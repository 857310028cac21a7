"""Node functions and classes for the RayRunner tests (imported by the actors, by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from noob import Node


def pid(x: Any = None) -> int:
    """The process this node runs in."""
    return os.getpid()


def niceness(x: Any = None) -> int:
    """This process's niceness (``os.nice(0)`` changes nothing)."""
    return os.nice(0)


def where(x: Any) -> tuple:
    """``(pid, x)``: which process saw ``x``."""
    return (os.getpid(), x)


def big(nbytes: int = 8 * 1024 * 1024) -> np.ndarray:
    """A fresh array of ``nbytes`` bytes (float64), filled with its epoch-independent ramp."""
    return np.arange(nbytes // 8, dtype=np.float64)


def passthrough(arr: np.ndarray) -> np.ndarray:
    return arr


def describe(arr: np.ndarray) -> tuple[int, bool, float, int]:
    """``(pid, writeable, sum, nbytes)`` of the array this node received."""
    return (os.getpid(), bool(arr.flags.writeable), float(arr.sum()), int(arr.nbytes))


def append_one(items: list) -> list:
    """Mutates what it received (visible upstream only inside one process)."""
    items.append(1)
    return items


class Holder:
    """Keeps one list across epochs and emits it."""

    def __init__(self) -> None:
        self.items: list = []

    def process(self, x: int) -> list:
        return self.items


def boom(x: int) -> int:
    if x == 1:
        raise KeyError(f"no key for {x}")
    return x


def sleep_for(x: int, seconds: float = 0.05) -> int:
    time.sleep(seconds)
    return x


def stamp(x: Any, seconds: float = 0.05) -> tuple[Any, float, float]:
    """Sleep, then ``(x, start, end)`` (wall-clock seconds), to see stages overlap."""
    start = time.time()
    time.sleep(seconds)
    return (x if not isinstance(x, tuple) else x[0], start, time.time())


def spin(x: Any, seconds: float = 0.02) -> Any:
    """Burn CPU for ``seconds`` (no sleep: holds a core), then pass ``x`` on."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return x


def add1(x: int) -> int:
    return x + 1


class LogLife(Node):
    """Writes ``init <id>`` / ``deinit <id>`` lines to ``path``; ``fail_deinit`` raises in deinit."""

    path: str = ""
    fail_deinit: bool = False

    def init(self) -> None:
        with Path(self.path).open("a") as f:
            f.write(f"init {self.id} {os.getpid()}\n")

    def process(self, x: int) -> int:
        return x

    def deinit(self) -> None:
        with Path(self.path).open("a") as f:
            f.write(f"deinit {self.id} {os.getpid()}\n")
        if self.fail_deinit:
            raise RuntimeError(f"deinit of {self.id} failed")


def count(start: int = 0, limit: int | None = None):  # unannotated: a source with the one signal "value"
    n = start
    while limit is None or n < start + limit:
        yield n
        n += 1


def write_line(x: Any, path: str = "") -> Any:
    """Append ``x`` to the file ``path`` (a side effect that counts the epochs run), pass it on."""
    with Path(path).open("a") as f:
        f.write(f"{x}\n")
    return x


class Keeper:
    """Keeps every array it receives (a node holding on to values across epochs)."""

    def __init__(self) -> None:
        self.kept: list = []

    def process(self, arr: np.ndarray) -> tuple[int, float]:
        self.kept.append(arr)
        return (len(self.kept), float(sum(float(a[0]) for a in self.kept)))


def ramp(x: int, n: int = 1024) -> np.ndarray:
    """An ``n``-element float64 array starting at ``x``."""
    return np.arange(x, x + n, dtype=np.float64)


def total(arr: np.ndarray) -> tuple[float, int]:
    """``(sum, nbytes)`` of the array this node received."""
    return (float(arr.sum()), int(arr.nbytes))


def lock_at(x: int, at: int = 1) -> Any:
    """``x``, except a lock (which does not pickle) when ``x == at``."""
    import threading

    return threading.Lock() if x == at else x


def fail_at(x: int, at: int = 3) -> int:
    if x == at:
        raise ValueError(f"failing at {x}")
    return x


def as_list(arr: np.ndarray) -> list:
    """Its input inside a list (a container holding what it received)."""
    return [arr]


def pair(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """Its input and its sum."""
    return arr, float(arr.sum())


class Store:
    """Keeps whatever it receives across epochs; says how many it holds and whether each
    array it holds is writeable."""

    def __init__(self) -> None:
        self.kept: list = []

    def process(self, x: Any) -> tuple[int, list]:
        self.kept.append(x)
        return len(self.kept), [bool(np.asarray(k[0] if isinstance(k, (list, tuple)) else k).flags.writeable) for k in self.kept]


class LogLifeAny(LogLife):
    """``LogLife`` passing on whatever it receives."""

    def process(self, x: Any) -> Any:  # type: ignore[override]
        return x

