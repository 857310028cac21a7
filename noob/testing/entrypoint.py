"""A fake ``noob.config`` entry point, for tests of entry-point tube discovery.

Owns: ``ENTRYPOINT_PATH`` (a fixed path that does not exist) and ``some_entrypoint_fn``, the
callable a ``noob.config_sources`` entry point would name.
Must not: touch the file system.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ENTRYPOINT_PATH", "some_entrypoint_fn"]

ENTRYPOINT_PATH = Path("/noob-testing/entrypoint/does-not-exist")
"""A fixed, fake directory that tests expect entry-point discovery to report."""


def some_entrypoint_fn() -> list[Path]:
    """Return ``[ENTRYPOINT_PATH]``, as a package's config-source entry point would."""
    return [ENTRYPOINT_PATH]
