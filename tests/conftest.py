"""Shared fixtures: every behavioural test runs on both cores.

``core`` is parametrized over ``"compiled"`` and ``"python"``. The compiled case fails (not
skips) when ``NOOB_REQUIRE_COMPILED=1`` and the extension is missing; it is left out when
``NOOB_PUREPYTHON=1`` asks for the pure path only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from noob import _core

DATA = Path(__file__).parent / "data"

# the seed document's `my_package.*` types live in tests/my_package
sys.path.insert(0, str(Path(__file__).parent))


def _cores() -> list[str]:
    if os.environ.get("NOOB_PUREPYTHON", "").strip().lower() not in ("", "0", "false", "no"):
        return ["python"]
    return ["compiled", "python"]


@pytest.fixture(params=_cores())
def core(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The core implementation under test: ``"compiled"`` or ``"python"``.

    For the test's duration it is also noob's active core, so loading a tube (the graph
    checks) and every runner made without ``core=`` use it too, not only runners given it.
    """
    if request.param == "compiled" and not _core.compiled_available():
        if os.environ.get("NOOB_REQUIRE_COMPILED", "") not in ("", "0", "false", "no"):
            pytest.fail("NOOB_REQUIRE_COMPILED=1 but the compiled core is not built")
        pytest.skip("compiled core not built (pure-Python install)")
    module = _core.get(request.param)
    monkeypatch.setattr(_core, "active", module)
    monkeypatch.setattr(_core, "IMPLEMENTATION", module.IMPLEMENTATION)
    return request.param


@pytest.fixture
def cores():
    """``(compiled, python)``: the oracle pair. Skips only when the extension is not built and
    NOOB_REQUIRE_COMPILED is not set (a pure-Python install)."""
    if not _core.compiled_available():
        if os.environ.get("NOOB_REQUIRE_COMPILED", "") not in ("", "0"):
            pytest.fail("NOOB_REQUIRE_COMPILED=1 but the compiled core is not built")
        pytest.skip("compiled core not built: no oracle pair")
    return _core.get("compiled"), _core.get("python")


@pytest.fixture
def make_runner(core: str):
    """``make_runner(source, input=None, **kw)`` → a ``SynchronousRunner`` on the current core.

    ``source`` is a path relative to ``tests/data``, an absolute path, a dict or a spec.
    """
    from noob import SynchronousRunner, Tube

    runners = []

    def factory(source, input=None, **kwargs):
        if isinstance(source, str) and source.endswith((".yaml", ".yml")) and not os.path.isabs(source):
            source = DATA / source
        tube = Tube.from_specification(source, input=input)
        runner = SynchronousRunner(tube, core=core, **kwargs)
        runners.append(runner)
        return runner

    yield factory
    for runner in runners:
        try:
            runner.deinit()
        except Exception:
            pass


@pytest.fixture
def data_dir() -> Path:
    """The directory of example tubes."""
    return DATA
