"""Nested tubes (`type: tube`) on both cores."""

from __future__ import annotations

import pytest

from noob import Tube
from noob.exceptions import SpecError


def test_child_inputs_and_dict_signals(make_runner):
    """A child's process inputs are slots, its dict return keys are signals; NoEvent propagates."""
    runner = make_runner("nested/parent.yaml")
    assert [{"total": 10}, {"total": 11, "odd": 11}, {"total": 12}] == runner.run(3)


def test_two_levels_with_tube_params(make_runner):
    """Params of a tube node become the child's tube inputs, through several levels."""
    runner = make_runner("nested/grandparent.yaml")
    assert [100, 101, 102] == runner.run(3)


def test_exhausted_child_ends_parent(make_runner):
    """A child whose source runs out makes the parent's run() end cleanly."""
    runner = make_runner("nested/finite_parent.yaml")
    assert [0, 1] == runner.run(10)


def test_child_runner_lives_with_parent(make_runner):
    """The child's runner starts on the parent's init and stops on its deinit."""
    runner = make_runner("nested/parent.yaml")
    node = runner.nodes["b"]
    runner.init()
    assert node.runner is not None and node.runner.running
    child = node.runner
    runner.deinit()
    assert not child.running


def test_tube_nesting_itself_is_an_error(core, data_dir):
    """A loop of tubes containing each other is reported, not recursed into."""
    with pytest.raises(SpecError, match="tubes nest each other in a loop: loop_a.yaml -> loop_b.yaml -> loop_a.yaml"):
        Tube.from_specification(data_dir / "nested" / "loop_a.yaml")


def test_unknown_child_id(core):
    """A child tube id that does not exist is reported at params.tube."""
    with pytest.raises(SpecError) as info:
        Tube.from_specification({"noob_id": "x", "nodes": {"b": {"type": "tube", "params": {"tube": "no-such-tube"}}}})
    assert ["nodes.b.params.tube"] == [p.path for p in info.value.problems]


def test_missing_child_input_dependency(core, data_dir):
    """A required process input of the child that no dependency feeds is reported."""
    with pytest.raises(SpecError, match="requires process input 'inner'"):
        Tube.from_specification({"noob_id": "x", "nodes": {
            "b": {"type": "tube", "params": {"tube": str(data_dir / "nested" / "child.yaml")}}}})
