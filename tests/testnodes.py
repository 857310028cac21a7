"""Node code used by the scenario tubes in tests/data (importable as ``testnodes.*``)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Annotated, Any, Generator, Optional

from noob import Epoch, MetaSignal, Name, Node

CALLS: list[str] = []


def plus1(x: int) -> int:
    """x + 1."""
    return x + 1


def add(a: int, b: int = 0) -> int:
    """a + b."""
    return a + b


def pos_only(a: int, b: int, /) -> int:
    """a - b, both positional-only."""
    return a - b


def star_args(*args: int) -> tuple:
    """All positional arguments as a tuple."""
    return args


def returns_none(x: Any) -> None:
    """Always None, which is an ordinary value."""
    return None


def is_none(x: Any) -> bool:
    """True if x is None."""
    return x is None


def odd_noevent(x: int) -> int:
    """x if x is odd, else no event."""
    return x if x % 2 else MetaSignal.NoEvent


def two_signals(x: int) -> tuple[Annotated[int, Name("double")], Annotated[int, Name("triple")]]:
    """2x and 3x."""
    return 2 * x, 3 * x


def maybe_sum(a: int, b: Optional[int] = None) -> int:
    """a + b, with b optional."""
    return a + (b or 0)


def with_epoch(x: int, epoch: Epoch) -> tuple:
    """(x, root of the injected epoch)."""
    return (x, epoch.root)


def boom(x: int) -> int:
    """Raise ValueError on 2."""
    if x == 2:
        raise ValueError("two is not allowed")
    return x


async def async_double(x: int) -> int:
    """2x, after yielding to the loop."""
    await asyncio.sleep(0)
    return 2 * x


def finite(n: int = 3) -> Generator[Annotated[int, Name("item")], None, None]:
    """0..n-1."""
    yield from range(n)


class Accumulate:
    """A plain class keeping a running total."""

    def __init__(self, start: int = 0):
        self.total = start
        self.inited = False

    def init(self) -> None:
        self.inited = True

    def process(self, x: int) -> Annotated[int, Name("total")]:
        self.total += x
        return self.total


class Scale(Node):
    """A Node subclass with a declared parameter and lifecycle counters."""

    factor: int = 3
    inits: int = 0
    deinits: int = 0

    def init(self) -> None:
        type(self).inits += 1
        CALLS.append(f"init {self.id}")

    def deinit(self) -> None:
        type(self).deinits += 1
        CALLS.append(f"deinit {self.id}")

    def process(self, x: int) -> Annotated[int, Name("scaled")]:
        return x * self.factor


class Lifecycle(Node):
    """Records init/deinit calls in CALLS."""

    def init(self) -> None:
        CALLS.append(f"init {self.id}")

    def deinit(self) -> None:
        CALLS.append(f"deinit {self.id}")

    def process(self, x: int) -> int:
        return x


# ---------------------------------------------------------------- assets with counters

from contextlib import contextmanager  # noqa: E402

from noob import Asset  # noqa: E402

LIFE: dict[str, int] = {"init": 0, "deinit": 0, "enter": 0, "exit": 0}


def reset_life() -> None:
    for key in LIFE:
        LIFE[key] = 0


class CountedAsset(Asset):
    """An Asset subclass counting init/deinit; its obj is a fresh list."""

    size: int = 0

    def init(self) -> None:
        LIFE["init"] += 1
        self.obj = [0] * self.size

    def deinit(self) -> None:
        LIFE["deinit"] += 1
        self.obj = None


@contextmanager
def counted_cm(start: int = 0):
    """A context-manager asset counting enter/exit; yields a one-item list."""
    LIFE["enter"] += 1
    try:
        yield [start]
    finally:
        LIFE["exit"] += 1


def failing_factory() -> Any:
    """An asset factory that always fails."""
    raise OSError("device not found")


def bump(box: list) -> Annotated[list, Name("box")]:
    """Add one to box[0] in place and return the same list."""
    box[0] += 1
    return box


def bump_fail_on_3(box: list) -> Annotated[list, Name("box")]:
    """Like bump, but raise when box[0] reaches 3."""
    box[0] += 1
    if box[0] == 3:
        raise RuntimeError("box hit 3")
    return box


def read(box: list) -> int:
    """box[0]."""
    return box[0]


def read_after(box: list, after: Any) -> int:
    """box[0], once ``after`` has fired (orders two users of one asset)."""
    return box[0]


def ident(box: Any) -> Annotated[Any, Name("box")]:
    """Return the object itself (identity is observed by tests)."""
    return box


def first_times_ten(items: list) -> Annotated[list, Name("box")]:
    """A new one-item list: ten times the first gathered box's value."""
    return [items[0][0] * 10]


def upper(letter: str) -> str:
    """letter.upper()."""
    return letter.upper()


def join(items: list) -> str:
    """''.join(items)."""
    return "".join(items)


def words(n: int = 3) -> Generator[Annotated[list, Name("words")], None, None]:
    """Lists of n words, forever: ['w0', 'w1', ...], then ['w1', ...]."""
    k = 0
    while True:
        yield [f"w{k + i}" for i in range(n)]
        k += 1


def sized(n: int = 0) -> Generator[Annotated[list, Name("items")], None, None]:
    """[0..n-1], then [0..n], ... (the first epoch's list has n items)."""
    while True:
        yield list(range(n))
        n += 1


# ---------------------------------------------------------------- async runner helpers

