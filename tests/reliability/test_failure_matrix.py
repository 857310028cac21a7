"""Failure matrix: every node kind x both runners x the epoch it raises in, on both cores.

Each case checks the three promises: the exception keeps its type and gains a note naming
node and epoch; every node and asset that was initialised is deinitialised exactly once
(counted by the instrumented nodes and assets in ``relnodes``); the same runner, and the
same ``Tube`` in a new runner, work afterwards.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import relnodes
from drivers import RUNNERS, Driver

from noob import Tube

KINDS = ["function", "generator", "class", "node", "async", "gather", "map", "tube"]
ASSETS = {
    "rbox": {"type": "relnodes.CountedAsset", "scope": "runner"},
    "pbox": {"type": "relnodes.CountedAsset", "scope": "process"},
    "nbox": {"type": "relnodes.counted_cm", "scope": "node", "params": {"name": "nbox"}},
}
CHILD = """\
noob_id: rel-child
input:
  inner: {type: int, scope: process}
  at: {type: int, scope: tube, default: -1}
nodes:
  t:
    type: relnodes.Tracked
    depends: [x: input.inner]
  ff:
    type: relnodes.fail_at
    params: {at: input.at}
    depends: [x: input.inner]
  out:
    type: return
    depends: [v: ff.value]
"""


def spec_for(kind: str, at: int, tmp: pathlib.Path) -> tuple[dict, str, type, str]:
    """``(tube, failing node, exception type, value signal)`` for a tube whose ``kind`` node fails at epoch ``at``."""
    nodes: dict[str, Any] = {
        "a": {"type": "noob.testing.count_source"},
        "keep": {"type": "relnodes.Tracked", "depends": [{"x": "a.index"}, {"box": "assets.rbox"}, {"pbox": "assets.pbox"}]},
    }
    with_box = [{"x": "a.index"}, {"box": "assets.nbox"}]
    failing, error, value = "f", relnodes.Boom, "f.value"
    if kind == "function":
        nodes["f"] = {"type": "relnodes.fail_at", "params": {"at": at}, "depends": with_box}
    elif kind == "generator":
        nodes["f"] = {"type": "relnodes.gen_fail_at", "params": {"at": at}}
    elif kind == "class":
        nodes["f"] = {"type": "relnodes.FailClass", "params": {"at": at, "name": "f"}, "depends": with_box}
    elif kind == "node":
        nodes["f"] = {"type": "relnodes.FailNode", "params": {"at": at}, "depends": with_box}
    elif kind == "async":
        nodes["f"] = {"type": "relnodes.afail_at", "params": {"at": at}, "depends": with_box}
    elif kind == "gather":  # flatten meets a non-iterable value
        nodes["l"] = {"type": "relnodes.listify_or_not", "params": {"at": at}, "depends": [{"x": "a.index"}]}
        nodes["f"] = {"type": "gather", "params": {"n": 1, "flatten": True}, "depends": [{"value": "l.value"}]}
        error = TypeError
    elif kind == "map":  # a node inside a map region fails on an element
        nodes["l"] = {"type": "relnodes.listify_or_not", "depends": [{"x": "a.index"}]}
        nodes["m"] = {"type": "map", "depends": "l.value"}
        nodes["f"] = {"type": "relnodes.fail_at", "params": {"at": at}, "depends": [{"x": "m.value"}, {"box": "assets.nbox"}]}
        nodes["g"] = {"type": "gather", "depends": [{"value": "f.value"}, {"n": "m.n"}]}
        value = "g.value"
    elif kind == "tube":
        child = tmp / "child.yaml"
        child.write_text(CHILD)
        nodes["f"] = {"type": "tube", "params": {"tube": str(child), "at": at}, "depends": [{"inner": "a.index"}]}
        value = "f.v"
    nodes["r"] = {"type": "return", "depends": [{"v": value}, {"k": "keep.value"}]}
    return {"noob_id": f"rel-{kind}", "assets": ASSETS, "nodes": nodes}, failing, error, value


def expected(kind: str, epoch: int) -> dict:
    """What ``process()`` returns in an epoch where nothing fails."""
    v: Any = [epoch, epoch] if kind in ("gather", "map") else epoch
    return {"v": v, "k": epoch}


def open_between_epochs(kind: str) -> dict[str, tuple[int, int]]:
    """What is open (``(opened, closed)``) while the runner runs: runner-lifetime nodes and assets."""
    out = {"keep": (1, 0), "rbox": (1, 0)}
    if kind in ("class", "node"):
        out["f"] = (1, 0)
    if kind == "tube":
        out["t"] = (1, 0)
    return out


@pytest.fixture(autouse=True)
def _clean() -> Any:
    relnodes.reset()
    yield
    relnodes.reset()


@pytest.mark.parametrize("at", [0, 2], ids=["first-epoch", "later-epoch"])
@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("kind", KINDS)
def test_failure_matrix(kind: str, runner: str, at: int, core: str, tmp_path: pathlib.Path) -> None:
    """A failing node: its own type plus a note; everything closed once; runner and tube reusable."""
    spec, failing, error, _ = spec_for(kind, at, tmp_path)
    tube = Tube.from_specification(spec)
    driver = Driver(runner, tube, core)
    try:
        assert [expected(kind, e) for e in range(at)] == [driver.process() for _ in range(at)]
        with pytest.raises(error) as info:
            driver.process()
        notes = [n for n in getattr(info.value, "__notes__", []) if n.startswith("[noob] raised by node")]
        assert 1 == len(notes), info.value.__notes__ if hasattr(info.value, "__notes__") else "no notes"
        where = f"({at}, ('m', 0))" if kind == "map" else str(at)  # a map element's sub-epoch
        # in a nested tube the innermost node is named, in the child's tube
        name, tube_id = ("ff", "rel-child") if kind == "tube" else (failing, f"rel-{kind}")
        assert f"[noob] raised by node {name!r} in epoch {where} of tube {tube_id!r}" == notes[0]
        # process- and node-scoped assets of the failed epoch are closed already
        assert open_between_epochs(kind) == relnodes.balanced()
        # the same runner runs the next epoch (a generator that raised has ended: its value is missing)
        after = driver.process()
        assert ({"k": at + 1} if kind == "generator" else expected(kind, at + 1)) == after
        driver.deinit()
        assert {} == relnodes.balanced()
        assert 1 == relnodes.LOG["init keep"] == relnodes.LOG["deinit keep"]
        assert relnodes.LOG["open pbox"] == at + 2 == relnodes.LOG["close pbox"]
    finally:
        driver.close()
    # the same Tube in a new runner starts from scratch
    again = Driver(runner, tube, core)
    try:
        assert [expected(kind, e) for e in range(min(at, 2))] == [again.process() for _ in range(min(at, 2))]
    finally:
        again.close()
    assert {} == relnodes.balanced()
