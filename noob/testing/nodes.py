"""Nodes that the test and documentation tubes refer to as ``noob.testing.<name>``.

Owns: small, predictable node callables of every kind noob accepts — generator sources,
plain and async functions, plain classes (``process`` or ``@process_method``), and
``Node`` subclasses — each with the signals its tubes depend on.
Must not: import the tube, plan, runner or core modules; these are ordinary user code.

Signals come from return annotations (``A[T, Name("x")]`` → signal ``x``; a tuple of them →
several signals, returned as a tuple). This module deliberately does *not* use
``from __future__ import annotations`` so that annotations are real objects, as in user code.

Where the original helper's exact values were not specified, the choice made here is stated
in the docstring (e.g. ``count_source``'s ``limit`` counts items; ``sporadic_word`` fires on
the ``every``-th call).
"""

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Annotated as A
from typing import Any

from noob.node import Node, Signal, Slot, process_method
from noob.types import Epoch, MetaSignal, Name

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
    """Yield ``start, start+1, …``: ``limit`` values in all, or forever when ``limit == 0``."""
    counter = itertools.count(start)
    if limit == 0:
        yield from counter
    else:
        yield from itertools.islice(counter, limit)


def letter_source() -> Generator[A[str, Name("letter")], None, None]:
    """Yield ``a`` to ``z`` and start again, forever."""
    yield from itertools.cycle(_LETTERS)


def word_source() -> Generator[A[str, Name("word")], None, None]:
    """Yield a random word (longer than one letter) from :data:`WORDS`, forever."""
    while True:
        yield random.choice(WORDS)


def multi_words_source(n: int = 5) -> Generator[A[list[str], Name("multi_words")], None, None]:
    """Yield a list of ``n`` distinct random words from :data:`WORDS`, forever."""
    while True:
        yield random.sample(WORDS, n)


def sporadic_word(every: int = 3) -> Generator[A[str, Name("word")] | None, None, None]:
    """Yield a word on every ``every``-th call (the 3rd, 6th, … by default), ``None`` otherwise."""
    for call in itertools.count(1):
        yield random.choice(WORDS) if call % every == 0 else None


def sporadic_word_noevent(
    every: int = 3,
) -> Generator[A[str | MetaSignal, Name("word")], None, None]:
    """Like :func:`sporadic_word`, but ``MetaSignal.NoEvent`` instead of ``None``."""
    for call in itertools.count(1):
        yield random.choice(WORDS) if call % every == 0 else MetaSignal.NoEvent


def cycle(start: int = 0, stop: int = 100, step: int = 1) -> Generator[int, None, None]:
    """Yield ``range(start, stop, step)`` over and over, forever."""
    yield from itertools.cycle(range(start, stop, step))


def switch() -> Generator[
    tuple[
        A[str | MetaSignal, Name("fruits")],
        A[str | MetaSignal, Name("vegetables")],
        A[str | MetaSignal, Name("minerals")],
    ],
    None,
    None,
]:
    """Fire exactly one of ``fruits`` / ``vegetables`` / ``minerals`` per call, in that order."""
    no = MetaSignal.NoEvent
    choices = (
        ("apple", no, no),
        (no, "carrot", no),
        (no, no, "quartz"),
    )
    yield from itertools.cycle(choices)


# --------------------------------------------------------------------------- functions


def constant(value: Any) -> A[Any, Name("output")]:
    """Return ``value`` unchanged (a node that outputs a constant)."""
    return value


def multiply(
    left: Any | None = None,
    right: Any = 2,
    array: Any | None = None,
    multiplier: float | None = None,
) -> tuple[A[Any, Name("value")], A[Any, Name("result")]]:
    """Return ``left * right``, or multiply ``array`` in place by ``multiplier`` (default 2).

    Serves two documented uses with one function: the original ``multiply(left, right=2)``
    (signal ``value``) and the assets guide's ``params: {multiplier: 2}`` /
    ``depends: {array: y.output}`` (signal ``result``). Both signals carry the same object.
    With ``array`` given it is modified in place and returned (no copy). With neither
    ``left`` nor ``array`` (an optional slot whose source did not fire) both signals are
    ``MetaSignal.NoEvent``.
    """
    if array is not None:
        array *= 2 if multiplier is None else multiplier
        return array, array
    if left is None:
        return MetaSignal.NoEvent, MetaSignal.NoEvent
    value = left * right
    return value, value


def divide(numerator: float, denominator: float = 5) -> A[float, Name("ratio")]:
    """Return ``numerator / denominator``."""
    return numerator / denominator


def concat(strings: list[str]) -> str:
    """Join a list of strings with no separator."""
    return "".join(str(s) for s in strings)


def multi_concat(**kwargs: Any) -> str:
    """Join the values of all keyword arguments, in the order given, with no separator."""
    return "".join(str(v) for v in kwargs.values())


