"""Tube- and process-scoped inputs on both cores."""

from __future__ import annotations

import pytest

from noob import Tube
from noob.exceptions import ExtraInputWarning, InputMissingError


def test_tube_and_process_inputs(make_runner):
    """Tube inputs reach params and depends; process inputs are given per call; defaults apply."""
    runner = make_runner("input/input_mixed.yaml", input={"start": 100})
    assert 100 + 7 + 1 == runner.process(multiply_process=1)
    assert 101 + 7 + 5 == runner.process(multiply_process=5)


def test_process_call_overrides_tube_input(make_runner):
    """A process() value for a tube-scoped input wins for that call only (as the docs say)."""
    runner = make_runner("input/input_mixed.yaml", input={"start": 0})
    assert 0 + 1000 + 1 == runner.process(multiply_process=1, multiply_tube=1000)
    assert 1 + 7 + 1 == runner.process(multiply_process=1)


def test_enabled_by_input(make_runner):
    """`enabled: input.x` disables the return node when x is false."""
    runner = make_runner("input/input_mixed.yaml", input={"start": 0, "return_enabled": False})
    assert runner.process(multiply_process=1) is None


def test_missing_tube_input(core, data_dir):
    """A missing required tube input raises InputMissingError naming input and scope."""
    with pytest.raises(InputMissingError) as info:
        Tube.from_specification(data_dir / "input" / "input_mixed.yaml")
    assert ("start", "tube") == (info.value.input, info.value.scope)


def test_missing_process_input_runs_nothing(make_runner):
    """A missing process input raises before any node runs and does not use up an epoch."""
    runner = make_runner("input/input_mixed.yaml", input={"start": 0})
    with pytest.raises(InputMissingError) as info:
        runner.process()
    assert ("multiply_process", "process") == (info.value.input, info.value.scope)
    assert 0 + 7 + 2 == runner.process(multiply_process=2)


def test_extra_inputs_warn(make_runner):
    """Unknown inputs are ignored with an ExtraInputWarning, at tube and process scope."""
    with pytest.warns(ExtraInputWarning, match="Ignoring extra input"):
        runner = make_runner("input/input_mixed.yaml", input={"start": 0, "bogus": 1})
    with pytest.warns(ExtraInputWarning, match="bogus2"):
        runner.process(multiply_process=1, bogus2=2)


@pytest.mark.parametrize("method", ["run", "iter"])
def test_run_and_iter_refuse_process_inputs(make_runner, method):
    """run() and iter() refuse tubes with required process inputs, pointing to process()."""
    runner = make_runner("input/input_mixed.yaml", input={"start": 0})
    with pytest.raises(InputMissingError, match=f"Can't use the `{method}` method.*runner.process"):
        result = getattr(runner, method)(2)
        list(result)


def test_process_input_in_params_is_an_error(core):
    """A process-scoped input used in params is reported at load time."""
    from noob.exceptions import SpecError

    with pytest.raises(SpecError, match="nodes.a.params.*process-scoped input 'p'"):
        Tube.from_specification({"noob_id": "x", "input": {"p": {"type": "int", "scope": "process"}},
                                 "nodes": {"a": {"type": "noob.testing.count_source", "params": {"start": "input.p"}}}})


def test_asset_params_from_input(make_runner):
    """Asset params take tube inputs too."""
    runner = make_runner({
        "noob_id": "x", "input": {"start": {"type": "int"}},
        "assets": {"c": {"type": "noob.testing.counter", "scope": "runner", "params": {"start": "input.start"}}},
        "nodes": {"i": {"type": "noob.testing.increment", "depends": [{"iterator": "assets.c"}]},
                  "r": {"type": "return", "depends": "i.value"}},
    }, input={"start": 7})
    assert [7, 8, 9] == runner.run(3)
