"""Nodes: the ``Node`` base class users subclass, the method markers, signal and slot
introspection (``noob.node.base``), and the adapters that present every kind of node to the
runners (``noob.node.adapters``).

The original's names are here too: ``Map``, ``Return`` and ``TubeNode`` (our adapters for
``type: map`` / ``return`` / ``tube``), ``Gather``, ``NodeSpecification``, ``NodeInfo``,
``SPECIAL_NODES``, and the submodules ``noob.node.base`` and ``noob.node.spec``.
"""

from __future__ import annotations

from noob.node.adapters import (
    MapNodeAdapter,
    NodeSubclassAdapter,
    ReturnNode,
    TubeNodeAdapter,
    WrapClassNode,
    WrapFuncNode,
)
from noob.node.base import (
    Node,
    Signal,
    Slot,
    deinit_method,
    init_method,
    process_method,
    signals_of,
    signature,
    slots_of,
)
from noob.node.gather import Gather
from noob.node.spec import NodeInfo
from noob.spec import NodeSpecification

Map = MapNodeAdapter
"""``type: map`` (the original's class name)."""
Return = ReturnNode
"""``type: return`` (the original's class name)."""
TubeNode = TubeNodeAdapter
"""``type: tube`` (the original's class name)."""

SPECIAL_NODES = {"gather": Gather, "map": Map, "return": Return, "tube": TubeNode}
"""The special ``type`` names and their classes."""

__all__ = [
    "SPECIAL_NODES",
    "Gather",
    "Map",
    "NodeInfo",
    "Return",
    "TubeNode",
    "MapNodeAdapter",
    "Node",
    "NodeSpecification",
    "NodeSubclassAdapter",
    "ReturnNode",
    "Signal",
    "Slot",
    "TubeNodeAdapter",
    "WrapClassNode",
    "WrapFuncNode",
    "deinit_method",
    "init_method",
    "process_method",
    "signals_of",
    "signature",
    "slots_of",
]
