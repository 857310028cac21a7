"""Constants under the original's module name ``noob.const``.

Owns: nothing new; names the reserved ids (from :mod:`noob.spec`) and the prefix of the
``MetaSignal`` values. Must not: import anything but ``noob.types`` and ``noob.spec``.
"""

from __future__ import annotations

from noob.spec import RESERVED_IDS as _RESERVED

__all__ = ["GUI_NODE_ID", "META_SIGNAL", "RESERVED_IDS"]

RESERVED_IDS = tuple(sorted(_RESERVED))
"""Names that cannot be node, asset, input or slot ids: ``assets``, ``input``, ``meta``, ``tube``."""

META_SIGNAL = "__META__"
"""The prefix of every ``MetaSignal`` value (``MetaSignal.NoEvent == "__META__NoEvent"``)."""

GUI_NODE_ID = "__gui"
"""The node id the original's GUI used for its own messages."""
