"""One local Ray for the whole test session, on loopback, shared by every RayRunner test.

Workers inherit the environment of the Ray instance: ``PYTHONPATH`` names ``tests/`` (for
``testnodes`` and ``my_package``) and this directory (for ``raynodes``), and
``NOOB_PUREPYTHON`` passes through, so actors use the core the session was asked for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

try:
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("CI"):  # CI installs the extra (.ci/run): a missing Ray must not pass silently
        raise
    pytest.skip('Ray is not installed (pip install -e ".[tests,ray]")', allow_module_level=True)

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session", autouse=True)
def ray_session():
    """Start Ray once (4 logical CPUs, no dashboard, loopback only) and stop it at the end."""
    import noob.runner.ray
    from noob.runner.ray import connect

    noob.runner.ray.IDLE_ACTORS = 32  # the largest parity tube has 26 nodes: keep their actors warm

    paths = [str(HERE.parent), str(HERE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    connect(None, num_cpus=4, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
