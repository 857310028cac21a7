"""The event store under the original's module name ``noob.store``.

Owns: nothing; re-exports :class:`noob.event.EventStore` (where it lives). Must not: hold logic.
"""

from __future__ import annotations

from noob.event import EventStore

__all__ = ["EventStore"]
