"""Small value types shared by every layer: ``Name``, ``MetaSignal``, ``Epoch`` and friends.

Owns: plain data types with no behaviour beyond comparison and formatting.
Must not: import the spec, tube, runner or core modules.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, Literal, NamedTuple, NewType, TypedDict, TypeVar, Union

import attrs

__all__ = [
    "CONFIG_ID_PATTERN",
    "Epoch",
    "EventMap",
    "MetaSignal",
    "Name",
    "NoEventable",
    "NodeSignal",
    "ReturnNodeType",
    "RunnerContext",
    "valid_config_id",
]

CONFIG_ID_PATTERN = re.compile(r"[\w\-\/#]+")


def valid_config_id(value: Any) -> bool:
    """True if ``value`` can be a tube id (``[\\w\\-/#]+``, so no dots)."""
    return isinstance(value, str) and CONFIG_ID_PATTERN.fullmatch(value) is not None


@attrs.frozen
class Name:
    """Names a signal: ``Annotated[int, Name("count")]``.

    Frozen and hashable (the original's ``Name`` is not, which breaks ``typing`` unions on
    CPython 3.11/3.12).
    """

    name: str


class MetaSignal(str, enum.Enum):
    """Values with a meaning for the scheduler rather than for nodes.

    ``NoEvent``: return it (or put it in a tuple position) to say "this signal did not fire
    this epoch"; nodes that require the signal are skipped. ``Exhausted``: a source has run
    out.
    """

    NoEvent = "__META__NoEvent"
    Exhausted = "__META__Exhausted"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"<MetaSignal.{self.name}>"


class NodeSignal(NamedTuple):
    """A ``(node_id, signal)`` pair."""

    node_id: str
    signal: str


class Epoch:
    """The position of an event in time: a root integer and a path of map sub-epochs.

    ``Epoch(3)`` is the fourth ``process()`` call; ``Epoch(3) / ("m", 1)`` is the second
    element mapped by node ``m`` in it. Immutable and hashable; ``len``, indexing
    (``e[0] == ("tube", root)``), ordering and arithmetic follow the original noob.
    """

    __slots__ = ("_hash", "_path", "_root")

    def __init__(self, root: int, path: Iterable[tuple[str, int]] = ()):
        root = int(root)
        if root < 0:
            raise OverflowError(f"epoch roots must be >= 0, got {root}")
        self._root = root
        self._path: tuple[tuple[str, int], ...] = tuple((str(n), int(i)) for n, i in path)
        self._hash = hash((root, self._path))

    # --- data
    @property
    def root(self) -> int:
        return self._root

    @property
    def path(self) -> tuple[tuple[str, int], ...]:
        return self._path

    @property
    def root_epoch(self) -> Epoch:
        return self if not self._path else Epoch(self._root)

    @property
    def is_root(self) -> bool:
        return not self._path

    @property
    def parent(self) -> Epoch | None:
        if not self._path:
            return None
        return Epoch(self._root, self._path[:-1])

    @property
    def parents(self) -> list[Epoch]:
        out = []
        e = self.parent
        while e is not None:
            out.append(e)
            e = e.parent
        return out

    @property
    def leaf(self) -> tuple[str, int] | None:
        return self._path[-1] if self._path else None

    def make_subepochs(self, node_id: str, n: int) -> list[Epoch]:
        return [self / (node_id, i) for i in range(n)]

    def to_wire(self) -> int | list:
        if not self._path:
            return self._root
        return [self._root, *([n, i] for n, i in self._path)]

    @classmethod
    def from_wire(cls, value: Any) -> Epoch:
        if isinstance(value, Epoch):
            return value
        if isinstance(value, int):
            return cls(value)
        root, *path = value
        return cls(root, [tuple(p) for p in path])

    # --- protocol
    def __truediv__(self, segment: tuple[str, int]) -> Epoch:
        node, index = segment
        return Epoch(self._root, (*self._path, (node, index)))

    def _bump(self, k: int) -> Epoch:
        if not self._path:
            value = self._root + k
            if value < 0:
                raise ValueError("Negative epochs are invalid")
            return Epoch(value)
        node, index = self._path[-1]
        if index + k < 0:
            raise ValueError("Negative epochs are invalid")
        return Epoch(self._root, (*self._path[:-1], (node, index + k)))

    def __add__(self, k: int) -> Epoch:
        return self._bump(int(k))

    def __sub__(self, k: int) -> Epoch:
        return self._bump(-int(k))

    def __len__(self) -> int:
        return 1 + len(self._path)

    def __getitem__(self, i: int) -> tuple[str, int]:
        items = (("tube", self._root), *self._path)
        return items[i]

    def _key(self) -> tuple:
        return (self._root, self._path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Epoch):
            return NotImplemented
        return self._root == other._root and self._path == other._path

    def __lt__(self, other: Epoch) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Epoch) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Epoch) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Epoch) -> bool:
        return self._key() >= other._key()

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        return (Epoch, (self._root, self._path))

    def __repr__(self) -> str:
        if not self._path:
            return str(self._root)
        return repr((self._root, *self._path))

    __str__ = __repr__


class RunnerContext(TypedDict):
    """What a node's ``init`` receives when it asks for a parameter annotated ``RunnerContext``."""

    runner: Any
    input_collection: Any


#: annotate a parameter ``EventMap`` to receive the events behind the node's inputs, keyed by
#: slot (``{slot: Event}``). Its own type (a ``NewType`` of ``dict``, not ``dict`` itself), so a
#: ``six: dict`` parameter is an ordinary slot: injection matches this exact annotation only.
EventMap = NewType("EventMap", dict)
ReturnNodeType = Any
_T = TypeVar("_T")
#: a value of type ``T``, or ``MetaSignal.NoEvent`` ("did not fire"), for annotations
NoEventable = Union[_T, Literal[MetaSignal.NoEvent]]
