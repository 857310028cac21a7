"""Nodes and assets of the command-line test tubes (``tests/data/cli/*.yaml``).

The CLI puts a tube file's directory on ``sys.path``, so these import as ``cli_nodes.<x>``
without ``tests/`` being on the path.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Annotated

from noob import Name


def mul_add(left: int, right: int, offset: int = 0) -> Annotated[int, Name("value")]:
    """``left * right + offset``."""
    return left * right + offset


def counter(start: int = 0, limit: int = 1_000_000) -> Generator[Annotated[int, Name("index")], None, None]:
    """``start``, ``start + 1``, ... (``limit`` values)."""
    yield from range(start, start + limit)


class Slow:
    """Sleeps ``delay`` seconds per call and passes its input on; on ``deinit`` writes ``done``
    to the file ``marker`` (so a test can see the runner deinitialised it)."""

    def __init__(self, marker: str, delay: float = 0.01):
        self.marker = Path(marker)
        self.delay = delay

    def process(self, value: int) -> Annotated[int, Name("value")]:
        time.sleep(self.delay)
        return value

    def deinit(self) -> None:
        self.marker.write_text("done")


def fail_at(value: int, epoch: int = 2) -> Annotated[int, Name("value")]:
    """Raise ``ValueError`` when ``value`` reaches ``epoch``."""
    if value >= epoch:
        raise ValueError(f"value {value} is too large")
    return value


class Opaque:
    """An object JSON cannot encode."""


def opaque(value: int) -> Annotated[Opaque, Name("thing")]:
    return Opaque()


class Window:
    """A runner-scoped asset: the last values seen."""

    def __init__(self, size: int = 4):
        self.size = size
        self.items: list[int] = []


def push(value: int, window: Window) -> tuple[Annotated[float, Name("mean")], Annotated[Window, Name("window")]]:
    """Append ``value`` to the window; emit its mean and the window (stored for the next epoch)."""
    window.items = (window.items + [value])[-window.size:]
    return sum(window.items) / len(window.items), window


def scratch() -> list:
    """A node-scoped asset: a fresh list per call."""
    return []


def describe(mean: float, label: str, buffer: list) -> Annotated[str, Name("text")]:
    buffer.append(mean)
    return f"{label}: {mean:.2f}"


def square(value: int) -> Annotated[int, Name("value")]:
    return value * value
