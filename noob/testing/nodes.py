"""Nodes that the test and documentation tubes refer to as ``noob.testing.<name>``.

Owns: small, predictable node callables of every kind noob accepts — generator sources,
plain and async functions, plain classes (``process`` or ``@process_method``), and
``Node`` subclasses — with the names, signatures, signal names, values and defaults of the
original noob's ``noob.testing`` (so tubes and tests written for it run unchanged), plus a
few helpers of our own (``constant``, ``inplace_add``, ``row_sum``, ``use_func_asset``,
``use_cls_asset``, ``WORDS``).
Must not: import the tube, plan, runner or core modules; these are ordinary user code.

Signals come from return annotations (``A[T, Name("x")]`` → signal ``x``; a tuple of them →
several signals, returned as a tuple). This module deliberately does *not* use
``from __future__ import annotations`` so that annotations are real objects, as in user code.

Where the original drew random words from ``faker``, the words come from the fixed
:data:`WORDS` vocabulary (no extra dependency); the shapes (lengths, uniqueness) are the same.
"""

import asyncio
import itertools
import random
import time
from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Annotated as A
from typing import Any, Optional

import attrs

from noob.edge import Signal, Slot
from noob.event import NoEventable
from noob.node import Node, process_method
from noob.types import Epoch, EventMap, MetaSignal, Name

try:  # numpy is only needed by the array helpers; importing noob.testing must not need it
    import numpy as np

    _NDArray: Any = np.ndarray
except ImportError:  # pragma: no cover
    np = None  # type: ignore[assignment]
    _NDArray = Any

from noob.testing.assets import AssetCls

__all__ = [
    "WORDS",
    "CountSource",
    "CountSourceDecor",
    "DynamicSignals",
    "InitCounter",
    "Multiply",
    "Now",
    "NumberToLetterCls",
    "StatefulMultiply",
    "UnannotatedGenerator",
    "Volume",
    "VolumeProcess",
    "async_error",
    "concat",
    "constant",
    "count_source",
    "cycle",
    "dictify",
    "divide",
    "error",
    "exclaim",
    "fast_forward",
    "increment",
    "inject_epoch",
    "inject_eventmap",
    "inplace_add",
    "input_party",
    "jump",
    "just_wait",
    "letter_source",
    "long_add",
    "multi_concat",
    "multi_words_source",
    "multiply",
    "number_to_letter",
    "passthrough",
    "repeat",
    "rewind",
    "row_sum",
    "sporadic_word",
    "sporadic_word_noevent",
    "switch",
    "this_or_that",
    "use_cls_asset",
    "use_func_asset",
    "word_counts",
    "word_source",
    "zip_iter",
]

# A fixed vocabulary replaces the original's ``faker`` dependency: every word is unique,
# lowercase ASCII and longer than one letter.
WORDS: tuple[str, ...] = (
    "apple", "river", "stone", "cloud", "forest", "candle", "garden", "window", "silver",
    "anchor", "bridge", "castle", "desert", "engine", "feather", "glacier", "harbor",
    "island", "jungle", "kettle", "lantern", "meadow", "needle", "orchard", "pepper",
    "quartz", "ribbon", "saddle", "timber", "umbrella", "valley", "walnut", "yellow",
    "zephyr", "amber", "basket", "cactus", "dragon", "ember", "falcon", "goblet", "hammer",
    "igloo", "jacket", "kitten", "ladder", "marble", "nectar", "oyster", "pillow", "quiver",
    "rocket", "spider", "tunnel", "urchin", "violin", "wizard", "yogurt", "zipper",
    "acorn", "banjo", "copper", "dolphin", "eagle", "fossil", "guitar", "honey", "insect",
    "jigsaw", "koala", "lemon", "mirror", "nutmeg", "olive", "parrot", "quill", "radish",
    "salmon", "tomato", "unicorn", "velvet", "whistle", "xylophone", "yarrow", "zebra",
    "arrow", "blossom", "comet", "dune", "echo", "fjord", "granite", "horizon", "ivory",
    "jasmine", "kernel", "lagoon", "magnet", "nebula", "onion", "pebble", "puzzle",
    "rain", "sunset", "thunder", "umber", "vortex", "willow", "yonder", "zenith", "bamboo",
    "cobalt", "daisy", "elbow", "flint", "gravel", "hazel", "indigo", "juniper", "kayak",
    "lilac", "maple", "noodle", "otter", "prism", "quokka", "raven", "sparrow", "tulip",
    "utensil", "vapor", "wagon", "yeast", "zinc", "badger", "cinder", "drum", "fern",
    "ginger", "heron", "inkwell", "jelly", "lobster", "mango", "nickel", "opal", "plum",
    "rust", "sage", "thistle", "vine", "wren",
)  # fmt: skip

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------- sources


