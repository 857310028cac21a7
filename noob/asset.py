"""Assets as users write them: the ``Asset`` base class and ``AssetScope``.

Owns: what an asset *is* for a user — a class with ``init``/``deinit`` that sets ``obj``,
or any class, function or context-manager factory (wrapped by ``noob.tube``).
Must not: know about runners or the core; lifecycle ordering lives in the runner.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any, ClassVar, get_origin

__all__ = ["Asset", "AssetScope"]


class AssetScope(str, enum.Enum):
    """How long an asset lives: the runner's life, one ``process()`` call, or one node call."""

    runner = "runner"
    process = "process"
    node = "node"

    def __str__(self) -> str:
        return self.value


def _asset_fields(cls: type) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is Asset or not issubclass(klass, Asset):
            continue
        for name, ann in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or name == "obj" or get_origin(ann) is ClassVar or str(ann).startswith("ClassVar"):
                continue
            fields[name] = vars(klass).get(name, inspect.Parameter.empty)
    return fields


class Asset:
    """Base class for assets with a lifecycle.

    Declare parameters as annotated class attributes (``size: int = 10``); they are filled
    from the asset's ``params``. ``init`` must set ``self.obj`` — the object nodes receive —
    and ``deinit`` should release it. Both may be ``async``.
    """

    obj: Any = None

    def __init__(self, id: str = "", spec: Any = None, scope: AssetScope | str = AssetScope.runner, depends: str | None = None, **params: Any):
        self.id = id
        self.spec = spec
        self.scope = AssetScope(scope)
        self.depends = depends
        self.obj = None
        fields = _asset_fields(type(self))
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected parameter(s) {unknown}; it accepts {sorted(fields) or 'no parameters'}")
        for name, default in fields.items():
            if name in params:
                setattr(self, name, params[name])
            elif default is inspect.Parameter.empty:
                raise TypeError(f"{type(self).__name__} is missing required parameter {name!r}")
            else:
                setattr(self, name, default)

    @classmethod
    def param_fields(cls) -> dict[str, Any]:
        """The parameters this class accepts: name -> default (``inspect.Parameter.empty`` if required)."""
        return _asset_fields(cls)

    def init(self) -> None:
        """Create the object (set ``self.obj``)."""

    def deinit(self) -> None:
        """Release the object."""
        self.obj = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} scope={self.scope.value}>"
