"""Hostile tube files end in a SpecError naming the limit they passed, never a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from noob import Tube
from noob.exceptions import SpecError
from noob.spec import MAX_EXTENDS_DEPTH, MAX_TYPE_PARTS, TubeSpecification


def _chain(tmp_path: Path, n: int) -> Path:
    """``t0.yaml`` extends ``t1.yaml`` ... extends ``t{n-1}.yaml``, which has the one node."""
    for i in range(n):
        body = f"extends: [t{i + 1}.yaml]\n" if i < n - 1 else "nodes:\n  a: {type: noob.testing.count_source}\n  r: {type: return, depends: a.index}\n"
        (tmp_path / f"t{i}.yaml").write_text(f"noob_id: chain-{i}\n{body}")
    return tmp_path / "t0.yaml"


def test_extends_chain_of_1500_files_is_one_problem(tmp_path: Path) -> None:
    """A 1,500-file extends chain stops at MAX_EXTENDS_DEPTH with one problem at extends[0]."""
    with pytest.raises(SpecError) as info:
        TubeSpecification.from_any(_chain(tmp_path, 1500))
    assert ["extends[0]"] == [p.path for p in info.value.problems]
    text = str(info.value)
    assert f"the extends chain is more than {MAX_EXTENDS_DEPTH} files deep at t{MAX_EXTENDS_DEPTH}.yaml" in text
    assert "noob.spec.MAX_EXTENDS_DEPTH" in text


def test_extends_chain_at_the_limit_loads(tmp_path: Path, core: str) -> None:
    """A chain exactly MAX_EXTENDS_DEPTH files deep loads and runs."""
    from noob import SynchronousRunner

    tube = Tube.from_specification(_chain(tmp_path, MAX_EXTENDS_DEPTH))
    assert ["a", "r"] == list(tube.nodes)
    with SynchronousRunner(tube, core=core) as runner:
        assert [0, 1] == runner.run(2)


def test_type_of_a_million_dotted_parts_is_one_problem(core: str) -> None:
    """A node ``type`` of a million dotted parts is refused by its shape, before anything is imported."""
    spec = {"noob_id": "dots", "nodes": {"a": {"type": ".".join(["a"] * 1_000_000)}}}
    with pytest.raises(SpecError) as info:
        Tube.from_specification(spec)
    (problem,) = info.value.problems
    assert "nodes.a.type" == problem.path
    assert f"has 1,000,000 dotted parts; at most {MAX_TYPE_PARTS} are read (noob.spec.MAX_TYPE_PARTS)" in problem.message
    assert len(str(info.value)) < 500


def test_type_at_the_part_limit_is_resolved(core: str) -> None:
    """A type of exactly MAX_TYPE_PARTS parts passes the shape check (and then fails to import, as it should)."""
    spec = {"noob_id": "dots", "nodes": {"a": {"type": ".".join(["a"] * MAX_TYPE_PARTS)}}}
    with pytest.raises(ModuleNotFoundError):
        Tube.from_specification(spec)


def test_tubes_nested_1500_deep_are_one_problem(tmp_path: Path, core: str) -> None:
    """1,500 files each nesting the next with ``type: tube`` stop at MAX_TUBE_NESTING, with one problem."""
    from noob.spec import MAX_TUBE_NESTING

    n = 1500
    for i in range(n - 1):
        (tmp_path / f"n{i}.yaml").write_text(f"noob_id: nest-{i}\nnodes:\n  c:\n    type: tube\n    params:\n      tube: n{i + 1}.yaml\n")
    (tmp_path / f"n{n - 1}.yaml").write_text("noob_id: leaf\nnodes:\n  a: {type: noob.testing.count_source}\n")
    with pytest.raises(SpecError) as info:
        Tube.from_specification(tmp_path / "n0.yaml")
    assert ["nodes.c.params.tube"] == [p.path for p in info.value.problems]
    text = str(info.value)
    assert f"tubes nest more than {MAX_TUBE_NESTING} levels deep at 'n{MAX_TUBE_NESTING}.yaml'" in text
    assert "recursion" not in text
