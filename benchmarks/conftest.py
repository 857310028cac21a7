"""Benchmark setup: every benchmark is parametrized by implementation.

- ``hand``: a hand-written Python loop calling the same functions in the same order
  (for loading: ``yaml.load`` with ``CSafeLoader``, the pure parse cost);
- ``compiled``: ``SynchronousRunner(tube, core="compiled")`` (the Cython core);
- ``python``: ``SynchronousRunner(tube, core="python")`` (its pure-Python twin).

``compiled`` is skipped when the extension is not built, and *fails* instead when
``NOOB_REQUIRE_COMPILED=1``; with ``NOOB_PUREPYTHON=1`` it is not generated at all.

Group each workload with ``pytest.mark.benchmark(group=...)`` (per parameter via
``pytest.param(..., marks=...)``) so that ``--benchmark-group-by=group`` shows the three
implementations side by side.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import pytest

IMPLEMENTATIONS = ("hand", "compiled", "python")
REPO = Path(__file__).resolve().parent.parent


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow_load: loading benchmarks on very large tubes (10 000+ nodes); deselect with -m 'not slow_load'",
    )


def implementations() -> tuple[str, ...]:
    if _truthy("NOOB_PUREPYTHON"):
        return ("hand", "python")
    return IMPLEMENTATIONS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "impl" in metafunc.fixturenames:
        metafunc.parametrize("impl", implementations(), ids=str, indirect=True)


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def check_core(name: str) -> str:
    """Skip (or fail, with ``NOOB_REQUIRE_COMPILED=1``) when core ``name`` is not available."""
    if name != "compiled":
        return name
    try:
        from noob import _core

        available = _core.compiled_available()
        error = "" if available else str(_core._compile_error)
    except ImportError as exc:  # NOOB_REQUIRE_COMPILED=1 makes noob._core itself raise
        available, error = False, str(exc)
    if not available:
        message = f"noob's compiled core is not available: {error}"
        if _truthy("NOOB_REQUIRE_COMPILED"):
            pytest.fail(message + " (NOOB_REQUIRE_COMPILED=1)", pytrace=False)
        pytest.skip(message)
    return name


@pytest.fixture
def impl(request: pytest.FixtureRequest) -> str:
    """The implementation under test (parametrized in ``pytest_generate_tests``)."""
    return check_core(request.param)


@pytest.fixture
def bench(benchmark, impl: str):
    """``benchmark`` with ``extra_info`` filled in; tests add ``N`` themselves."""
    benchmark.extra_info.update(
        implementation=impl,
        commit=git_commit(),
        numpy=np.__version__,
        python=platform.python_version(),
    )
    return benchmark


@pytest.fixture
def make_runner():
    """Factory: ``make_runner(spec, impl)`` is an initialised ``SynchronousRunner`` on ``impl``'s
    core; every runner made is deinitialised at teardown."""
    from noob import SynchronousRunner, Tube

    runners = []

    def make(spec: dict, impl: str):
        runner = SynchronousRunner(Tube.from_specification(spec), core=impl)
        runners.append(runner)
        runner.init()
        return runner

    yield make
    for runner in reversed(runners):
        runner.deinit()