def exclaim(string: str, hype: int = 1) -> str:
    """Append ``hype`` exclamation marks to ``string``."""
    return string + "!" * hype


def repeat(string: str, times: int) -> str:
    """Return ``string`` repeated ``times`` times."""
    return string * times


def dictify(key: str, items: Any) -> dict:
    """Return ``{key: items}``."""
    return {key: items}


def word_counts(word: str) -> tuple[A[str, Name("word")], A[dict[str, int], Name("counts")]]:
    """Return the word and a dict of how often each of its letters occurs."""
    return word, dict(Counter(word))


def error(value: Any) -> Any:
    """Raise ``ValueError("This node just emits errors")``."""
    raise ValueError("This node just emits errors")


def input_party(
    one: Any, two: Any, three: Any, four: Any, five: Any, six: Any, seven: Any
) -> A[bool, Name("works")]:
    """Accept seven inputs of any kind and return ``True``."""
    return True


def long_add(value: float, sleep_for: float = 0.25) -> float:
    """Sleep ``sleep_for`` seconds, then return ``value + 1``."""
    time.sleep(sleep_for)
    return value + 1


def just_wait(value: Any, wait_for: float = 0.5) -> Any:
    """Sleep ``wait_for`` seconds, then return ``value`` unchanged."""
    time.sleep(wait_for)
    return value


async def number_to_letter(number: int, offset: int = 0) -> A[str, Name("letter")]:
    """Return the ``(number + offset) % 26``-th lowercase letter, after yielding to the loop."""
    await asyncio.sleep(0)
    return _LETTERS[(number + offset) % 26]


async def async_error(value: Any) -> Any:
    """Raise ``ValueError("This is the error that should be raised")``, asynchronously."""
    await asyncio.sleep(0)
    raise ValueError("This is the error that should be raised")


def zip_iter(*args: Any) -> list[tuple]:
    """Return ``list(zip(*args))``."""
    return list(zip(*args))


def passthrough(value: Any, *args: Any, **kwargs: Any) -> Any:
    """Return ``(value, args, kwargs)`` as one value."""
    return value, args, kwargs


def inject_epoch(epoch: Epoch) -> Epoch:
    """Return the epoch noob injects into a parameter annotated ``Epoch``."""
    return epoch


def this_or_that(
    this: Any | None = None, that: Any | None = None, the_other: Any | None = None
) -> dict:
    """Return a dict of whichever of the three optional slots were given (not ``None``)."""
    given = {"this": this, "that": that, "the_other": the_other}
    return {k: v for k, v in given.items() if v is not None and v is not MetaSignal.NoEvent}


# --------------------------------------------------------------------------- iterator nodes
# These drive a ``noob.testing.counter`` asset (or any iterator). After advancing, they
# report the iterator's ``current`` (the value the next ``next()`` would return) when it has
# one, else the last value ``next()`` returned.


def _advance(iterator: Any, n: int) -> Any:
    last = None
    for _ in range(n):
        last = next(iterator)
    return getattr(iterator, "current", last)


def fast_forward(generator: Any, n: int = 1) -> A[Any, Name("next")]:
    """Advance ``generator`` ``n`` times; return its ``current`` (else the last value)."""
    return _advance(generator, n)


def jump(generator: Any, n: int = 1) -> tuple[A[Any, Name("skirttt")], A[Any, Name("next")]]:
    """Advance ``generator`` ``n`` times; return it and its ``current`` (else the last value)."""
    value = _advance(generator, n)
    return generator, value


def rewind(generator: Any, n: int = 1) -> A[Any, Name("skrittt")]:
    """Move a :class:`~noob.testing.counter` back by ``n`` (``current -= n``) and return it."""
    generator.current -= n
    return generator


def increment(
    iterator: Any, increment: int = 1
) -> tuple[A[Any, Name("iterator")], A[Any, Name("value")]]:
    """Advance ``iterator`` ``increment`` times; return it and its ``current`` (else last value)."""
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
    """A ``Node`` source yielding ``start, start+1, …``: ``limit`` values, or forever if 0."""

    limit: int = 10000
    start: int = 0

    def process(self) -> Generator[A[int, Name("index")], None, None]:
        """Yield the next index."""
        counter = itertools.count(self.start)
        yield from (counter if self.limit == 0 else itertools.islice(counter, self.limit))


class UnannotatedGenerator(Node):
    """A ``Node`` source whose generator ``process`` has no annotation (signal ``value``)."""

    def process(self):  # noqa: ANN201 - deliberately unannotated
        """Yield 0, 1, 2, … forever."""
        yield from itertools.count()


class Multiply(Node):
    """A ``Node`` that multiplies two inputs (signal ``product``)."""

    def process(self, left: float, right: float = 2) -> A[float, Name("product")]:
        """Return ``left * right``."""
        return left * right


