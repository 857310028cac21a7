"""Edges, signals and slots: the names of the original's ``noob.edge``.

Owns: ``Edge`` (one dependency of one node, as the original lists them in ``Tube.edges``).
``Signal`` and ``Slot`` live in :mod:`noob.node.base` (where introspection makes them) and
are re-exported here.
Must not: import the tube, plan, runner or core modules.
"""

from __future__ import annotations

import attrs

from noob.node.base import Signal, Slot

__all__ = ["Edge", "Signal", "Slot"]


@attrs.frozen
class Edge:
    """One dependency: ``source_node.source_signal`` feeds ``target_node``'s ``target_slot``.

    ``target_slot`` is ``None`` for the scalar form (``depends: a.x``), an ``int`` for a
    positional argument, a ``str`` for a keyword slot. ``required`` is False when the target
    slot is optional (``Optional[T] = None``, or any keyword slot of ``return``).
    ``source_node`` may be the virtual ``input`` or ``assets``. Equality by field values.
    """

    source_node: str
    source_signal: str
    target_node: str
    target_slot: str | int | None = None
    required: bool = True
