"""The runner configurations every semantics scenario runs on, and one driver over all of them.

``runner_config`` is parametrized over every configuration (``sync``; ``async``,
``async-loop`` (``loop_nodes="all"``), ``async-k3`` (``max_epochs_in_flight=3``);
``ray-fused`` and ``ray-node`` (``placement="node"``), left out only when Ray is not
importable), crossed with the ``core`` fixture (compiled and pure). ``drive(tube)`` gives a
:class:`Drive`: the same synchronous calls whatever the runner (an async runner's calls run on
the drive's own event loop). Ray starts once per session, on loopback, the first time a Ray
configuration is asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from noob import SynchronousRunner, Tube
from noob.exceptions import RaceWarning

TESTS = Path(__file__).parent.parent
sys.path.insert(0, str(TESTS))

try:
    import ray  # noqa: F401

    HAVE_RAY = True
except ImportError:  # pragma: no cover - CI installs the extra
    if os.environ.get("CI"):
        raise
    HAVE_RAY = False

#: name -> (runner kind, keyword arguments)
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "sync": ("sync", {}),
    "async": ("async", {}),
    "async-loop": ("async", {"loop_nodes": "all"}),
    "async-k3": ("async", {"max_epochs_in_flight": 3}),
    "ray-fused": ("ray", {}),
    "ray-node": ("ray", {"placement": "node"}),
}
ALL = list(CONFIGS) if HAVE_RAY else [c for c in CONFIGS if not c.startswith("ray")]


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


class Drive:
    """One runner behind synchronous calls: ``process``, ``run``, ``iter`` (a list), ``init``, ``deinit``."""

    def __init__(self, kind: str, runner: Any):
        self.kind = kind
        self.runner = runner
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    def _do(self, result: Any) -> Any:
        return self.loop.run_until_complete(result) if self.loop is not None else result

    def process(self, **inputs: Any) -> Any:
        return self._do(self.runner.process(**inputs))

    def run(self, n: int | None = None) -> Any:
        return self._do(self.runner.run(n))

    def iter(self, n: int | None = None) -> list:
        it = self.runner.iter(n)
        if self.loop is None:
            return list(it)

        async def collect() -> list:
            async with contextlib.aclosing(it):
                return [x async for x in it]

        return self._do(collect())

    def init(self) -> None:
        self._do(self.runner.init())

    def deinit(self) -> None:
        self._do(self.runner.deinit())

    @property
    def running(self) -> bool:
        return self.runner.running

    def close(self) -> None:
        with contextlib.suppress(BaseException):
            self.deinit()
        if self.loop is not None:
            self.loop.close()


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


def tubeof(nodes: dict, **extra: Any) -> Tube:
    """A tube ``sem`` from a ``nodes`` dict (and ``assets``, ``input``, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaceWarning)
        return Tube.from_specification({"noob_id": "sem", "nodes": nodes, **extra})
