"""Nodes: the ``Node`` base class users subclass, the method markers, signal and slot
introspection (``noob.node.base``), and the adapters that present every kind of node to the
runners (``noob.node.adapters``).
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
from noob.spec import NodeSpecification

__all__ = [
    "Gather",
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
