"""The ``core`` fixture really switches the core for loading and running (issue 10)."""

from __future__ import annotations

from noob import SynchronousRunner, Tube, _core


def test_core_fixture_is_active_core(core, data_dir):
    """A tube loaded and a runner made without ``core=`` both use the fixture's core."""
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    runner = SynchronousRunner(tube)
    assert (core, core, core) == (_core.IMPLEMENTATION, _core.active.IMPLEMENTATION, runner.core.IMPLEMENTATION)


def test_purepython_false_means_compiled():
    """``NOOB_PUREPYTHON=false`` (or ``0``, ``no``) keeps the compiled core, as ``setup.py`` reads it."""
    import os
    import subprocess
    import sys

    import pytest

    if not _core.compiled_available():
        pytest.skip("compiled core not built (pure-Python install)")
    got = []
    for value in ("false", "0", "no", "FALSE"):
        env = {**os.environ, "NOOB_PUREPYTHON": value}
        env.pop("NOOB_REQUIRE_COMPILED", None)
        out = subprocess.run([sys.executable, "-c", "import noob._core as c; print(c.IMPLEMENTATION)"],
                             env=env, capture_output=True, text=True, check=True)
        got.append(out.stdout.strip())
    assert ["compiled"] * 4 == got
