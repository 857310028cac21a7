"""Instrumented nodes and assets for the reliability suite.

Every lifecycle call is counted in ``LOG`` (a ``Counter`` of ``"init <id>"``,
``"deinit <id>"``, ``"open <asset>"``, ``"close <asset>"``), so a test can check that each
node and asset initialised was also deinitialised, exactly once. ``FAULTS`` makes a hook
raise: ``FAULTS["init <id>"] = exc`` raises ``exc`` from that hook (deinit, open, close alike).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Generator
from typing import Annotated, Any

from noob import Asset, Name, Node

LOG: collections.Counter[str] = collections.Counter()
FAULTS: dict[str, BaseException] = {}
_LOCK = threading.Lock()


class Boom(RuntimeError):
    """The exception a failing node raises (a type of the user's own)."""


def reset() -> None:
    LOG.clear()
    FAULTS.clear()


def hit(event: str) -> None:
    """Count ``event`` and raise the fault registered for it, if any.

    A failed ``init``/``open`` is not counted (nothing was opened, nothing must be closed);
    a failed ``deinit``/``close`` is (the hook was called).
    """
    fault = FAULTS.get(event)
    if fault is not None and event.startswith(("init ", "open ")):
        raise fault
    with _LOCK:
        LOG[event] += 1
    if fault is not None:
        raise fault


def balanced() -> dict[str, tuple[int, int]]:
    """``{thing: (opened, closed)}`` for every node and asset whose counts differ."""
    out = {}
    for key in list(LOG):
        verb, _, name = key.partition(" ")
        if verb in ("init", "open"):
            closed = LOG[f"{'deinit' if verb == 'init' else 'close'} {name}"]
            if closed != LOG[key]:
                out[name] = (LOG[key], closed)
    return out


# ---------------------------------------------------------------------------- nodes
def fail_at(x: int, at: int = -1, box: Any = None) -> int:
    """``x``, or raise ``Boom`` when ``x == at``."""
    if x == at:
        raise Boom(f"fail_at {at}")
    return x


async def afail_at(x: int, at: int = -1, box: Any = None) -> int:
    """The async ``fail_at``."""
    await asyncio.sleep(0)
    if x == at:
        raise Boom(f"afail_at {at}")
    return x


def gen_fail_at(at: int = -1) -> Generator[Annotated[int, Name("value")], None, None]:
    """A source yielding 0, 1, 2, ... that raises ``Boom`` at step ``at``."""
    i = 0
    while True:
        if i == at:
            raise Boom(f"gen_fail_at {at}")
        yield i
        i += 1


def listify_or_not(x: int, at: int = -1) -> Any:
    """``[x, x]``, but the bare (non-iterable) ``x`` when ``x == at``."""
    return x if x == at else [x, x]


def interrupt_at(x: int, at: int = -1) -> int:
    """``x``, or raise ``KeyboardInterrupt`` (a Ctrl-C mid-epoch) when ``x == at``."""
    if x == at:
        raise KeyboardInterrupt
    return x


def slow(x: int, delay: float = 0.2) -> int:
    """``x`` after ``delay`` seconds (a thread-blocking node)."""
    time.sleep(delay)
    return x


async def aslow(x: int, delay: float = 0.2) -> int:
    """``x`` after ``delay`` seconds on the loop (cancellable)."""
    await asyncio.sleep(delay)
    return x


class FailClass:
    """A plain class node with init/deinit counted; ``process`` raises at ``at``."""

    def __init__(self, at: int = -1, name: str = "FailClass"):
        self.at = at
        self.name = name

    def init(self) -> None:
        hit(f"init {self.name}")

    def deinit(self) -> None:
        hit(f"deinit {self.name}")

    def process(self, x: int, box: Any = None) -> int:
        if x == self.at:
            raise Boom(f"FailClass {self.at}")
        return x


class FailNode(Node):
    """A ``Node`` subclass with init/deinit counted under its id; ``process`` raises at ``at``."""

    at: int = -1

    def init(self) -> None:
        hit(f"init {self.id}")

    def deinit(self) -> None:
        hit(f"deinit {self.id}")

    def process(self, x: int, box: Any = None) -> int:
        if x == self.at:
            raise Boom(f"FailNode {self.at}")
        return x


class Tracked(Node):
    """A bystander node: counts init/deinit under its id and passes ``x`` through."""

    def init(self) -> None:
        hit(f"init {self.id}")

    def deinit(self) -> None:
        hit(f"deinit {self.id}")

    def process(self, x: Any, box: Any = None, pbox: Any = None) -> Any:
        return x


# ---------------------------------------------------------------------------- assets
class CountedAsset(Asset):
    """An ``Asset`` subclass counting open/close under its id; ``obj`` is a fresh list."""

    def init(self) -> None:
        hit(f"open {self.id}")
        self.obj = [self.id]

    def deinit(self) -> None:
        hit(f"close {self.id}")
        self.obj = None


@contextlib.contextmanager
def counted_cm(name: str = "cm") -> Any:
    """A context-manager asset counting enter (``open``) and exit (``close``)."""
    hit(f"open {name}")
    try:
        yield [name]
    finally:
        hit(f"close {name}")


RENDEZVOUS: list[threading.Barrier] = []


def rendezvous(x: int, at: int = -1) -> int:
    """``x``; at ``x == at`` wait on ``RENDEZVOUS[0]`` until every thread's runner is there too."""
    if x == at:
        RENDEZVOUS[0].wait(timeout=30)
    return x