def count_source(limit: int = 10000, start: int = 0) -> Generator[A[int, Name("index")], None, None]:
    """Yield ``start, start+1, …, limit-1`` (``limit`` is an exclusive upper bound); forever if ``limit == 0``."""
    if limit == 0:
        yield from itertools.count(start)
    else:
        yield from range(start, limit)


def letter_source() -> Generator[A[str, Name("letter")], None, None]:
    """Yield ``a`` to ``z`` and start again, forever."""
    yield from itertools.cycle(_LETTERS)


def word_source() -> Generator[A[str, Name("word")], None, None]:
    """Yield a random word (longer than one letter) from :data:`WORDS`, forever."""
    while True:
        yield random.choice(WORDS)


def _unique_words() -> Iterator[str]:
    """Every word at most once: :data:`WORDS` shuffled, then two-word compounds, shuffled."""
    words = list(WORDS)
    random.shuffle(words)
    yield from words
    compounds = ["".join(pair) for pair in itertools.permutations(WORDS, 2)]
    random.shuffle(compounds)
    yield from compounds
    for size in itertools.count(3):  # only reached after ~22 000 words
        yield from ("".join(parts) for parts in itertools.permutations(WORDS, size))


def multi_words_source(n: int) -> Generator[A[list[str], Name("multi_words")], None, None]:
    """Yield lists of ``n`` words, forever; no word repeats over the whole run."""
    words = _unique_words()
    while True:
        yield list(itertools.islice(words, n))


def sporadic_word(every: int = 3) -> Generator[A[str, Name("word")] | None, None, None]:
    """Yield a word on every ``every``-th call (the 3rd, 6th, … by default), ``None`` otherwise."""
    for call in itertools.count(1):
        yield random.choice(WORDS) if call % every == 0 else None


def sporadic_word_noevent(every: int = 3) -> Generator[A[NoEventable[str], Name("word")], None, None]:
    """Like :func:`sporadic_word`, but ``MetaSignal.NoEvent`` instead of ``None``."""
    for call in itertools.count(1):
        yield random.choice(WORDS) if call % every == 0 else MetaSignal.NoEvent


def word_counts() -> Generator[tuple[A[str, Name("word")], A[list[int], Name("counts")]], None, None]:
    """A source of two signals: a random word and a list of 2–5 random integers in 1..100."""
    while True:
        yield random.choice(WORDS), [random.randint(1, 100) for _ in range(random.randint(2, 5))]


def cycle(start: int = 0, stop: int = 100, step: int = 1) -> Generator[A[float, Name("value")], None, None]:
    """Yield ``range(start, stop, step)`` over and over, forever."""
    yield from itertools.cycle(range(start, stop, step))


_SWITCH = (("apple", "banana", "cherry"), ("carrot", "potato", "leek"), ("quartz", "mica", "pyrite"))


