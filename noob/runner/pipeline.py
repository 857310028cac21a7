"""Pipelined epochs of the asyncio runner: who may start, and in which order nodes of
overlapping epochs run.

Owns: the turnstile that admits epochs (up to ``k`` at once, each only after the previous
one's sources ran) and lifecycle calls (alone), first come first served (``Turnstile``); one
pipelined epoch in flight with its own slot table and what it waits for (``Run``); and the
per-epoch order of stateful nodes and runner-asset users across epochs (``Gates``).
Must not: run nodes or epochs (``noob.runner.asyncio`` does), or decide what is ready (the
core's ``Driver``). Plain data and callbacks on one event loop; no threads.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from noob.asset import AssetRuntime

__all__ = ["EPOCH", "LIFE", "Gates", "Run", "Turnstile"]

# who may enter the runner (see Turnstile)
EPOCH = 0
LIFE = 1


class Turnstile:
    """Who may enter the runner, first come first served: epochs (up to ``k`` at once, each
    only after the previous one's sources ran) and lifecycle calls (alone).

    ``take``/``can`` are the uncontended fast path of ``enter``; every ``enter`` is paired
    with a ``leave``. ``broken`` (a pipelined epoch failed) holds new epochs back until the
    ones in flight are gone.
    """

    def __init__(self, k: int):
        self.k = k
        self.epochs = 0
        self.exclusive = False
        self.sources_pending = False
        self.broken = False
        self.on_idle: Callable[[], None] | None = None
        self._waiters: deque[tuple[asyncio.Future, int]] = deque()

    def can(self, who: int) -> bool:
        if self.exclusive or self._waiters:
            return False
        if who == LIFE:
            return self.epochs == 0
        return self.epochs < self.k and not self.sources_pending and not self.broken

    def _can_next(self, who: int) -> bool:
        if self.exclusive:
            return False
        if who == LIFE:
            return self.epochs == 0
        return self.epochs < self.k and not self.sources_pending and not self.broken

    def take(self, who: int) -> None:
        if who == LIFE:
            self.exclusive = True
        else:
            self.epochs += 1
            self.sources_pending = self.k > 1

    async def enter(self, who: int) -> None:
        if self.can(who):
            self.take(who)
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((fut, who))
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.leave(who)  # let in, then cancelled before it could start
            else:
                self._wake()
            raise

    def leave(self, who: int) -> None:
        if who == LIFE:
            self.exclusive = False
        else:
            self.epochs -= 1
            if self.epochs == 0:
                self.sources_pending = False  # no epoch in flight: none whose sources are pending
            if self.epochs == 0 and self.broken:
                self.broken = False
                if self.on_idle is not None:
                    self.on_idle()
        self._wake()

    def sources_done(self) -> None:
        self.sources_pending = False
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters:
            fut, who = waiters[0]
            if fut.done():
                waiters.popleft()
                continue
            if not self._can_next(who):
                return
            waiters.popleft()
            self.take(who)
            fut.set_result(None)


class Run:
    """One pipelined epoch in flight: its slot table, driver and what it waits for."""

    __slots__ = ("epoch", "values", "driver", "parked", "unparked", "waiter", "sources_left", "ended",
                 "abandoned", "prev", "runtimes")

    def __init__(self, epoch: int, values: list, driver: Any, n_sources: int, prev: Run | None):
        self.epoch = epoch
        self.values = values
        self.driver = driver
        self.parked: list[int] = []  # gated nodes waiting for an earlier epoch
        self.unparked: deque[int] = deque()  # gated nodes whose turn came
        self.waiter: asyncio.Future | None = None  # the epoch loop sleeps on it
        self.sources_left = n_sources
        self.ended = asyncio.get_running_loop().create_future()
        self.abandoned: BaseException | None = None
        self.prev = prev
        self.runtimes: list[AssetRuntime] = []  # this epoch's process-scoped assets

    def wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)


class Gates:
    """Per-epoch order of stateful nodes and runner-asset users across pipelined epochs.

    A *group* is a set of nodes that run one epoch after the other: ``{i}`` for a stateful
    node, the users of a runner-scoped asset for that asset. Node ``i`` may run epoch ``e``
    when every group it belongs to is at epoch ``e`` (``epoch[g]``); a group moves on to
    ``e + 1`` when all its members are done with ``e`` (``left[g]`` counts down), carrying
    its asset slots to epoch ``e + 1``'s slot table and to the runner's template.
    """

    def __init__(self, groups: list[list[int]], slots: list[list[int]], n: int):
        self.members = groups
        self.slots = slots
        self.of: list[list[int]] = [[] for _ in range(n)]
        for g, members in enumerate(groups):
            for i in members:
                self.of[i].append(g)
        self.epoch = [0] * len(groups)
        self.left = [len(m) for m in groups]

    def reset(self, epoch: int) -> None:
        self.epoch = [epoch] * len(self.members)
        self.left = [len(m) for m in self.members]

    def open(self, i: int, epoch: int) -> bool:
        return all(self.epoch[g] == epoch for g in self.of[i])

    def done(self, i: int, run: Run, runs: dict[int, Run], template: list) -> None:
        for g in self.of[i]:
            self.left[g] -= 1
            if self.left[g]:
                continue
            e = run.epoch + 1
            self.epoch[g] = e
            self.left[g] = len(self.members[g])
            nxt = runs.get(e)
            for slot in self.slots[g]:
                template[slot] = run.values[slot]
                if nxt is not None:
                    nxt.values[slot] = run.values[slot]
            if nxt is not None and nxt.parked:
                still: list[int] = []
                for j in nxt.parked:
                    (nxt.unparked.append if self.open(j, e) else still.append)(j)
                nxt.parked = still
                if nxt.unparked:
                    nxt.wake()
