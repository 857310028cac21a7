"""Node and asset functions for ``test_frictions.py``, annotated the ways the original's docs show."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Annotated

import numpy as np

from noob import Name


def gen_source(start: int = 0) -> Generator[int, None, None]:
    """``Generator[int, None, None]``: emits ``int`` (``start``, ``start + 1``...)."""
    i = start
    while True:
        yield i
        i += 1


def iter_source() -> Iterator[int]:
    """``Iterator[int]``."""
    yield from range(1000)


def named_source() -> Iterator[Annotated[int, Name("count")]]:
    """``Iterator[Annotated[int, Name("count")]]``: one signal ``count``."""
    yield from range(1000)


def annotated_source() -> Annotated[Generator[int, None, None], "a generator"]:
    """``Annotated`` around the generator type."""
    yield from range(1000)


def multiply(left: float, right: float = 2) -> float:
    """The docs' ``multiply`` (``float`` slots: an ``int`` fits)."""
    return left * right


def double(x: int) -> int:
    return 2 * x


class Connection:
    """Holds a lock, like a socket or a database connection: it cannot be copied."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[int] = []


def connect() -> Connection:
    return Connection()


def send(conn: Connection, value: int) -> Annotated[Connection, Name("conn")]:
    """Uses the connection and hands it on (a runner asset's round trip)."""
    conn.sent.append(value)
    return conn


def count_sent(conn: Connection) -> int:
    return len(conn.sent)


# --------------------------------------------------------------------------- the original README's example

def webcam(index: int = 0) -> Generator[np.ndarray, None, None]:
    """The original README's source, without a camera: a frame per epoch."""
    while True:
        yield np.full((2, 2), index)
        index += 1


def display(frame: np.ndarray) -> None:
    """The original README's sink."""


def frame_sum(frame: np.ndarray) -> int:
    return int(frame.sum())


def iter_directory(path: Path) -> Generator[Path, None, None]:
    """The original docs' tube-scoped-input example."""
    for file in sorted(path.iterdir()):
        if file.is_file():
            yield file


def file_name(file: Path) -> str:
    return file.name
