"""Runners: execute a tube epoch by epoch. ``get_runner(name)`` returns a runner class.

``AsyncRunner`` is imported on first use, so ``import noob`` does not pay for ``asyncio``.
"""

from __future__ import annotations

from typing import Any

from noob.runner.base import TubeRunner
from noob.runner.sync import SynchronousRunner

__all__ = ["AsyncRunner", "SynchronousRunner", "TubeRunner", "get_runner"]


def __getattr__(name: str) -> Any:
    if name == "AsyncRunner":
        from noob.runner.asyncio import AsyncRunner

        return AsyncRunner
    raise AttributeError(f"module 'noob.runner' has no attribute {name!r}")


def get_runner(name: str) -> type[TubeRunner]:
    """The runner class called ``name`` (``"sync"``, ``"async"`` or ``"ray"``, which needs
    ``pip install "noob[ray]"``)."""
    if name == "async":
        from noob.runner.asyncio import AsyncRunner

        return AsyncRunner
    if name == "ray":
        from noob.runner.ray import RayRunner

        return RayRunner
    if name == "sync":
        return SynchronousRunner
    raise ValueError(f"unknown runner {name!r}; available: 'sync', 'async', 'ray'")