def switch() -> Generator[
    tuple[
        A[NoEventable[str], Name("fruits")],
        A[NoEventable[str], Name("vegetables")],
        A[NoEventable[str], Name("minerals")],
    ],
    None,
    None,
]:
    """Fire exactly one of ``fruits`` / ``vegetables`` / ``minerals`` per call, in that order.

    Each signal rotates through three values of its kind; the other two are ``NoEvent``.
    """
    no = MetaSignal.NoEvent
    for turn in itertools.count():
        which, k = turn % 3, (turn // 3) % 3
        out: list[Any] = [no, no, no]
        out[which] = _SWITCH[which][k]
        yield tuple(out)  # type: ignore[misc]


# --------------------------------------------------------------------------- functions


def constant(value: Any) -> A[Any, Name("output")]:
    """Return ``value`` unchanged (a node that outputs a constant)."""
    return value


def multiply(left: int, right: int = 2) -> int:
    """Return ``left * right`` (signal ``value``)."""
    return left * right


def divide(numerator: int, denominator: int = 5) -> A[float, Name("ratio")]:
    """Return ``numerator / denominator``."""
    return numerator / denominator


def concat(strings: list[str]) -> str:
    """Join a list of strings with no separator."""
    return "".join(strings)


def multi_concat(**kwargs: list[str]) -> str:
    """Join the elements of every keyword argument's value, in order, with no separator."""
    return "".join("".join(value) for value in kwargs.values())


def exclaim(string: str, hype: int = 1) -> str:
    """Append ``hype`` exclamation marks to ``string``."""
    return string + "!" * hype


def repeat(string: str, times: int) -> str:
    """Return ``string`` repeated ``times`` times."""
    return string * times


def dictify(key: str, items: list[Any]) -> dict[str, Any]:
    """Return ``{key: items}``."""
    return {key: items}


def error(value: Any) -> None:
    """Raise ``ValueError("This node just emits errors")``."""
    raise ValueError("This node just emits errors")


def input_party(
    one: int, two: float, three: str, four: bool, five: list, six: dict, seven: set
) -> A[bool, Name("works")]:
    """Accept seven inputs of assorted types and return ``True``."""
    return True


def long_add(value: float, sleep_for: float = 0.25) -> float:
    """Sleep ``sleep_for`` seconds, then return ``value + 1``."""
    time.sleep(sleep_for)
    return value + 1


def just_wait(value: Any, wait_for: float = 0.5) -> Any:
    """Sleep ``wait_for`` seconds, then return ``value`` unchanged."""
    time.sleep(wait_for)
    return value


async def number_to_letter(number: int, offset: int = 0) -> str:
    """Return the ``(number + offset) % 26``-th lowercase letter after a random 0–0.1 s sleep."""
    await asyncio.sleep(random.random() * 0.1)
    return _LETTERS[(number + offset) % 26]


async def async_error(value: Any) -> None:
    """Raise ``ValueError("This is the error that should be raised")``, asynchronously."""
    await asyncio.sleep(0)
    raise ValueError("This is the error that should be raised")


def zip_iter(*args: Iterator) -> tuple[Any, ...]:
    """One ``next()`` from each iterator, as a tuple."""
    return tuple(next(arg) for arg in args)


def passthrough(value: Any, *args: Any, **kwargs: Any) -> Any:
    """Return ``(value, args, kwargs)`` as one value."""
    return value, args, kwargs


def inject_epoch(epoch: Epoch) -> Epoch:
    """Return the epoch noob injects into a parameter annotated ``Epoch``."""
    return epoch


def inject_eventmap(special_value: Any, events: EventMap) -> EventMap:
    """Return the events noob injects into a parameter annotated ``EventMap`` (keyed by slot)."""
    return events


def this_or_that(
    this: Optional[Any] = None, that: Optional[Any] = None, the_other: Optional[Any] = None
) -> dict:
    """Return a dict of whichever of the three optional slots were given (not ``None``)."""
    given = {"this": this, "that": that, "the_other": the_other}
    return {k: v for k, v in given.items() if v is not None and v is not MetaSignal.NoEvent}


# --------------------------------------------------------------------------- iterator nodes
# These drive an iterator asset (``noob.testing.counter``, ``itertools.count``) and report
# the last value ``next()`` returned.


def _advance(iterator: Iterator, n: int) -> Any:
    value = 0
    for _ in range(n):
        value = next(iterator)
    return value


def fast_forward(generator: itertools.count, n: int = 1) -> A[int, Name("next")]:
    """Call ``next(generator)`` ``n`` times; return the last value (0 when ``n == 0``)."""
    return _advance(generator, n)


def jump(
    generator: itertools.count, n: int = 1
) -> tuple[A[itertools.count, Name("skirttt")], A[int, Name("next")]]:
    """Call ``next(generator)`` ``n`` times; return the generator and the last value (0 if ``n == 0``)."""
    value = _advance(generator, n)
    return generator, value


def rewind(generator: itertools.count, n: int = 1) -> A[itertools.count, Name("skrittt")]:
    """Advance ``generator`` once and return a *new* ``itertools.count`` starting ``n`` lower."""
    value = next(generator)
    return itertools.count(value - n)


def increment(
    iterator: Iterator[int], increment: int = 1
) -> tuple[A[Iterator[int], Name("iterator")], A[int, Name("value")]]:
    """Call ``next(iterator)`` ``increment`` times; return the iterator and the last value."""
    value = _advance(iterator, increment)
    return iterator, value


# --------------------------------------------------------------------------- asset users


def row_sum(right: Any, row_index: int = 0) -> tuple[A[Any, Name("output")], A[float, Name("sum")]]:
    """Return the array itself (same object, no copy) and the sum of row ``row_index``."""
    return right, float(right[row_index].sum())


def inplace_add(array: Any, amount: float = 1.0) -> A[Any, Name("array")]:
    """Add ``amount`` to ``array`` in place and return the same object."""
    array += amount
    return array


def use_func_asset(param: Any, event: Any, asset: _NDArray) -> A[_NDArray, Name("modified_asset")]:
    """Set ``asset[0][0] = asset.size + param * event`` and return the asset."""
    asset[0][0] = asset.size + param * event
    return asset


def use_cls_asset(param: Any, event: Any, asset: AssetCls) -> A[AssetCls, Name("modified_asset")]:
    """Add ``param + event * asset.y`` to ``asset.x`` and return the asset."""
    asset.x += param + event * asset.y
    return asset


# --------------------------------------------------------------------------- classes


class CountSource(Node):
    """A ``Node`` source yielding ``start, start+1, …, limit-1`` (``limit`` is an upper bound)."""

    limit: int = 1000
    start: int = 0

    def process(self) -> Generator[A[int, Name("index")], None, None]:
        """Yield the next index."""
        yield from range(self.start, self.limit)


class UnannotatedGenerator(Node):
    """A ``Node`` source whose generator ``process`` has no annotation (signal ``value``)."""

    limit: int = 1000
    start: int = 0

    def process(self):  # noqa: ANN201 - deliberately unannotated
        """Yield ``start, start+1, …, limit-1``."""
        yield from range(self.start, self.limit)


class Multiply(Node):
    """A ``Node`` that multiplies two inputs (signal ``product``)."""

    def process(self, left: int, right: int = 2) -> A[int, Name("product")]:
        """Return ``left * right``."""
        return left * right


class StatefulMultiply:
    """A plain class returning ``left * right * current``, where ``current`` counts up from ``start``."""

    def __init__(self, start: int = 0):
        self.current = start

    def process(self, left: float, right: float = 1) -> float:
        """Return ``left * right * current``, then add 1 to ``current``."""
        value = left * right * self.current
        self.current += 1
        return value


class VolumeProcess:
    """A plain class whose ``process(width, depth)`` returns ``width * depth * height``."""

    def __init__(self, height: int = 2):
        self.height = height

    def process(self, width: int, depth: int) -> A[int, Name("volume")]:
        """Return ``width * depth * height``."""
        return width * depth * self.height


class Volume:
    """Like :class:`VolumeProcess`, but the process method is ``volume`` (``@process_method``)."""

    def __init__(self, height: int = 2):
        self.height = height

    @process_method
    def volume(self, width: int, depth: int) -> A[int, Name("volume")]:
        """Return ``width * depth * height``."""
        return width * depth * self.height


class Now:
    """A plain class that remembers when it was created; ``print`` returns that time as text."""

    def __init__(self) -> None:
        self.now = datetime.now()

    @process_method
    def print(self, prefix: str = "Now: ") -> A[str, Name("timestamp")]:
        """Return ``prefix`` followed by the ISO time of construction (prints nothing)."""
        return prefix + self.now.isoformat()


class CountSourceDecor:
    """A plain class whose ``@process_method`` generator yields ``start, start+1, …``."""

    def __init__(self, start: int = 0):
        self.start = start

    @process_method
    def process(self) -> Generator[A[int, Name("count")], None, None]:
        """Yield the next count, forever."""
        yield from itertools.count(self.start)


class NumberToLetterCls:
    """A plain class with an ``async`` process: the ``(number + offset) % 26``-th letter."""

    def __init__(self, offset: int = 0):
        self.offset = offset

    async def process(self, number: int) -> str:
        """Return the letter for ``number + offset`` after a random 0–0.1 s sleep (signal ``value``)."""
        await asyncio.sleep(random.random() * 0.1)
        return _LETTERS[(number + self.offset) % 26]


class InitCounter(Node):
    """A ``Node`` that counts its ``init`` / ``deinit`` calls; ``process`` sleeps 10 ms."""

    def __post_init__(self) -> None:
        self._inits = 0
        self._deinits = 0

    @property
    def inits(self) -> int:
        """How many times ``init`` ran."""
        return self._inits

    @property
    def deinits(self) -> int:
        """How many times ``deinit`` ran."""
        return self._deinits

    def init(self) -> None:
        """Count the call."""
        self._inits += 1

    def deinit(self) -> None:
        """Count the call."""
        self._deinits += 1

    def process(self) -> tuple[A[int, Name("inits")], A[int, Name("deinits")]]:
        """Sleep 10 ms (to expose concurrent runs), then return the init and deinit counts."""
        time.sleep(0.01)
        return self._inits, self._deinits


class DynamicSignals(Node):
    """A ``Node`` whose signals and slots are named by its ``params``: ``signals_`` and ``slots_``.

    ``get_signals`` / ``get_slots`` read them from the spec (``{}`` without a spec or
    params); every slot is required. ``process`` returns the slot values as a tuple, in the
    order they were passed.
    """

    signals_: list[str] = attrs.Factory(list)
    slots_: list[str] = attrs.Factory(list)

    @classmethod
    def get_signals(cls, spec: Any = None) -> dict[str, Signal]:
        """One ``Signal(name, Any)`` per name in ``spec.params["signals_"]``."""
        params = (getattr(spec, "params", None) or {}) if spec is not None else {}
        return {name: Signal(name, Any) for name in params.get("signals_", None) or []}

    @classmethod
    def get_slots(cls, spec: Any = None) -> dict[str, Slot]:
        """One required ``Slot(name, Any)`` per name in ``spec.params["slots_"]``."""
        params = (getattr(spec, "params", None) or {}) if spec is not None else {}
        return {name: Slot(name, Any, required=True) for name in params.get("slots_", None) or []}

    def process(self, **kwargs: Any) -> tuple:
        """Return the values of the slots, in the order given."""
        return tuple(kwargs.values())
