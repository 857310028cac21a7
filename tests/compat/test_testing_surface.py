"""``noob.testing`` row by row: each helper of the original has its name, signature and signals."""

from __future__ import annotations

import inspect

import pytest

import noob.testing as t
from noob.node.adapters import _process_method
from noob.node.base import as_list, signals_of, slots_of


def _params(fn):
    sig = inspect.signature(fn)
    return [(p.name, None if p.default is p.empty else p.default) for p in sig.parameters.values() if p.name != "self"]


# name -> (parameters with defaults (None: required), signal names)
FUNCTIONS = {
    "count_source": ([("limit", 10000), ("start", 0)], ["index"]),
    "letter_source": ([], ["letter"]),
    "word_source": ([], ["word"]),
    "multi_words_source": ([("n", None)], ["multi_words"]),
    "sporadic_word": ([("every", 3)], ["word"]),
    "sporadic_word_noevent": ([("every", 3)], ["word"]),
    "word_counts": ([], ["word", "counts"]),
    "multiply": ([("left", None), ("right", 2)], ["value"]),
    "divide": ([("numerator", None), ("denominator", 5)], ["ratio"]),
    "concat": ([("strings", None)], ["value"]),
    "multi_concat": ([("kwargs", None)], ["value"]),
    "exclaim": ([("string", None), ("hype", 1)], ["value"]),
    "repeat": ([("string", None), ("times", None)], ["value"]),
    "dictify": ([("key", None), ("items", None)], ["value"]),
    "error": ([("value", None)], ["value"]),
    "input_party": ([(n, None) for n in ("one", "two", "three", "four", "five", "six", "seven")], ["works"]),
    "long_add": ([("value", None), ("sleep_for", 0.25)], ["value"]),
    "number_to_letter": ([("number", None), ("offset", 0)], ["value"]),
    "async_error": ([("value", None)], ["value"]),
    "fast_forward": ([("generator", None), ("n", 1)], ["next"]),
    "jump": ([("generator", None), ("n", 1)], ["skirttt", "next"]),
    "rewind": ([("generator", None), ("n", 1)], ["skrittt"]),
    "zip_iter": ([("args", None)], ["value"]),
    "increment": ([("iterator", None), ("increment", 1)], ["iterator", "value"]),
    "passthrough": ([("value", None), ("args", None), ("kwargs", None)], ["value"]),
    "inject_epoch": ([("epoch", None)], ["value"]),
    "inject_eventmap": ([("special_value", None), ("events", None)], ["value"]),
    "just_wait": ([("value", None), ("wait_for", 0.5)], ["value"]),
    "switch": ([], ["fruits", "vegetables", "minerals"]),
    "this_or_that": ([("this", None), ("that", None), ("the_other", None)], ["value"]),
    "cycle": ([("start", 0), ("stop", 100), ("step", 1)], ["value"]),
}

# class -> (constructor params, process method name, its params, signal names)
CLASSES = {
    "VolumeProcess": ([("height", 2)], "process", [("width", None), ("depth", None)], ["volume"]),
    "Volume": ([("height", 2)], "volume", [("width", None), ("depth", None)], ["volume"]),
    "Now": ([], "print", [("prefix", "Now: ")], ["timestamp"]),
    "CountSourceDecor": ([("start", 0)], "process", [], ["count"]),
    "NumberToLetterCls": ([("offset", 0)], "process", [("number", None)], ["value"]),
    "StatefulMultiply": ([("start", 0)], "process", [("left", None), ("right", 1)], ["value"]),
}

# Node subclass -> (param fields with defaults, signal names)
NODES = {
    "CountSource": ({"limit": 1000, "start": 0}, ["index"]),
    "UnannotatedGenerator": ({"limit": 1000, "start": 0}, ["value"]),
    "Multiply": ({}, ["product"]),
    "InitCounter": ({}, ["inits", "deinits"]),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_helper(name):
    """The function's parameters, defaults and signals are the original's."""
    fn = getattr(t, name)
    params, signals = FUNCTIONS[name]
    assert (params, signals) == (_params(fn), [s.name for s in signals_of(fn)])


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_class_helper(name):
    """The class's constructor, process method and signals are the original's."""
    cls = getattr(t, name)
    init, method, params, signals = CLASSES[name]
    found = _process_method(cls)
    assert (init, method, params, signals) == (_params(cls.__init__) if init else [], found.__name__, _params(found),
                                               [s.name for s in signals_of(found)])


@pytest.mark.parametrize("name", sorted(NODES))
def test_node_helper(name):
    """The Node subclass's params and signals are the original's."""
    cls = getattr(t, name)
    fields, signals = NODES[name]
    assert (fields, signals) == (cls.param_fields(), [s.name for s in as_list(cls.get_signals())])


def test_async_helpers_are_coroutines():
    """number_to_letter, NumberToLetterCls.process and async_error are coroutine functions."""
    assert all(inspect.iscoroutinefunction(f) for f in (t.number_to_letter, t.NumberToLetterCls.process, t.async_error))


def test_optional_slots_of_this_or_that():
    """this_or_that's three slots are optional (``Optional[...] = None``); multiply's are required."""
    assert [False] * 3 == [s.required for s in slots_of(t.this_or_that)]
    assert [True, True] == [s.required for s in slots_of(t.multiply)]


def test_assets_and_entrypoint():
    """The asset helpers and the entrypoint names exist with the original's shapes."""
    import collections.abc

    assert isinstance(t.counter(), collections.abc.Generator)
    assert issubclass(t.LifecycleCounter, t.counter)
    assert t.AnyAsset().obj is None and t.Initializer().obj is False
    assert [t.ENTRYPOINT_PATH] == t.some_entrypoint_fn()


def test_no_getattr_passthrough():
    """Unlike the original, an unknown noob.testing name is an AttributeError (a typo is reported)."""
    with pytest.raises(AttributeError):
        t.surely_not_a_helper  # noqa: B018
