"""Kept for imports of the old location: built-in nodes live in ``noob.node.gather``."""

from noob.node.gather import Gather

__all__ = ["Gather"]
