"""One interface over both runners, so each reliability test runs on sync and async alike.

``Driver("sync" | "async", tube, core)`` wraps a ``SynchronousRunner`` or an ``AsyncRunner``;
an async driver owns one event loop for its whole life (an ``AsyncRunner`` binds to the
loop it first runs on) and runs each call to completion on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from noob import SynchronousRunner, Tube
from noob.runner.asyncio import AsyncRunner

RUNNERS = ["sync", "async"]


class Driver:
    def __init__(self, kind: str, tube: Tube, core: str, **kwargs: Any):
        self.kind = kind
        self.tube = tube
        self.core = core
        if kind == "sync":
            self.runner: Any = SynchronousRunner(tube, core=core, **kwargs)
            self.loop = None
        else:
            self.runner = AsyncRunner(tube, core=core, **kwargs)
            self.loop = asyncio.new_event_loop()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.runner, name)(*args, **kwargs)
        if self.loop is not None:
            return self.loop.run_until_complete(result)
        return result

    def process(self, **inputs: Any) -> Any:
        return self.call("process", **inputs)

    def init(self) -> None:
        self.call("init")

    def deinit(self) -> None:
        self.call("deinit")

    def run(self, n: int | None = None) -> Any:
        return self.call("run", n)

    def close(self) -> None:
        """Deinitialise (ignoring errors) and close the loop."""
        try:
            self.deinit()
        except BaseException:  # noqa: BLE001 - cleanup after a test that already checked its errors
            pass
        if self.loop is not None:
            self.loop.close()
