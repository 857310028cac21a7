"""Nodes and an asset that record every instance's init and deinit, for the runner-isolation tests.

``LIFE`` maps ``(kind, id(instance))`` to ``[inits, deinits, instance]`` (the instance is kept
alive so that no id is reused); tests clear it first.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Annotated

from noob import Asset, Name

LIFE: dict[tuple[str, int], list] = {}
_LOCK = threading.Lock()


def _count(kind: str, obj: object, which: int) -> None:
    with _LOCK:
        LIFE.setdefault((kind, id(obj)), [0, 0, obj])[which] += 1


def counter(start: int = 0) -> Generator[Annotated[int, Name("value")], None, None]:
    """A source: start, start + 1, ..."""
    i = start
    while True:
        yield i
        i += 1


class Scale:
    """A class node: ``x * k``; counts its init/deinit."""

    def __init__(self, k: int = 1):
        self.k = k

    def init(self) -> None:
        _count("Scale", self, 0)

    def deinit(self) -> None:
        _count("Scale", self, 1)

    def process(self, x: int) -> Annotated[int, Name("value")]:
        return x * self.k


class Box:
    """What the accumulator asset holds: a running total."""

    def __init__(self) -> None:
        self.total = 0


class Accumulator(Asset):
    """A runner-scoped asset: one ``Box`` per runner; counts its init/deinit."""

    def init(self) -> None:
        _count("Accumulator", self, 0)
        self.obj = Box()

    def deinit(self) -> None:
        _count("Accumulator", self, 1)
        self.obj = None


def add_to(acc: Box, x: int) -> tuple[Annotated[Box, Name("acc")], Annotated[int, Name("total")]]:
    """Add ``x`` to the box in place; emit the box (the round trip) and the new total."""
    acc.total += x
    return acc, acc.total

