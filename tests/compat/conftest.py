"""Fixtures for the compat suite: every tube runs through both runners on both cores.

``drive`` is parametrized over ``"sync"`` (``SynchronousRunner``) and ``"async"``
(``AsyncRunner``) and takes the ``core`` fixture, so a test using it runs four times. The
tubes in ``tubes/`` are written the way the original's tube files are (header, ``noob_id``,
the original's ``noob.testing`` helpers) and are found by id through a config source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from noob import SynchronousRunner, Tube, config
from noob.runner.asyncio import AsyncRunner

TUBES = Path(__file__).parent / "tubes"


@pytest.fixture(autouse=True)
def compat_source(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tests/compat/tubes`` is a config source, so tubes (and ``extends``/``tube`` nodes) resolve by id."""
    monkeypatch.setattr(config, "_extra_sources", [*config._extra_sources, TUBES])
    return TUBES


class Driver:
    """Runs a tube on one runner kind and one core; the same calls for both runners."""

    def __init__(self, kind: str, core: str):
        self.kind = kind
        self.core = core

    def tube(self, name: Any, input: Mapping[str, Any] | None = None) -> Tube:
        """A tube file of ``tubes/`` by name, a ``compat-*`` id, or a dict (a ``Tube`` is used as is)."""
        if isinstance(name, Tube):
            return name
        source: Any = name if not isinstance(name, str) or name.startswith("compat-") else TUBES / f"{name}.yaml"
        return Tube.from_specification(source, input=input)

    def run(self, name: Any, n: int, input: Mapping[str, Any] | None = None) -> Any:
        """``runner.run(n)``."""
        tube = self.tube(name, input)
        if self.kind == "sync":
            with SynchronousRunner(tube, core=self.core) as runner:
                return runner.run(n)

        async def main() -> Any:
            async with AsyncRunner(tube, core=self.core) as runner:
                return await runner.run(n)

        return asyncio.run(main())

    def iter(self, name: Any, n: int, input: Mapping[str, Any] | None = None) -> list:
        """``list(runner.iter(n))``."""
        tube = self.tube(name, input)
        if self.kind == "sync":
            return list(SynchronousRunner(tube, core=self.core).iter(n))

        async def main() -> list:
            return [x async for x in AsyncRunner(tube, core=self.core).iter(n)]

        return asyncio.run(main())

    def process(self, name: Any, calls: list[dict], input: Mapping[str, Any] | None = None,
                before: Callable[[Any], None] | None = None) -> list:
        """One ``runner.process(**kwargs)`` per entry of ``calls``; ``before(runner)`` first."""
        tube = self.tube(name, input)
        if self.kind == "sync":
            with SynchronousRunner(tube, core=self.core) as runner:
                if before:
                    before(runner)
                return [runner.process(**kw) for kw in calls]

        async def main() -> list:
            async with AsyncRunner(tube, core=self.core) as runner:
                if before:
                    before(runner)
                return [await runner.process(**kw) for kw in calls]

        return asyncio.run(main())

    def runner(self, tube: Tube) -> Any:
        """A runner of this kind (not started)."""
        return (SynchronousRunner if self.kind == "sync" else AsyncRunner)(tube, core=self.core)


@pytest.fixture(params=["sync", "async"])
def drive(request: pytest.FixtureRequest, core: str) -> Driver:
    """A ``Driver`` for one runner kind (``sync`` / ``async``) on the current core."""
    return Driver(request.param, core)
