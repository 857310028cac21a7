"""What the semantics suite shares: the runner configurations, a driver over every runner, tubes.

``CONFIGS`` names every configuration (``sync``; ``async``, ``async-loop``
(``loop_nodes="all"``), ``async-k3`` (``max_epochs_in_flight=3``); ``ray-fused`` and
``ray-node`` (``placement="node"``), the Ray ones only when Ray is importable: ``ALL``).
:class:`Drive` makes the same synchronous calls whatever the runner (an async runner's calls
run on the drive's own event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from noob import Tube
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


def tubeof(nodes: dict, **extra: Any) -> Tube:
    """A tube ``sem`` from a ``nodes`` dict (and ``assets``, ``input``, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaceWarning)
        return Tube.from_specification({"noob_id": "sem", "nodes": nodes, **extra})


def tubeof_file(path: Path) -> Tube:
    """A tube from a file (``tests/data``)."""
    return Tube.from_specification(path)
