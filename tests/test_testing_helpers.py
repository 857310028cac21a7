"""The helpers in ``noob.testing``, called directly (no runner): values and signals."""

import asyncio
import collections.abc
import copy
import inspect
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

import noob.testing as t
from noob.node import Node, Signal, Slot, signals_of, slots_of
from noob.types import Epoch, MetaSignal

NoEvent = MetaSignal.NoEvent


def names(signals):
    return [s.name for s in signals]


def take(gen, n):
    return list(itertools.islice(gen, n))


def pull_all(node):
    """Every value of a wrapped generator ``Node`` until it is exhausted."""
    out = []
    while True:
        try:
            out.append(node.process())
        except StopIteration:
            return out


def pull(node, n):
    """``n`` values from a ``Node`` whose ``process`` is a generator, wrapped or not."""
    first = node.process()
    if inspect.isgenerator(first):
        return take(first, n)
    return [first, *(node.process() for _ in range(n - 1))]


# --------------------------------------------------------------------------- signals


FUNCTION_SIGNALS = [
    (t.count_source, ["index"]),
    (t.letter_source, ["letter"]),
    (t.word_source, ["word"]),
    (t.multi_words_source, ["multi_words"]),
    (t.sporadic_word, ["word"]),
    (t.sporadic_word_noevent, ["word"]),
    (t.word_counts, ["word", "counts"]),
    (t.multiply, ["value"]),
    (t.divide, ["ratio"]),
    (t.concat, ["value"]),
    (t.multi_concat, ["value"]),
    (t.exclaim, ["value"]),
    (t.repeat, ["value"]),
    (t.dictify, ["value"]),
    (t.error, ["value"]),
    (t.input_party, ["works"]),
    (t.long_add, ["value"]),
    (t.number_to_letter, ["value"]),
    (t.async_error, ["value"]),
    (t.fast_forward, ["next"]),
    (t.jump, ["skirttt", "next"]),
    (t.rewind, ["skrittt"]),
    (t.zip_iter, ["value"]),
    (t.increment, ["iterator", "value"]),
    (t.passthrough, ["value"]),
    (t.inject_epoch, ["value"]),
    (t.inject_eventmap, ["value"]),
    (t.just_wait, ["value"]),
    (t.switch, ["fruits", "vegetables", "minerals"]),
    (t.this_or_that, ["value"]),
    (t.cycle, ["value"]),
    (t.constant, ["output"]),
    (t.row_sum, ["output", "sum"]),
    (t.inplace_add, ["array"]),
    (t.use_func_asset, ["modified_asset"]),
    (t.use_cls_asset, ["modified_asset"]),
    (t.StatefulMultiply.process, ["value"]),
    (t.VolumeProcess.process, ["volume"]),
    (t.Volume.volume, ["volume"]),
    (t.Now.print, ["timestamp"]),
    (t.CountSourceDecor.process, ["count"]),
    (t.NumberToLetterCls.process, ["value"]),
]


@pytest.mark.parametrize("fn, expected", FUNCTION_SIGNALS, ids=lambda x: getattr(x, "__qualname__", ""))
def test_function_signals(fn, expected):
    """Each helper's return annotation yields the documented signal names, in order."""
    assert expected == names(signals_of(fn))


