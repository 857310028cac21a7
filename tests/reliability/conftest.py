"""Reliability suite: hypothesis profiles, and a count of the fuzz examples that ran.

Profiles (pick one with ``HYPOTHESIS_PROFILE``):

- ``ci`` (default): each fuzz test runs ``FUZZ_EXAMPLES`` examples, derandomized so a CI
  failure reproduces. With the fuzz tests in ``test_fuzz_spec.py`` that is 2,400 examples
  per pass.

Time limits: every case must take under 2 s of this process's CPU time, checked by the
tests (``reltiming.cpu_time``), and under hypothesis's ``deadline`` of 10 s of
wall-clock time (a hang guard). The 2 s limit is on CPU rather than wall-clock time because
CI shares two cores with other jobs: a wall-clock 2 s deadline failed on load spikes (an
example that took 350 ms took 2.7 s once), while a real slowdown or loop burns CPU.
- ``thorough``: ten times the examples, random seeds, for a local hunt.

The terminal summary reports how many fuzz examples ran and how many loaded, so the count
can be quoted (``fuzz: N examples ...``).
"""

from __future__ import annotations

import collections
import os

import pytest
from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = 300
"""Examples per fuzz test in the ``ci`` profile."""

_COMMON = dict(
    deadline=10_000,  # ms of wall-clock time: a hang guard (the 2 s limit is on CPU time)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("ci", max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=10 * FUZZ_EXAMPLES, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: test name -> [examples run, examples that loaded without error]
FUZZ_COUNTS: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    """Print how many fuzz examples ran (tried / loaded / refused with a documented error)."""
    if not FUZZ_COUNTS:
        return
    terminalreporter.section("reliability fuzz examples")
    total = loaded = 0
    for name, (ran, ok) in sorted(FUZZ_COUNTS.items()):
        terminalreporter.write_line(f"{name}: {ran} tried, {ok} loaded, {ran - ok} refused with a documented error")
        total, loaded = total + ran, loaded + ok
    terminalreporter.write_line(f"fuzz: {total} examples tried, {loaded} loaded, {total - loaded} refused")


@pytest.fixture(scope="session")
def fuzz_counts() -> dict[str, list[int]]:
    """The shared example counter: ``fuzz_counts[test][0]`` tried, ``[1]`` loaded."""
    return FUZZ_COUNTS

