"""The core: graph kernels and the per-epoch dispatch loop, compiled or pure Python.

``IMPLEMENTATION`` is ``"compiled"`` (the Cython extension ``_dispatch_c``) or ``"python"``
(its twin ``_dispatch_py``). Environment switches, read once at import:

- ``NOOB_PUREPYTHON=1``: use the pure-Python twin even if the extension is built.
- ``NOOB_REQUIRE_COMPILED=1``: a missing or broken extension is an ``ImportError`` instead of
  a silent fallback to the twin.

``get(name)`` returns either module explicitly (tests run every behavioural test on both);
``active`` is the module the rest of noob uses unless told otherwise.
"""

from __future__ import annotations

import os
from types import ModuleType

from noob._core import _dispatch_py

__all__ = ["IMPLEMENTATION", "active", "compiled_available", "get"]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


_compiled: ModuleType | None
_compile_error: BaseException | None = None
try:
    from noob._core import _dispatch_c as _compiled  # type: ignore[attr-defined,no-redef]
except ImportError as exc:  # not built (pure install, no compiler)
    _compiled = None
    _compile_error = exc

if _truthy("NOOB_REQUIRE_COMPILED") and _compiled is None:
    raise ImportError(
        "NOOB_REQUIRE_COMPILED is set but noob's compiled core (noob._core._dispatch_c) "
        f"could not be imported: {_compile_error}. Reinstall noob with a C compiler available "
        "(`pip install --force-reinstall --no-binary noob noob` or `pip install .` from a "
        "checkout), or unset NOOB_REQUIRE_COMPILED to use the pure-Python core."
    ) from _compile_error


def compiled_available() -> bool:
    """True if the Cython extension imported."""
    return _compiled is not None


def get(name: str) -> ModuleType:
    """The core module called ``"compiled"`` or ``"python"``."""
    if name == "python":
        return _dispatch_py
    if name == "compiled":
        if _compiled is None:
            raise ImportError(f"noob's compiled core is not available: {_compile_error}")
        return _compiled
    raise ValueError(f"unknown core implementation {name!r}; expected 'compiled' or 'python'")


active: ModuleType = _dispatch_py if (_truthy("NOOB_PUREPYTHON") or _compiled is None) else _compiled
IMPLEMENTATION: str = active.IMPLEMENTATION
