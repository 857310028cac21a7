"""Nodes and assets for the runner semantics suite (``tests/semantics``).

They record their lifecycle in a log file (``log`` param: a path), one line per event, so
that counts can be read back whatever process ran them (Ray actors included).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Annotated, Any

from noob import Name


def _log(log: str, line: str) -> None:
    if log:
        with Path(log).open("a") as f:
            f.write(line + "\n")


def counts(log: str | Path) -> dict[str, int]:
    """``{event line: how many times}`` from a log file."""
    out: dict[str, int] = {}
    path = Path(log)
    if path.exists():
        for line in path.read_text().splitlines():
            out[line] = out.get(line, 0) + 1
    return out


def source(limit: int = 0) -> Generator[Annotated[int, Name("value")], None, None]:
    """0, 1, 2, ... (``limit`` values; forever if 0)."""
    i = 0
    while not limit or i < limit:
        yield i
        i += 1


def add(x: int, k: int = 1) -> Annotated[int, Name("value")]:
    return x + k


def fail_at(x: int, at: int = 1) -> Annotated[int, Name("value")]:
    """``x``, or ``ValueError`` when ``x == at``."""
    if x == at:
        raise ValueError(f"bad value {x}")
    return x


def stop_at(x: int, at: int = 2) -> Annotated[int, Name("value")]:
    """``x``, or ``StopIteration`` (a plain function saying "no more") when ``x == at``."""
    if x == at:
        raise StopIteration
    return x


class Life:
    """A class node logging ``init:<name>`` / ``deinit:<name>``; ``fail_deinit`` makes deinit raise."""

    def __init__(self, log: str = "", name: str = "life", fail_deinit: bool = False):
        self.log, self.name, self.fail_deinit = log, name, fail_deinit

    def init(self) -> None:
        _log(self.log, f"init:{self.name}")

    def deinit(self) -> None:
        _log(self.log, f"deinit:{self.name}")
        if self.fail_deinit:
            raise OSError(f"deinit of {self.name} failed")

    def process(self, x: int, res: Any = None) -> Annotated[int, Name("value")]:
        return x


@contextlib.contextmanager
def logged(log: str = "", name: str = "res", fail_exit: bool = False) -> Iterator[str]:
    """An asset: logs ``enter:<name>`` / ``exit:<name>``; ``fail_exit`` makes the exit raise."""
    _log(log, f"enter:{name}")
    try:
        yield name
    finally:
        _log(log, f"exit:{name}")
        if fail_exit:
            raise RuntimeError(f"exit of {name} failed")


@contextlib.contextmanager
def slow_logged(log: str = "", name: str = "res", delay: float = 0.001) -> Iterator[str]:
    """:func:`logged` taking ``delay`` seconds to enter and to exit (room for a cancellation)."""
    time.sleep(delay)
    _log(log, f"enter:{name}")
    try:
        yield name
    finally:
        time.sleep(delay)
        _log(log, f"exit:{name}")


async def slow(x: int, res: Any = None, delay: float = 0.001) -> Annotated[int, Name("value")]:
    """``x`` after ``delay`` seconds on the loop."""
    await asyncio.sleep(delay)
    return x


def counter(start: int = 0) -> Iterator[int]:
    """An asset: an iterator counting from ``start``."""
    return iter(range(start, 10**9))


def take(it: Iterator[int]) -> tuple[Annotated[Iterator[int], Name("it")], Annotated[int, Name("value")]]:
    """``next(it)``; passes the iterator on."""
    return it, next(it)


def take_after(it: Iterator[int], after: int) -> tuple[Annotated[Iterator[int], Name("it")], Annotated[int, Name("value")]]:
    """:func:`take`, ordered after another node by ``after``."""
    return it, next(it)

