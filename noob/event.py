"""Events: what a node emitted, as plain dicts, built only when someone asks for them.

Owns: ``Event`` / ``MetaEvent`` (dicts with the original's keys), ``EventStore`` (the nested
``epoch -> node -> signal -> [Event]`` view of one epoch) and the id scheme.
Must not: sit on the per-epoch hot path. The runner builds events only when a callback is
registered or ``runner.store`` is read.
"""

from __future__ import annotations

import enum
import itertools
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TypedDict

from noob.types import Epoch, MetaSignal, NoEventable

__all__ = [
    "Event",
    "EventStore",
    "MetaEvent",
    "MetaEventType",
    "MetaSignal",
    "NoEventable",
    "event_id",
    "event_id_parts",
    "is_event",
]

_ID_SEQUENCE_BITS = 32
_ID_PREFIX_BITS = 32
_EVENT_KEYS = ("id", "timestamp", "node_id", "signal", "epoch", "value")


class Event(TypedDict):
    """One value a node emitted: ``{id, timestamp, node_id, signal, epoch, value}``."""

    id: int
    timestamp: datetime
    node_id: str
    signal: str
    epoch: Epoch
    value: Any


class MetaEventType(str, enum.Enum):
    """Kinds of events the runner emits about itself."""

    NodeReady = "NodeReady"
    EpochEnded = "EpochEnded"


MetaEvent = Event


def event_id(prefix: int, sequence: int) -> int:
    """An event id from a 32-bit prefix and a 32-bit sequence number."""
    return (prefix << _ID_SEQUENCE_BITS) ^ sequence


def event_id_parts(value: int) -> tuple[int, int]:
    """``(prefix, sequence)`` of an event id."""
    return value >> _ID_SEQUENCE_BITS, value & ((1 << _ID_SEQUENCE_BITS) - 1)


def is_event(value: Any) -> bool:
    """True for a dict that has every key of an ``Event``."""
    return isinstance(value, dict) and all(k in value for k in _EVENT_KEYS)


class EventMaker:
    """Makes events with ids ``prefix << 32 ^ n`` for n = 0, 1, 2, ..."""

    __slots__ = ("_seq", "prefix")

    def __init__(self, prefix: int | None = None):
        self.prefix = random.getrandbits(_ID_PREFIX_BITS) if prefix is None else prefix
        self._seq = itertools.count()

    def new(self, node_id: str, signal: str, epoch: Epoch, value: Any, timestamp: datetime | None = None) -> Event:
        return Event(
            id=event_id(self.prefix, next(self._seq)),
            timestamp=timestamp or datetime.now(UTC),
            node_id=node_id,
            signal=signal,
            epoch=epoch,
            value=value,
        )


def _tree() -> defaultdict:
    return defaultdict(lambda: defaultdict(lambda: defaultdict(list)))


class EventStore:
    """Events of the last epoch as ``events[epoch][node_id][signal] -> [Event]``.

    Missing keys give empty containers (``defaultdict``), as in the original.
    """

    def __init__(self) -> None:
        self.events: defaultdict = _tree()

    def add(self, event: Event) -> Event:
        self.events[event["epoch"]][event["node_id"]][event["signal"]].append(event)
        return event

    def get(self, node_id: str, signal: str, epoch: Epoch | int = -1) -> Event:
        """Latest event of ``node_id.signal`` in ``epoch`` (``-1``: latest epoch that has one)."""
        if epoch == -1:
            for e in sorted(self.events, reverse=True):
                found = self.events[e].get(node_id, {}).get(signal)
                if found:
                    return found[-1]
            raise KeyError(f"no event for {node_id}.{signal}")
        e = epoch if isinstance(epoch, Epoch) else Epoch(epoch)
        found = self.events.get(e, {}).get(node_id, {}).get(signal)
        if not found:
            raise KeyError(f"no event for {node_id}.{signal} in epoch {e}")
        return found[-1]

    def iter(self) -> Iterator[Event]:
        for nodes in self.events.values():
            for signals in nodes.values():
                for evs in signals.values():
                    yield from evs

    @property
    def flat_events(self) -> list[Event]:
        return list(self.iter())

    def clear(self) -> None:
        self.events = _tree()


NOEVENT = MetaSignal.NoEvent