class StatefulMultiply:
    """A plain class returning ``left * right * current``, where ``current`` counts up from ``start``."""

    def __init__(self, start: int = 0):
        self.current = start

    def process(self, left: float, right: float) -> float:
        """Return ``left * right * current``, then add 1 to ``current``."""
        value = left * right * self.current
        self.current += 1
        return value


class VolumeProcess:
    """A plain class whose ``process(width, depth)`` returns ``width * depth * height``."""

    def __init__(self, height: float = 2):
        self.height = height

    def process(self, width: float, depth: float) -> A[float, Name("volume")]:
        """Return ``width * depth * height``."""
        return width * depth * self.height


class Volume:
    """Like :class:`VolumeProcess`, but the process method is ``volume`` (``@process_method``)."""

    def __init__(self, height: float = 2):
        self.height = height

    @process_method
    def volume(self, width: float, depth: float) -> A[float, Name("volume")]:
        """Return ``width * depth * height``."""
        return width * depth * self.height


class Now:
    """A plain class whose ``@process_method print`` prints and returns the current time."""

    @process_method
    def print(self, prefix: str = "Now: ") -> A[datetime, Name("timestamp")]:
        """Print ``prefix`` and the current UTC time; return that time."""
        now = datetime.now(UTC)
        print(f"{prefix}{now.isoformat()}")
        return now


class CountSourceDecor:
    """A plain class whose ``@process_method`` generator yields ``start, start+1, …``."""

    def __init__(self, start: int = 0):
        self.start = start

    @process_method
    def count(self) -> Generator[A[int, Name("count")], None, None]:
        """Yield the next count, forever."""
        yield from itertools.count(self.start)


class NumberToLetterCls:
    """A plain class with an ``async`` process: the ``(number + offset) % 26``-th letter."""

    def __init__(self, offset: int = 0):
        self.offset = offset

    async def process(self, number: int) -> A[str, Name("letter")]:
        """Return the letter for ``number + offset``, after yielding to the event loop."""
        await asyncio.sleep(0)
        return _LETTERS[(number + self.offset) % 26]


class InitCounter(Node):
    """A ``Node`` that counts its ``init`` / ``deinit`` calls (``init`` sleeps 10 ms)."""

    def __post_init__(self) -> None:
        self.inits = 0
        self.deinits = 0

    def init(self) -> None:
        """Sleep 10 ms (to expose concurrent or repeated inits), then count the call."""
        time.sleep(0.01)
        self.inits += 1

    def deinit(self) -> None:
        """Count the call."""
        self.deinits += 1

    def process(self) -> tuple[A[int, Name("inits")], A[int, Name("deinits")]]:
        """Return how many times ``init`` and ``deinit`` have run."""
        return self.inits, self.deinits


def _names(value: Any, param: str) -> list[tuple[str, Any]]:
    """Normalise ``signals_`` / ``slots_``: a list of names or a ``{name: annotation}`` dict."""
    if value is None:
        return []
    if isinstance(value, str):
        raise TypeError(f"DynamicSignals param {param!r} must be a list of names, got the string {value!r}")
    if isinstance(value, dict):
        return [(str(k), Any if v is None else v) for k, v in value.items()]
    return [(str(v), Any) for v in value]


class DynamicSignals(Node):
    """A ``Node`` whose signals and slots are read from its spec's ``params["signals_"]`` / ``["slots_"]``.

    Each param is a list of names (or a ``{name: annotation}`` dict). ``process`` returns, for
    each signal in order, the value of the slot at the same position (``None`` if there is
    none); a single signal gets the bare value.
    """

    signals_: Any = None
    slots_: Any = None

    @classmethod
    def get_signals(cls, spec: Any = None) -> list[Signal]:
        """One ``Signal`` per name in ``spec.params["signals_"]``; ``ValueError`` without a spec."""
        if spec is None:
            raise ValueError("DynamicSignals needs its specification to compute its signals")
        params = getattr(spec, "params", None) or {}
        return [Signal(name, ann) for name, ann in _names(params.get("signals_"), "signals_")]

    @classmethod
    def get_slots(cls, spec: Any = None) -> list[Slot]:
        """One ``Slot`` per name in ``spec.params["slots_"]``; ``ValueError`` without a spec."""
        if spec is None:
            raise ValueError("DynamicSignals needs its specification to compute its slots")
        params = getattr(spec, "params", None) or {}
        return [Slot(name, ann) for name, ann in _names(params.get("slots_"), "slots_")]

    def process(self, **kwargs: Any) -> Any:
        """Return the slot values positionally matched to the signals."""
        signals = [n for n, _ in _names(self.signals_, "signals_")]
        slots = [n for n, _ in _names(self.slots_, "slots_")] or list(kwargs)
        values = [kwargs.get(slots[i]) if i < len(slots) else None for i in range(len(signals))]
        if len(values) == 1:
            return values[0]
        return tuple(values)
