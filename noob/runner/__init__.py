"""Runners: execute a tube epoch by epoch. ``get_runner(name)`` returns a runner class."""

from __future__ import annotations

from noob.runner.asyncio import AsyncRunner
from noob.runner.sync import SynchronousRunner, TubeRunner

__all__ = ["AsyncRunner", "SynchronousRunner", "TubeRunner", "get_runner"]


def get_runner(name: str) -> type[TubeRunner]:
    """The runner class called ``name`` (``"sync"`` or ``"async"``)."""
    runners = {"sync": SynchronousRunner, "async": AsyncRunner}
    try:
        return runners[name]
    except KeyError:
        raise ValueError(f"unknown runner {name!r}; available: {', '.join(map(repr, runners))}") from None
