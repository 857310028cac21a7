"""Special node types named by short ``type`` names in tubes: ``gather`` (and ``return``,
which lives in ``noob.tube`` because it is part of how a plan reads results).

Owns: the behaviour of built-in nodes that are ordinary nodes to the core. The synchronous
runner lets the core carry out a plain ``gather`` itself (``Dispatcher.set_native``), on the
very ``_items`` list of the node: ``process`` and the core must keep doing the same thing, and
the list is only ever emptied in place.
Must not: depend on runners.
"""

from __future__ import annotations

from typing import Any

from noob.node.base import Node
from noob.types import MetaSignal

__all__ = ["Gather"]

_NOEVENT = MetaSignal.NoEvent


class Gather(Node):
    """Collect values across epochs and emit them as one list.

    ``n`` mode (``params: {n: 5}``): emits a list every ``n`` values, in the epoch where the
    n-th arrives; other epochs emit nothing. Trigger mode (a ``trigger`` dependency): emits
    what was collected, including this epoch's value, whenever the trigger fires.
    ``flatten: true`` concatenates iterable values into one list.
    """

    n: int | None = None
    flatten: bool = False

    @classmethod
    def check_params(cls, params: dict) -> list[tuple[str, str, str]]:
        """Load-time check of ``params``: ``[(key, problem, fix)]``."""
        out = []
        n = params.get("n")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            out.append(("n", f"`n` must be a positive integer, got {n!r}", "use a count like `n: 5`, or a `trigger` dependency"))
        if not isinstance(params.get("flatten", False), bool):
            out.append(("flatten", f"`flatten` must be true or false, got {params['flatten']!r}", "use `flatten: true`"))
        return out

    def __post_init__(self) -> None:
        if self.n is not None and (not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1):
            raise ValueError(f"gather node {self.id!r}: `n` must be a positive integer, got {self.n!r}")
        self._items: list[Any] = []

    def process(self, value: Any, trigger: Any | None = None, n: int | None = None) -> Any:
        """Collect ``value``; emit the list when ``n`` values are in (``n`` from params, or from
        a map's ``n`` signal) or when ``trigger`` fires."""
        target = self.n if n is None else n
        if trigger is not None and target is not None:
            raise ValueError(f"gather node {self.id!r}: cannot use a trigger while `n` is set")
        items = self._items
        items.append(value)
        if trigger is None and (target is None or len(items) < target):
            return _NOEVENT  # the common case, kept short: gather runs once per element of a map
        out = items[:]  # emptied in place: a runner's core may hold this very list (set_native)
        items.clear()
        if not self.flatten:
            return out
        flat: list[Any] = []
        for item in out:
            try:
                flat.extend(item)
            except TypeError:
                raise TypeError(f"gather node {self.id!r} was asked to flatten, but got a non-iterable {item!r}") from None
        return flat

    def discard(self) -> None:
        """Drop what was collected and not yet emitted (the runner calls it when an epoch
        fails inside a map region, so no partial list survives into the next epoch)."""
        self._items.clear()

    def deinit(self) -> None:
        self._items.clear()
