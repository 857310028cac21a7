"""Loggers: ``init_logger(name)`` gives the ``noob.<name>`` logger (as the original does).

noob does not configure handlers for you; the standard ``logging`` configuration of the
application decides where messages go. ``config`` is noob's settings object
(:data:`noob.config.config`): ``noob.logging.config.logs.level = "WARNING"`` sets the level
of the ``noob`` logger.
"""

from __future__ import annotations

import logging

from noob.config import config

__all__ = ["config", "init_logger"]


def init_logger(name: str, level: str | int | None = None, **_ignored: object) -> logging.Logger:
    """The logger ``noob.<name>`` (``name`` as is if it already starts with ``noob``).

    ``level`` sets its level; the original's file/rotation options are accepted and ignored.
    """
    logger = logging.getLogger(name if name.startswith("noob") else f"noob.{name}")
    if level is not None:
        logger.setLevel(level.upper() if isinstance(level, str) else level)
    return logger
