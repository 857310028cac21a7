"""``noob.cli.run.run``: the original's click command, for code and tests written against it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from noob.cli.run import run


@pytest.fixture
def invoke(data_dir):
    def call(*args: str, input: str | None = None):
        return CliRunner().invoke(run, [*args], input=input, catch_exceptions=False)

    return call


def test_run_json(invoke, data_dir):
    """``--output-format json`` prints one array of every result."""
    result = invoke(str(data_dir / "basic.yaml"), "-n", "5", "--output-format", "json")
    assert (0, [0, 2, 4, 6, 8]) == (result.exit_code, json.loads(result.output))


def test_run_jsonl(invoke, data_dir):
    """``-of jsonl`` prints one line per result."""
    result = invoke(str(data_dir / "basic.yaml"), "-n", "3", "-of", "jsonl")
    assert (0, ["0", "2", "4"]) == (result.exit_code, result.output.split())


def test_run_process_inputs_json_array(invoke, data_dir):
    """Process inputs piped as one JSON array (the original's default ``-if json``), tube inputs as
    ``-i KEY VALUE``: one epoch per element."""
    source = str(data_dir / "input" / "input_mixed.yaml")
    result = invoke(source, "-i", "start", "1", input=json.dumps([{"multiply_process": 5}, {"multiply_process": 10}]))
    assert (0, [1 + 7 + 5, 2 + 7 + 10]) == (result.exit_code, json.loads(result.output))


def test_run_process_inputs_jsonl(invoke, data_dir):
    """``-if jsonl``: one JSON object per line."""
    source = str(data_dir / "input" / "input_mixed.yaml")
    result = invoke(source, "-i", "start", "0", "-if", "jsonl", input='{"multiply_process": 1}\n{"multiply_process": 2}\n')
    assert (0, [0 + 7 + 1, 1 + 7 + 2]) == (result.exit_code, json.loads(result.output))


def test_run_bad_tube_is_a_click_error(invoke, tmp_path):
    """A missing tube file is a click usage error (exit 1, one message), not a traceback."""
    result = CliRunner().invoke(run, [str(tmp_path / "nope.yaml")])
    assert 1 == result.exit_code
    assert "Error:" in result.output
