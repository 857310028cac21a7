"""gather: n mode and trigger mode, on both cores."""

from __future__ import annotations

import pytest

from noob import Tube
from noob.exceptions import SpecError


def spec(gather: dict, extra: dict | None = None) -> dict:
    return {"noob_id": "g", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        **(extra or {}),
        "g": {"type": "gather", **gather},
        "r": {"type": "return", "depends": "g.value"},
    }}


def test_gather_n(make_runner):
    """gather n=3 emits every third epoch; other epochs return None."""
    runner = make_runner(spec({"params": {"n": 3}, "depends": [{"value": "a.index"}]}))
    assert [None, None, [0, 1, 2], None, None, [3, 4, 5]] == [runner.process() for _ in range(6)]


def test_gather_iter_skips_empty_epochs(make_runner):
    """iter() keeps calling process() until gather emits."""
    runner = make_runner(spec({"params": {"n": 2}, "depends": [{"value": "a.index"}]}))
    assert [[0, 1], [2, 3], [4, 5]] == list(runner.iter(3))
    assert 6 == runner.epoch


def test_gather_trigger(make_runner):
    """With a trigger, gather emits what it collected whenever the trigger fires."""
    runner = make_runner(spec(
        {"depends": [{"value": "a.index"}, {"trigger": "t.value"}]},
        {"t": {"type": "testnodes.odd_noevent", "depends": "a.index"}},
    ))
    assert [None, [0, 1], None, [2, 3]] == [runner.process() for _ in range(4)]


def test_gather_flatten(make_runner):
    """flatten concatenates the gathered lists."""
    runner = make_runner(spec(
        {"params": {"n": 2, "flatten": True}, "depends": [{"value": "p.value"}]},
        {"p": {"type": "testnodes.star_args", "depends": ["a.index", "a.index"]}},
    ))
    assert [0, 0, 1, 1] == runner.run(2)[0]


@pytest.mark.parametrize(("params", "path"), [({"n": 0}, "nodes.g.params.n"), ({"n": "x"}, "nodes.g.params.n"),
                                              ({"m": 2}, "nodes.g.params.m"), ({"flatten": "yes"}, "nodes.g.params.flatten")])
def test_bad_gather_params(core, params, path):
    """Bad gather params are load-time errors at their YAML path."""
    with pytest.raises(SpecError) as info:
        Tube.from_specification(spec({"params": params, "depends": [{"value": "a.index"}]}))
    assert [path] == [p.path for p in info.value.problems]