import threading  # noqa: E402
import time  # noqa: E402

ASYNC_LIFE: dict[str, Any] = {"init": 0, "deinit": 0, "loops": [], "cancelled": 0, "peak": 0, "active": 0}
_active_lock = threading.Lock()


def reset_async_life() -> None:
    ASYNC_LIFE.update(init=0, deinit=0, loops=[], cancelled=0, peak=0, active=0)


def mix(a: int, b: Optional[int] = None, c: Optional[int] = None) -> int:
    """a + b + c (missing ones count 0); no event when the sum is a multiple of 3."""
    total = a + (b or 0) + (c or 0)
    return MetaSignal.NoEvent if total % 3 == 0 else total


async def sleep_then(x: int, delay: float = 0.01) -> int:
    """x, after ``await asyncio.sleep(delay)``; counts calls in flight (ASYNC_LIFE peak)."""
    ASYNC_LIFE["active"] += 1
    ASYNC_LIFE["peak"] = max(ASYNC_LIFE["peak"], ASYNC_LIFE["active"])
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        ASYNC_LIFE["cancelled"] += 1
        raise
    finally:
        ASYNC_LIFE["active"] -= 1
    return x


def block_then(x: int, delay: float = 0.01) -> int:
    """x, after ``time.sleep(delay)`` (a blocking node, for the thread pool)."""
    with _active_lock:
        ASYNC_LIFE["active"] += 1
        ASYNC_LIFE["peak"] = max(ASYNC_LIFE["peak"], ASYNC_LIFE["active"])
    time.sleep(delay)
    with _active_lock:
        ASYNC_LIFE["active"] -= 1
    return x


async def async_boom(x: int, delay: float = 0.0) -> int:
    """Raise ValueError on 2, after ``delay`` seconds."""
    await asyncio.sleep(delay)
    if x == 2:
        raise ValueError("async two is not allowed")
    return x


class AsyncLifecycle(Node):
    """async init/deinit: counts them in ASYNC_LIFE and records the loop they ran on."""

    async def init(self) -> None:
        await asyncio.sleep(0)
        ASYNC_LIFE["init"] += 1
        ASYNC_LIFE["loops"].append(asyncio.get_running_loop())

    async def deinit(self) -> None:
        await asyncio.sleep(0)
        ASYNC_LIFE["deinit"] += 1
        ASYNC_LIFE["loops"].append(asyncio.get_running_loop())

    def process(self, x: int) -> int:
        return x


class AsyncCountedAsset(Asset):
    """An Asset subclass with async init/deinit (counted in LIFE); its obj is a one-item list."""

    async def init(self) -> None:
        await asyncio.sleep(0)
        LIFE["init"] += 1
        self.obj = [0]

    async def deinit(self) -> None:
        await asyncio.sleep(0)
        LIFE["deinit"] += 1
        self.obj = None


async def hold(box: list, x: int = 0, delay: float = 0.01) -> Annotated[int, Name("seen")]:
    """Put a marker in box, wait, and return box[0] — another call sharing the box would change it."""
    box[0] = (id(box), x)
    await asyncio.sleep(delay)
    return box[0] == (id(box), x)


def scale_array(array: Any, multiplier: float = 2) -> Annotated[Any, Name("result")]:
    """Multiply ``array`` in place by ``multiplier`` and return the same object (signal ``result``)."""
    array *= multiplier
    return array


def letter_counts(word: str) -> tuple[Annotated[str, Name("word")], Annotated[dict, Name("counts")]]:
    """The word and how often each of its letters occurs (fails on a non-string)."""
    return word, {c: word.count(c) for c in word}


def interrupt_at(x: int, at: int = 3) -> Annotated[int, Name("value")]:
    """Pass ``x`` through; raise ``KeyboardInterrupt`` (as Ctrl-C would) when ``x == at``."""
    if x == at:
        raise KeyboardInterrupt
    return x


def stop_at(x: int, at: int = 3) -> int:
    """Pass ``x`` through; raise ``StopIteration`` (a plain function saying "no more") at ``x == at``."""
    if x == at:
        raise StopIteration
    return x


# ---------------------------------------------------------------- map / gather semantics


def numbered_items(n: int = 3) -> Generator[tuple[Annotated[int, Name("u")], Annotated[list, Name("items")]], None, None]:
    """``(k, [0, ..., n-1])`` in epoch k."""
    for k in itertools.count():
        yield k, list(range(n))


class FailOnce:
    """``x + 10``, but raises ``ValueError`` the first time it is given ``at``."""

    def __init__(self, at: int = 1):
        self.at = at
        self.failed = False

    def process(self, x: int) -> int:
        if x == self.at and not self.failed:
            self.failed = True
            raise ValueError(f"failing once on {x}")
        return x + 10


def nested_lists() -> Generator[Annotated[list, Name("lists")], None, None]:
    """``[[], [0], [0, 1]]``, then ``[[0], []]``, then the first again, and so on."""
    while True:
        yield [[], [0], [0, 1]]
        yield [[0], []]


def sum_list(items: list) -> int:
    """``sum(items)``."""
    return sum(items)


def lists_with_two() -> Generator[Annotated[list, Name("lists")], None, None]:
    """``[[0, 1], [1, 2, 3]]`` forever (``boom`` fails on the 2)."""
    while True:
        yield [[0, 1], [1, 2, 3]]


def to_tuple(items: list) -> tuple:
    """``tuple(items)``."""
    return tuple(items)