@pytest.mark.parametrize(
    "cls, expected",
    [
        (t.CountSource, ["index"]),
        (t.UnannotatedGenerator, ["value"]),
        (t.Multiply, ["product"]),
        (t.InitCounter, ["inits", "deinits"]),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_node_signals(cls, expected):
    """``Node`` subclasses report their signals through ``get_signals``."""
    assert expected == names(cls.get_signals())


def test_optional_slots():
    """``Optional[T] = None`` parameters are optional slots; plain defaults stay required."""
    assert {"this": False, "that": False, "the_other": False} == {
        s.name: s.required for s in slots_of(t.this_or_that)
    }
    assert {"left": True, "right": True} == {s.name: s.required for s in slots_of(t.multiply)}


def test_generator_sources_have_no_slots():
    """Parameterless generator sources have no slots."""
    for fn in (t.letter_source, t.word_source, t.switch, t.word_counts):
        assert [] == slots_of(fn)


def test_injected_slots():
    """``inject_epoch`` / ``inject_eventmap`` parameters are marked for injection; ``six: dict`` is not."""
    assert ["epoch"] == [s.injection for s in slots_of(t.inject_epoch)]
    assert [None, "events"] == [s.injection for s in slots_of(t.inject_eventmap)]
    assert [None] * 7 == [s.injection for s in slots_of(t.input_party)]


def test_every_helper_has_a_docstring():
    """Every public helper carries a docstring."""
    missing = [n for n in t.__all__ if callable(getattr(t, n)) and not getattr(t, n).__doc__]
    assert [] == missing


def test_no_passthrough_getattr():
    """Unknown names are an ``AttributeError`` (no catch-all passthrough)."""
    with pytest.raises(AttributeError):
        t.anything  # noqa: B018


# --------------------------------------------------------------------------- sources


def test_count_source():
    """``count_source`` yields ``start .. limit-1`` (an exclusive upper bound); ``limit=0`` is endless."""
    assert [0, 1, 2] == list(t.count_source(limit=3))
    assert [5, 6] == list(t.count_source(limit=7, start=5))
    assert [] == list(t.count_source(limit=2, start=5))
    assert 10000 == sum(1 for _ in t.count_source())
    assert [0, 1, 2, 3, 4] == take(t.count_source(limit=0), 5)


def test_letter_source_cycles():
    """``letter_source`` goes a..z and wraps around."""
    letters = take(t.letter_source(), 28)
    assert "abcdefghijklmnopqrstuvwxyzab" == "".join(letters)


def test_word_sources():
    """Words are longer than one letter; ``multi_words`` are ``n`` unique words."""
    words = take(t.word_source(), 50)
    assert all(isinstance(w, str) and len(w) > 1 for w in words)
    batches = take(t.multi_words_source(7), 40)
    assert all(7 == len(batch) for batch in batches)
    every = [w for batch in batches for w in batch]
    assert len(every) == len(set(every))  # no repeats over the whole run (280 > len(WORDS))
    assert len(t.WORDS) == len(set(t.WORDS))


def test_word_counts_source():
    """``word_counts`` is a source of a word and 2-5 integers in 1..100."""
    for word, counts in take(t.word_counts(), 50):
        assert isinstance(word, str) and len(word) > 1
        assert 2 <= len(counts) <= 5 and all(1 <= c <= 100 for c in counts)


def test_sporadic_word():
    """A word on every ``every``-th call, ``None`` otherwise."""
    values = take(t.sporadic_word(every=3), 9)
    assert [False, False, True] * 3 == [v is not None for v in values]


def test_sporadic_word_noevent():
    """Like ``sporadic_word`` but with ``MetaSignal.NoEvent`` as the gap."""
    values = take(t.sporadic_word_noevent(every=2), 4)
    assert [NoEvent, NoEvent] == [values[0], values[2]]
    assert all(isinstance(v, str) and v is not NoEvent for v in (values[1], values[3]))


def test_switch_cycles_one_signal_at_a_time():
    """Exactly one of the three signals fires per call, in order."""
    triples = take(t.switch(), 9)
    fired = [[v is not NoEvent for v in triple] for triple in triples]
    rows = [[True, False, False], [False, True, False], [False, False, True]]
    assert rows * 3 == fired
    fruits = [triple[0] for triple in triples if triple[0] is not NoEvent]
    assert 3 == len(set(fruits))  # each signal rotates through three values


def test_cycle():
    """``cycle`` repeats ``range(start, stop, step)``."""
    assert [0, 2, 4, 0, 2] == take(t.cycle(0, 6, 2), 5)


# --------------------------------------------------------------------------- functions


def test_arithmetic_and_strings():
    """Plain value helpers return the documented values."""
    assert 6 == t.multiply(3)
    assert 12 == t.multiply(3, 4)
    assert 2.0 == t.divide(10)
    assert 2.5 == t.divide(10, 4)
    assert "abc" == t.concat(["a", "b", "c"])
    assert "xy" == t.multi_concat(a="x", b="y")
    assert "abcd" == t.multi_concat(a=["a", "b"], b=["c", "d"])
    assert "hey!!!" == t.exclaim("hey", hype=3)
    assert "abab" == t.repeat("ab", 2)
    assert {"k": [1, 2]} == t.dictify("k", [1, 2])
    assert (1, "a") == t.zip_iter(iter([1, 2]), iter("ab"))
    assert (1, (2, 3), {"x": 4}) == t.passthrough(1, 2, 3, x=4)
    assert 7 == t.constant(7)
    assert t.input_party(1, 2, 3, 4, 5, 6, 7) is True
    assert 2 == t.long_add(1, sleep_for=0)
    assert "v" == t.just_wait("v", wait_for=0)


def test_this_or_that():
    """Only the given (non-None, non-NoEvent) optional slots appear."""
    assert {"that": 1} == t.this_or_that(that=1)
    assert {"this": "a"} == t.this_or_that(this="a", the_other=NoEvent)
    assert {} == t.this_or_that()


def test_inject_epoch():
    """``inject_epoch`` and ``inject_eventmap`` return their injected argument."""
    assert Epoch(3) == t.inject_epoch(Epoch(3))
    events = {"special_value": {"value": 1}}
    assert events is t.inject_eventmap(1, events)


def test_errors():
    """``error`` and ``async_error`` raise their documented ``ValueError``s."""
    with pytest.raises(ValueError, match="This node just emits errors"):
        t.error(1)
    with pytest.raises(ValueError, match="This is the error that should be raised"):
        asyncio.run(t.async_error(1))


def test_async_letters():
    """``number_to_letter`` and ``NumberToLetterCls`` are coroutines mapping numbers to letters."""
    assert inspect.iscoroutinefunction(t.number_to_letter)
    assert inspect.iscoroutinefunction(t.NumberToLetterCls.process)
    assert "c" == asyncio.run(t.number_to_letter(2))
    assert "a" == asyncio.run(t.number_to_letter(25, offset=1))
    assert "d" == asyncio.run(t.NumberToLetterCls(offset=1).process(2))


# --------------------------------------------------------------------------- iterator nodes


def test_counter():
    """``counter`` returns ``current`` then adds one, and deep-copies independently."""
    c = t.counter(start=2)
    assert [2, 3, 4] == [next(c), c.next(), c.send(None)]
    assert 5 == c.current
    assert isinstance(c, collections.abc.Generator)
    with pytest.raises(AttributeError):
        c.current = 0  # read-only
    d = copy.deepcopy(c)
    next(d)
    assert (5, 6) == (c.current, d.current)


def test_fast_forward_jump_rewind_increment():
    """The iterator nodes advance an iterator and report the last value ``next()`` returned."""
    c = t.counter()
    assert 0 == t.fast_forward(c)
    assert 3 == t.fast_forward(c, n=3)
    same, value = t.jump(c, n=0)
    assert (same, value) == (c, 0)
    assert (c, 5) == t.jump(c, n=2)
    rewound = t.rewind(c, n=5)
    assert (7, 1) == (c.current, next(rewound))  # c advanced once; a new count from 6 - 5
    assert isinstance(rewound, itertools.count)
    assert (c, 8) == t.increment(c, increment=2)


def test_fast_forward_plain_iterator():
    """Any iterator works: the last value ``next()`` returned is reported."""
    assert 2 == t.fast_forward(iter(range(10)), n=3)


def test_runner_asset_arithmetic():
    """The ``testing-runner-asset`` sequence (counter from 1): ``2**(i+1)-1`` and twice that, epoch by epoch."""
    c = t.counter(start=1)
    for i in range(5):
        first = t.fast_forward(c, n=1)
        second = t.fast_forward(c, n=first)
        t.jump(c, n=0)
        assert (2 ** (i + 1) - 1, 2 * (2 ** (i + 1) - 1)) == (first, second)


# --------------------------------------------------------------------------- classes


def test_count_source_node():
    """``CountSource`` yields ``start .. limit-1``; ``process()`` by hand gives the next value."""
    node = t.CountSource(limit=6, start=3)
    assert [3, 4, 5] == [node.process() for _ in range(3)]
    with pytest.raises(StopIteration):
        node.process()
    assert (1000, 0) == (t.CountSource().limit, t.CountSource().start)
    assert [] == pull_all(t.CountSource(limit=0))
    assert isinstance(t.CountSource(), Node)


def test_unannotated_generator():
    """``UnannotatedGenerator`` takes ``limit``/``start`` and counts ``start .. limit-1``."""
    assert [0, 1, 2] == pull(t.UnannotatedGenerator(), 3)
    assert [2, 3] == pull_all(t.UnannotatedGenerator(start=2, limit=4))


def test_multiply_node():
    """``Multiply`` returns the product."""
    assert 12 == t.Multiply().process(3, 4)
    assert 6 == t.Multiply().process(3)


def test_stateful_multiply():
    """``StatefulMultiply`` multiplies by a counter that grows each call."""
    node = t.StatefulMultiply(start=1)
    assert [6, 12, 18] == [node.process(2, 3) for _ in range(3)]


def test_volumes():
    """Both volume classes compute ``width * depth * height``."""
    assert 24 == t.VolumeProcess(height=2).process(3, 4)
    assert 36 == t.Volume(height=3).volume(3, 4)
    assert getattr(t.Volume.volume, "__is_process_method__", False)


def test_now(capsys):
    """``Now.print`` returns its prefix and the construction time as text, printing nothing."""
    now = t.Now()
    assert ("T: " + now.now.isoformat(), "") == (now.print(prefix="T: "), capsys.readouterr().out)
    assert now.print() == now.print()  # the time of construction, not of the call


def test_count_source_decor():
    """``CountSourceDecor``'s process method is a marked generator counting from ``start``."""
    assert getattr(t.CountSourceDecor.process, "__is_process_method__", False)
    assert [2, 3, 4] == take(t.CountSourceDecor(start=2).process(), 3)


def test_init_counter():
    """``InitCounter`` counts its lifecycle calls."""
    node = t.InitCounter(id="c")
    node.init()
    node.init()
    node.deinit()
    assert (2, 1) == node.process() == (node.inits, node.deinits)


def test_dynamic_signals():
    """``DynamicSignals`` reads signals and slots from ``spec.params``."""

    class Spec:
        params = {"signals_": ["a", "b"], "slots_": ["x", "y", "z"]}

    assert {"a": Signal("a"), "b": Signal("b")} == t.DynamicSignals.get_signals(Spec)
    slots = t.DynamicSignals.get_slots(Spec)
    assert {n: Slot(n, required=True) for n in "xyz"} == slots
    assert ({}, {}) == (t.DynamicSignals.get_signals(None), t.DynamicSignals.get_slots())
    node = t.DynamicSignals(id="d", spec=Spec, **Spec.params)
    assert ["a", "b"] == list(node.signals)
    assert (1, 2, 3) == node.process(x=1, y=2, z=3)
    assert ([], []) == (t.DynamicSignals().signals_, t.DynamicSignals().slots_)
    assert t.DynamicSignals().signals_ is not t.DynamicSignals().signals_  # a fresh list each



# --------------------------------------------------------------------------- assets


def test_any_asset_and_initializer():
    """``AnyAsset`` holds anything; ``Initializer.obj`` is True only while initialised."""
    a = t.AnyAsset(id="a")
    a.obj = [1]
    assert [1] == a.obj
    i = t.Initializer(id="i")
    assert i.obj is False
    i.init()
    assert i.obj is True
    i.deinit()
    assert i.obj is False


def test_counter_cm():
    """``counter_cm`` advances on enter and on exit and counts both, and can be re-entered."""
    for _ in range(2):
        with t.counter_cm(start=1) as c:
            assert (1, 0, 2) == (c.entered, c.exited, c.current)
            assert isinstance(c, t.LifecycleCounter)
        assert (1, 1, 3) == (c.entered, c.exited, c.current)


def test_array_asset():
    """``array`` with no params is a 3x3 float64 array of ones."""
    arr = t.array()
    assert (np.dtype("float64"), (3, 3), 9.0) == (arr.dtype, arr.shape, arr.sum())
    assert np.full((2, 4), 0.5).tolist() == t.array(2, 4, 0.5).tolist()


def test_row_sum_and_inplace_add():
    """``row_sum`` passes the same array on; ``inplace_add`` mutates in place."""
    arr = t.array()
    out, total = t.row_sum(arr, row_index=1)
    assert out is arr and 3.0 == total
    assert arr is t.inplace_add(arr, amount=2.0)
    assert 27.0 == arr.sum()


def test_guide_assets():
    """The assets guide's ``asset_func``, ``use_func_asset`` and ``use_cls_asset`` behave as written."""
    arr = t.asset_func(2, 5)
    assert (2, 5) == arr.shape
    assert arr is t.use_func_asset(2, 3, arr)
    assert 16.0 == arr[0][0]
    obj = t.AssetCls(x=2, y=5)
    assert obj is t.use_cls_asset(2, 1, obj)
    assert 9 == obj.x
    assert (9, 5) == obj.some_method()


def test_my_package_paths():
    """``my_package.assets`` / ``my_package.nodes`` (the guide's paths) resolve from ``tests/``."""
    tests_dir = str(Path(__file__).parent)
    added = tests_dir not in sys.path
    if added:
        sys.path.insert(0, tests_dir)
    try:
        import my_package.assets
        import my_package.nodes

        assert my_package.assets.AssetCls is t.AssetCls
        assert my_package.assets.asset_func is t.asset_func
        assert my_package.nodes.constant is t.constant
        assert my_package.nodes.use_cls_asset is t.use_cls_asset
        assert my_package.nodes.use_func_asset is t.use_func_asset
    finally:
        if added:
            sys.path.remove(tests_dir)


def test_entrypoint():
    """``some_entrypoint_fn`` returns the fixed fake path."""
    assert [t.ENTRYPOINT_PATH] == t.some_entrypoint_fn()
    assert isinstance(t.ENTRYPOINT_PATH, Path)
