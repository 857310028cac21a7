"""noob: streaming, event-driven graph processing.

Write plain Python functions, classes and generators, wire them together in a YAML *tube*,
and run it epoch by epoch::

    from noob import Tube, SynchronousRunner

    tube = Tube.from_specification("path/to/tube.yaml")
    with SynchronousRunner(tube) as runner:
        print(runner.run(n=10))

``SynchronousRunner`` and ``AsyncRunner`` are imported on first use (``import noob`` stays
cheap and does not import asyncio); type checkers and ``dir(noob)`` see them as usual.

The per-epoch dispatch runs in a compiled core (``noob._core``; ``noob._core.IMPLEMENTATION``
says whether the compiled or the pure-Python twin is active).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from noob.asset import Asset, AssetScope
from noob.config import config as cfg
from noob.event import Event, EventStore, MetaEvent, MetaEventType
from noob.input import InputCollection
from noob.logging import init_logger
from noob.node import Node, deinit_method, init_method, process_method
from noob.spec import AssetSpecification, InputScope, InputSpecification, NodeSpecification, TubeSpecification
from noob.tube import Tube
from noob.types import Epoch, MetaSignal, Name, NoEventable

try:
    __version__ = version("noob")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

if TYPE_CHECKING:  # the real classes for type checkers and IDEs; imported on first use at run time
    from noob.runner.asyncio import AsyncRunner
    from noob.runner.sync import SynchronousRunner

_RUNNERS = {"SynchronousRunner": "noob.runner.sync", "AsyncRunner": "noob.runner.asyncio"}


def __getattr__(name: str) -> object:
    # runners load on first use: `import noob` (or `noob.tube`) imports no runner, and does not
    # pay for asyncio; `from noob import SynchronousRunner` works as before
    if name in _RUNNERS:
        import importlib

        return getattr(importlib.import_module(_RUNNERS[name]), name)
    raise AttributeError(f"module 'noob' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazily imported runners are listed too (dir(noob), REPL and IDE completion)
    return sorted({*globals(), *_RUNNERS})


__all__ = [
    "Asset",
    "AsyncRunner",
    "AssetScope",
    "AssetSpecification",
    "Epoch",
    "Event",
    "EventStore",
    "InputCollection",
    "InputScope",
    "InputSpecification",
    "MetaEvent",
    "MetaEventType",
    "MetaSignal",
    "Name",
    "NoEventable",
    "Node",
    "NodeSpecification",
    "SynchronousRunner",
    "Tube",
    "TubeSpecification",
    "cfg",
    "deinit_method",
    "init_logger",
    "init_method",
    "process_method",
]
