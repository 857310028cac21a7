"""Node specifications under the original's module name ``noob.node.spec``.

Owns: nothing; re-exports :class:`noob.spec.NodeSpecification` and names the types that
describe a node's ``depends`` and ``nodeinfo``. Must not: hold any logic.
"""

from __future__ import annotations

from typing import Any, TypedDict

from noob.spec import Dependency, NodeSpecification

__all__ = ["Dependency", "DependsType", "NodeInfo", "NodeSpecification"]

DependsType = str | list[str | dict[str, str]] | None
"""What a node's ``depends`` may be: ``a.x``, or a list of ``a.x`` / ``{slot: a.x}``."""


class NodeInfo(TypedDict):
    """``NodeSpecification.nodeinfo``: ``{node_id, type, signals, slots}`` (signals and slots by name)."""

    node_id: str
    type: str
    signals: dict[str, Any]
    slots: dict[str, Any]
