"""What a newcomer from the original noob hit on day one: each friction, fixed, on both runners
and both cores where it runs a tube."""

from __future__ import annotations

import pickle
import warnings

import pytest

from noob import Tube
from noob.exceptions import ExtraInputWarning, InputMissingError, SpecError

PROCESS_PARAMS = {
    "noob_id": "process-params",
    "input": {"limit": {"type": "int", "scope": "process"}},
    "nodes": {
        "a": {"type": "noob.testing.count_source", "params": {"limit": "input.limit"}},
        "r": {"type": "return", "depends": "a.index"},
    },
}


def test_process_input_in_params_is_input_missing(core):
    """A process-scoped input used in ``params`` raises one error that is a SpecError and an InputMissingError."""
    with pytest.raises(InputMissingError) as info:
        Tube.from_specification(PROCESS_PARAMS)
    err = info.value
    assert isinstance(err, SpecError)
    assert ("limit", "process") == (err.input, err.scope)
    assert ["nodes.a.params"] == [p.path for p in err.problems]
    assert "process-scoped input 'limit', which only exists during process(); use it in `depends`" in str(err)
    assert "Tube.from_specification(..., input=" not in str(err)  # that fix is for tube-scoped inputs
    again = pickle.loads(pickle.dumps(err))
    assert (True, "limit", str(err)) == (isinstance(again, InputMissingError), again.input, str(again))


def test_process_input_in_asset_params_is_input_missing(core):
    """The same for an asset's ``params``."""
    spec = {
        "noob_id": "process-asset-params",
        "input": {"n": {"type": "int", "scope": "process"}},
        "assets": {"buf": {"type": "builtins.list", "params": ["input.n"], "scope": "runner"}},
        "nodes": {"a": {"type": "noob.testing.count_source"}},
    }
    with pytest.raises(InputMissingError) as info:
        Tube.from_specification(spec)
    assert ["assets.buf.params"] == [p.path for p in info.value.problems]


def test_process_input_given_to_tube_warns_and_is_ignored(drive):
    """A value for a process-scoped input given at tube level warns ExtraInputWarning and is not used."""
    with pytest.warns(ExtraInputWarning, match=r"^Ignoring extra input .*'multiply_process'.*process\(multiply_process=\.\.\.\)"):
        tube = drive.tube("input_mixed", input={"start": 1, "multiply_process": 100})
    with pytest.raises(InputMissingError, match="multiply_process"):
        drive.process(tube, [{}])
    assert [1 * 7 * 2, 2 * 7 * 3] == drive.process(tube, [{"multiply_process": 2}, {"multiply_process": 3}])


def test_tube_input_given_to_tube_does_not_warn(drive):
    """Only tube-scoped values at tube level: no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube("input_mixed", input={"start": 1})
    assert [14] == drive.process(tube, [{"multiply_process": 2}])
