"""Fixtures of the semantics suite: every scenario on every runner configuration and both cores.

``runner_config`` is parametrized over ``sem_support.ALL`` and crossed with the ``core``
fixture (compiled and pure); ``drive(tube)`` gives a ``sem_support.Drive`` of a new runner in
that configuration. Ray starts once per session, on loopback, the first time a Ray
configuration is asked for.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sem_support import ALL, CONFIGS, TESTS, Drive, tubeof

from noob import SynchronousRunner, Tube


@pytest.fixture(scope="session")
def _ray_up():
    """Start Ray once (as ``tests/ray_runner`` does: same paths, so either may start it first)."""
    import noob.runner.ray
    from noob.runner.ray import connect

    noob.runner.ray.IDLE_ACTORS = 32
    paths = [str(TESTS), str(TESTS / "ray_runner"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    connect(None, num_cpus=4, log_to_driver=False, configure_logging=False)
    yield
    import ray

    ray.shutdown()


@pytest.fixture(params=ALL)
def runner_config(request: pytest.FixtureRequest, core: str) -> tuple[str, str, dict[str, Any]]:
    """``(name, kind, kwargs)`` of one runner configuration, on the current core."""
    name = request.param
    kind, kwargs = CONFIGS[name]
    if kind == "ray":
        request.getfixturevalue("_ray_up")
    return name, kind, dict(kwargs)


@pytest.fixture
def drive(runner_config: tuple[str, str, dict[str, Any]], core: str):
    """``drive(tube_or_dict, **kwargs)`` -> a :class:`Drive` of a new runner in this configuration."""
    name, kind, config_kwargs = runner_config
    drives: list[Drive] = []

    def make(tube: Tube | dict, **kwargs: Any) -> Drive:
        if isinstance(tube, dict):
            tube = tubeof(tube)
        if kind == "sync":
            runner: Any = SynchronousRunner(tube, core=core, **kwargs)
        elif kind == "async":
            from noob.runner.asyncio import AsyncRunner

            runner = AsyncRunner(tube, core=core, **{**config_kwargs, **kwargs})
        else:
            from noob.runner.ray import RayRunner

            runner = RayRunner(tube, core=core, **{**config_kwargs, **kwargs})
        d = Drive(kind, runner)
        d.config = name  # type: ignore[attr-defined]
        drives.append(d)
        return d

    yield make
    for d in drives:
        d.close()


