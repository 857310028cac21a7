"""Observers the tests share (``tests/test_observe.py``, ``tests/ray_runner/test_view_ray.py``)."""

from __future__ import annotations

from noob.runner.observe import Observer


class EpochLog(Observer):
    """Keeps epoch starts and ends and exhausted sources, in order."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def epoch_started(self, epoch: int) -> None:
        self.log.append(("started", epoch))

    def epoch_ended(self, epoch: int) -> None:
        self.log.append(("ended", epoch))

    def source_exhausted(self, node: int, epoch: int) -> None:
        self.log.append(("exhausted", node, epoch))

    def of(self, kind: str) -> list[tuple]:
        return [e[1:] for e in self.log if e[0] == kind]
