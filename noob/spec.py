"""Tube specifications: a YAML file or a dict becomes attrs classes that mirror the file.

Owns: resolving and merging ``extends``, and *structural* validation — everything that can be
checked by looking at the file alone. The file itself is read by :mod:`noob.yaml` (YAML 1.2,
with the limits :data:`MAX_YAML_DEPTH` and :data:`MAX_ALIAS_EXPANSION`, re-exported here).
Every problem found is collected as a :class:`~noob.exceptions.Problem`
with the YAML path of the offending entry (``nodes.b.depends[1]``); ``strict=True`` raises
them all at once in one :class:`~noob.exceptions.SpecError`, ``strict=False`` leaves them on
``TubeSpecification.problems`` so the tube builder can add its own and raise once.

What is checked here:

- unknown keys at the top level and in every node, asset and input entry;
- ids (identifiers, not ``assets``/``input``/``meta``/``tube``), ``noob_id`` (``[\\w\\-/#]+``);
- the *shape* of ``type`` (special name, builtin, or dotted import path of at most
  :data:`MAX_TYPE_PARTS` parts);
- every ``depends`` form (:class:`Dependency` documents them), slot uniqueness, and that the
  node / ``input.<id>`` / ``assets.<id>`` each dependency names exists;
- ``params``, ``enabled``, ``stateful``, asset ``scope``/``depends``, input ``scope``/
  ``required``; at most one ``return`` node; duplicate YAML keys; malformed YAML;
  ``extends`` chains at most :data:`MAX_EXTENDS_DEPTH` files deep.

Hostile input ends in a ``SpecError`` naming the limit it passed, never a ``RecursionError``
or exhausted memory: :data:`MAX_YAML_DEPTH` and :data:`MAX_ALIAS_EXPANSION` (see
:mod:`noob.yaml`), :data:`MAX_EXTENDS_DEPTH`, :data:`MAX_TYPE_PARTS`, and
:data:`MAX_TUBE_NESTING` (checked by the tube builder, which loads child tubes).

Must not: import ``noob.tube``, ``noob.runner`` or ``noob._core``; import user code (whether a
``type`` imports, whether a signal exists, whether params fit, and cycles are the tube
builder's business); write any file while loading (``to_yaml(path)`` is the only writer).

Data flow: ``from_any`` → ``from_yaml``/``from_id``/``from_dict`` → ``_read_yaml`` (raw data +
YAML problems) → ``_apply_extends`` (raw merged mapping) → ``_Builder`` (spec objects +
structural problems). Work per node is a handful of dict lookups and ``str.isidentifier``
calls, so a 100 000-node file loads in a couple of seconds.
"""

from __future__ import annotations

import builtins
import difflib
import enum
import importlib.metadata
import os
import pathlib
from collections.abc import Iterable
from typing import Any

import attrs
import yaml

from noob import config
from noob.asset import AssetScope
from noob.exceptions import Problem, SpecError
from noob.types import valid_config_id
from noob.yaml import (  # noqa: F401  (the loader's limits and reader, also public here)
    MAX_ALIAS_EXPANSION,
    MAX_YAML_DEPTH,
    ConfigYAMLMixin,
    _found,
    _read_yaml,
    _short,
)

__all__ = [
    "RESERVED_IDS",
    "SPECIAL_TYPES",
    "AssetSpecification",
    "Dependency",
    "InputScope",
    "InputSpecification",
    "MAX_ALIAS_EXPANSION",
    "MAX_EXTENDS_DEPTH",
    "MAX_TUBE_NESTING",
    "MAX_TYPE_PARTS",
    "MAX_YAML_DEPTH",
    "NodeSpecification",
    "TubeSpecification",
    "merge_tube_specs",
]

try:
    NOOB_VERSION: str = importlib.metadata.version("noob")
except importlib.metadata.PackageNotFoundError:
    NOOB_VERSION = "0"

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

RESERVED_IDS = frozenset({"assets", "input", "meta", "tube"})
"""Names that cannot be node, asset, input or slot ids."""

SPECIAL_TYPES = frozenset({"gather", "map", "return", "tube"})
"""``type`` values naming noob's special nodes."""

_BUILTIN_NAMES = frozenset(vars(builtins))

MAX_EXTENDS_DEPTH = 100
"""How many files deep an ``extends`` chain may go (a file extending a file extending...).
A deeper chain is one problem at the ``extends`` entry past the limit; that file is not read."""

MAX_TUBE_NESTING = 50
"""How many levels deep ``type: tube`` nodes may nest tube files (a tube in a tube in...). The
tube builder reports a deeper child as one problem at its ``params.tube`` and does not load it."""

MAX_TYPE_PARTS = 64
"""How many dot-separated parts a ``type`` may have (``package.module.name`` has 3). A longer
one is a problem found before anything is imported (importing it would nest once per part)."""

_TOP_KEYS = ("noob_id", "noob_model", "noob_version", "description", "extends", "assets", "input", "nodes")
_HEADER_KEYS = ("noob_id", "noob_model", "noob_version", "description", "extends")
_NODE_KEYS = ("type", "depends", "params", "enabled", "stateful", "description", "ray", "id")
_ASSET_KEYS = ("type", "scope", "params", "depends", "description", "id")
_INPUT_KEYS = ("type", "scope", "default", "required", "description", "id")
_IGNORED_NODE_KEYS = frozenset({"nodeinfo"})  # computed by the original on dump
_LIST_CAP = 10  # how many existing ids a "does not exist" message lists


class InputScope(str, enum.Enum):
    """When an input is given: once to the tube (``tube``) or to every ``process()`` call."""

    tube = "tube"
    process = "process"

    def __str__(self) -> str:
        return self.value


@attrs.define
class Dependency:
    """One parsed entry of a ``depends`` (or of an asset's ``depends``).

    ``slot`` is ``None`` for the scalar form (``depends: a.x``); an ``int`` for a positional
    argument (plain strings in a list count 0, 1, 2… skipping dict entries; ``- 0: a.x`` or
    ``{0: a.x}`` give the index explicitly); a ``str`` for a keyword slot
    (``- left: a.x`` or ``depends: {left: a.x}``). ``node`` is a node id or the virtual
    ``input``/``assets``. ``path`` is the YAML path of the entry: ``nodes.b.depends``
    (scalar), ``nodes.b.depends[1]`` (list item) or ``nodes.b.depends.left`` (mapping form).
    """

    node: str
    signal: str
    slot: str | int | None
    path: str

    @property
    def source(self) -> str:
        """``"node.signal"``, as written in the file."""
        return f"{self.node}.{self.signal}"


_UNSET: Any = attrs.make_class("_Unset", [], repr=False)()  # "no default given" (InputSpecification)


def _dump_filter(out: dict[str, Any], defaults: dict[str, Any], exclude: Any, exclude_none: bool,
                 exclude_defaults: bool) -> dict[str, Any]:
    """Apply ``model_dump``'s ``exclude`` / ``exclude_none`` / ``exclude_defaults`` to a dump."""
    drop = set(exclude or ())
    return {
        k: v for k, v in out.items()
        if k not in drop
        and not (exclude_none and v is None)
        and not (exclude_defaults and k in defaults and v == defaults[k])
    }


def _check_standalone(kind: str, spec: Any) -> None:
    """Validate one spec object built in Python, with the YAML path's own checks.

    The entry is turned back into file data (``to_dict``) and run through the same builder
    as a file's entry, with the checks that need the rest of the tube (does the node a
    dependency names exist?) left to the ``TubeSpecification`` it joins. Parsed parts
    (``dependencies``, ``dependency``) are copied onto ``spec``; problems raise one ``SpecError``.
    """
    problems: list[Problem] = []
    builder = _LooseBuilder(problems)
    key = spec.id
    built: dict[str, Any]
    if kind == "nodes":
        built = builder.nodes({key: spec.to_dict()})
    elif kind == "assets":
        built = builder.assets({key: spec.to_dict()})
    else:
        built = builder.inputs({key: spec.to_dict()})
    if problems:
        raise SpecError(problems, tube=None)
    made: Any = built.get(key)
    if made is None:  # an invalid id: reported above
        return
    if kind == "nodes":
        spec.dependencies = made.dependencies
        spec.enabled = made.enabled
    elif kind == "assets":
        spec.dependency = made.dependency
        spec.scope = made.scope
    else:
        spec.scope = made.scope


def _to_asset_scope(value: Any) -> Any:
    try:
        return AssetScope(value)
    except ValueError:
        return value  # reported by the validation


def _to_input_scope(value: Any) -> Any:
    try:
        return InputScope(value)
    except ValueError:
        return value  # reported by the validation


@attrs.define
class NodeSpecification:
    """One entry of ``nodes``, as written in the file (``depends`` kept raw).

    ``dependencies`` holds the parsed, valid entries of ``depends``; it is derived data and
    takes no part in equality. A spec built in Python (``NodeSpecification("b", "pkg.f",
    depends=[{"x": "a.value"}])``) is parsed and checked like a file's entry: a malformed
    entry raises ``SpecError`` at once; whether ``a`` exists is checked by the tube.
    """

    id: str
    type: str | None
    params: dict | list | None = None
    depends: Any = None
    enabled: bool | str = True
    stateful: bool | None = None
    description: str | None = None
    dependencies: list[Dependency] = attrs.field(factory=list, eq=False, repr=False)
    #: placement options for ``noob.runner.ray.RayRunner`` (``group``, ``num_cpus``, ...);
    #: other runners ignore them, the Ray runner checks their contents
    ray: dict | None = attrs.field(default=None, kw_only=True)
    _parsed: bool = attrs.field(default=False, eq=False, repr=False, alias="_parsed")

    def __attrs_post_init__(self) -> None:
        if not self._parsed:
            _check_standalone("nodes", self)
            self._parsed = True

    @property
    def type_(self) -> str | None:
        """Alias of ``type`` (the original's attribute name)."""
        return self.type

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data; keys left at their default are omitted."""
        out: dict[str, Any] = {}
        if self.type is not None:
            out["type"] = self.type
        if self.depends is not None:
            out["depends"] = self.depends
        if self.params is not None:
            out["params"] = self.params
        if self.enabled is not True:
            out["enabled"] = self.enabled
        if self.stateful is not None:
            out["stateful"] = self.stateful
        if self.description is not None:
            out["description"] = self.description
        if self.ray is not None:
            out["ray"] = self.ray
        return out

    @property
    def nodeinfo(self) -> dict[str, Any]:
        """``{node_id, type, signals, slots}`` (signals and slots by name), for GUIs.

        Imports the node's ``type`` to read its signature, as the original does: an unknown
        module or name raises ``ModuleNotFoundError`` / ``AttributeError``.
        """
        from noob.node.adapters import node_info  # user code is only imported on demand

        return node_info(self)

    def model_dump(self, *, exclude: Any = None, exclude_none: bool = False, exclude_defaults: bool = False,
                   exclude_unset: bool = False, by_alias: bool = True, mode: str = "python", **_: Any) -> dict[str, Any]:
        """The original's pydantic dump: ``type, id, depends, params, enabled, stateful,
        description, nodeinfo`` (``nodeinfo`` imports the node's type; exclude it with
        ``exclude={"nodeinfo"}``). ``by_alias=False`` names ``type`` ``type_``."""
        drop = set(exclude or ())
        out: dict[str, Any] = {
            "type" if by_alias else "type_": self.type,
            "id": self.id,
            "depends": self.depends,
            "params": self.params,
            "enabled": self.enabled,
            "stateful": self.stateful,
            "description": self.description,
        }
        if "nodeinfo" not in drop:
            out["nodeinfo"] = _jsonable(_info_dump(self.nodeinfo), mode)
        defaults = {"depends": None, "params": None, "enabled": True, "stateful": None, "description": None}
        return _dump_filter(out, defaults, drop, exclude_none, exclude_defaults or exclude_unset)


@attrs.define
class AssetSpecification:
    """One entry of ``assets``. ``dependency`` is the parsed ``depends`` (slot ``None``).

    Built in Python, it is checked like a file's entry (``scope`` may be given as a string).
    """

    id: str
    type: str | None
    scope: AssetScope = attrs.field(default=AssetScope.runner, converter=_to_asset_scope)
    params: dict | list | None = None
    depends: str | None = None
    description: str | None = None
    dependency: Dependency | None = attrs.field(default=None, eq=False, repr=False)
    _parsed: bool = attrs.field(default=False, eq=False, repr=False, alias="_parsed")

    def __attrs_post_init__(self) -> None:
        if not self._parsed:
            _check_standalone("assets", self)
            self._parsed = True

    @property
    def type_(self) -> str | None:
        """Alias of ``type`` (the original's attribute name)."""
        return self.type

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data; keys left at their default are omitted (``scope`` always kept)."""
        out: dict[str, Any] = {}
        if self.type is not None:
            out["type"] = self.type
        out["scope"] = self.scope.value if isinstance(self.scope, AssetScope) else self.scope
        if self.params is not None:
            out["params"] = self.params
        if self.depends is not None:
            out["depends"] = self.depends
        if self.description is not None:
            out["description"] = self.description
        return out

    def model_dump(self, *, exclude: Any = None, exclude_none: bool = False, exclude_defaults: bool = False,
                   exclude_unset: bool = False, by_alias: bool = True, mode: str = "python", **_: Any) -> dict[str, Any]:
        """The original's pydantic dump: ``id, type, scope, params, depends, description``."""
        out: dict[str, Any] = {
            "id": self.id,
            "type" if by_alias else "type_": self.type,
            "scope": self.scope.value if mode == "json" else self.scope,
            "params": self.params,
            "depends": self.depends,
            "description": self.description,
        }
        defaults = {"params": None, "depends": None, "description": None}
        return _dump_filter(out, defaults, exclude, exclude_none, exclude_defaults or exclude_unset)


@attrs.define
class InputSpecification:
    """One entry of ``input``. ``has_default`` is True when a default was given (in a file: a
    ``default:`` key, even null; in Python: the ``default=`` argument, even ``None``)."""

    id: str
    type: str = "Any"
    scope: InputScope = attrs.field(default=InputScope.tube, converter=_to_input_scope)
    default: Any = _UNSET
    has_default: bool = None  # type: ignore[assignment]  # None: "was a default given?"
    required: bool = True
    description: str | None = None
    _parsed: bool = attrs.field(default=False, eq=False, repr=False, alias="_parsed")

    def __attrs_post_init__(self) -> None:
        if self.has_default is None:
            self.has_default = self.default is not _UNSET
        if self.default is _UNSET:
            self.default = None
        if not self._parsed:
            _check_standalone("input", self)
            self._parsed = True

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data; keys left at their default are omitted (``type`` always kept)."""
        out: dict[str, Any] = {"type": self.type}
        if self.scope is not InputScope.tube:
            out["scope"] = self.scope.value if isinstance(self.scope, InputScope) else self.scope
        if self.has_default:
            out["default"] = self.default
        if self.required is not True:
            out["required"] = self.required
        if self.description is not None:
            out["description"] = self.description
        return out

    def model_dump(self, *, exclude: Any = None, exclude_none: bool = False, exclude_defaults: bool = False,
                   exclude_unset: bool = False, by_alias: bool = True, mode: str = "python", **_: Any) -> dict[str, Any]:
        """The original's pydantic dump: ``id, type, scope, default, description, required``."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "scope": self.scope.value if mode == "json" else self.scope,
            "default": self.default,
            "description": self.description,
            "required": self.required,
        }
        defaults = {"scope": InputScope.tube, "default": None, "description": None, "required": True}
        return _dump_filter(out, defaults, exclude, exclude_none, exclude_defaults or exclude_unset)


def _info_dump(info: dict[str, Any]) -> dict[str, Any]:
    """``nodeinfo`` with ``Signal`` / ``Slot`` objects as the original dumps them."""
    return {
        "node_id": info["node_id"],
        "type": info["type"],
        "signals": {k: {"name": v.name, "annotation": v.annotation} for k, v in info["signals"].items()},
        "slots": {k: {"name": v.name, "annotation": v.annotation, "required": v.required} for k, v in info["slots"].items()},
    }


def _jsonable(value: Any, mode: str) -> Any:
    """In ``mode="json"``, annotations (types) become ``str(type)``, as pydantic's JSON dump does."""
    if mode != "json":
        return value
    if isinstance(value, dict):
        return {k: _jsonable(v, mode) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v, mode) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


_SECTIONS = (("nodes", NodeSpecification), ("assets", AssetSpecification), ("input", InputSpecification))


@attrs.define
class TubeSpecification(ConfigYAMLMixin):
    """A whole tube file: header, ``nodes``, ``assets``, ``input`` and ``extends``.

    After ``extends`` is resolved, ``nodes``/``assets``/``input`` hold the merged result
    while ``noob_id``, ``description`` and ``extends`` are the extending spec's own.
    ``source`` is the file it came from and ``problems`` the structural problems found while
    loading (empty unless loaded with ``strict=False``); neither takes part in equality.

    Built in Python (``TubeSpecification(noob_id=..., nodes={"a": {...} or NodeSpecification})``),
    the whole spec is checked like a file (entries may be mappings or spec objects; an
    object's ``id`` must equal its key) and every problem raised at once in a ``SpecError``.
    """

    noob_id: str | None = None
    noob_model: str = "noob.tube.TubeSpecification"
    noob_version: str = NOOB_VERSION
    description: str | None = None
    nodes: dict[str, NodeSpecification] = attrs.Factory(dict)
    assets: dict[str, AssetSpecification] = attrs.Factory(dict)
    input: dict[str, InputSpecification] = attrs.Factory(dict)
    extends: list[str] | None = None
    source: pathlib.Path | None = attrs.field(default=None, eq=False)
    problems: list[Problem] = attrs.field(factory=list, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not (self.nodes or self.assets or self.input):
            return  # the loader's own construction, or an empty spec: nothing to check
        problems: list[Problem] = []
        raw: dict[str, Any] = {"noob_id": self.noob_id, "noob_model": self.noob_model, "noob_version": self.noob_version,
                               "description": self.description, "extends": self.extends}
        for section, klass in _SECTIONS:
            entries = getattr(self, section)
            raw[section] = {}
            for key, entry in entries.items():
                if isinstance(entry, klass):
                    if entry.id != key:
                        problems.append(Problem(
                            f"{section}.{key}.id",
                            f"Mismatch between id used as key in {section} dict ({key!r}) and the spec's id ({entry.id!r})",
                            "use the spec's id as its key",
                        ))
                    raw[section][key] = entry.to_dict()
                else:
                    raw[section][key] = entry
        built = _Builder(problems).tube(raw)
        for section, klass in _SECTIONS:
            entries = getattr(self, section)
            made: dict[str, Any] = getattr(built, section)
            out = {}
            for key, entry in entries.items():
                if isinstance(entry, klass):
                    if key in made:
                        if section == "nodes":
                            setattr(entry, "dependencies", made[key].dependencies)  # noqa: B010
                        elif section == "assets":
                            setattr(entry, "dependency", made[key].dependency)  # noqa: B010
                    out[key] = entry
                elif key in made:
                    out[key] = made[key]
            setattr(self, section, out)
        if problems:
            raise SpecError(problems, tube=self.noob_id)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_any(cls, source: Any, context: dict | None = None, *, strict: bool = True) -> TubeSpecification:
        """Load from a spec (returned as is), a dict, a ``noob_id``, or a ``.yaml``/``.yml`` path.

        A string that is a valid ``noob_id`` (no dots) is looked up in the config sources;
        a relative path is tried against the cwd, then each config source. Raises
        :class:`noob.config.TubeIdNotFoundError` (a ``KeyError``) for an unknown id,
        :class:`noob.config.TubeFileNotFoundError` (a ``FileNotFoundError``) for a missing
        file, and ``TypeError`` for other kinds of ``source``.

        ``context={"recursive": True}`` (the original's validation context) also loads every
        ``type: tube`` node's child: its ``params.tube`` becomes the child's
        ``TubeSpecification``, recursively.
        """
        if isinstance(source, cls):
            spec = source
        elif isinstance(source, dict):
            spec = cls.from_dict(source, strict=strict)
        elif isinstance(source, str) and valid_config_id(source):
            spec = cls.from_id(source, strict=strict)
        elif isinstance(source, (str, os.PathLike)):
            spec = cls.from_yaml(_locate(source, base=None), strict=strict)
        else:
            raise TypeError(
                f"cannot load a tube specification from {type(source).__name__} {source!r}: "
                "expected a TubeSpecification, a dict, a noob_id or a .yaml/.yml path"
            )
        if context and context.get("recursive"):
            spec._load_children(context)
        return spec

    def _load_children(self, context: dict) -> None:
        """Replace each ``type: tube`` node's ``params.tube`` by the loaded child spec."""
        base = self.source.parent if self.source is not None else None
        for node in self.nodes.values():
            if node.type != "tube" or not isinstance(node.params, dict) or "tube" not in node.params:
                continue
            child = node.params["tube"]
            if isinstance(child, TubeSpecification):
                continue
            if isinstance(child, dict):
                node.params["tube"] = TubeSpecification.from_any(child, context)
            else:
                node.params["tube"] = TubeSpecification.from_any(_locate(child, base), context)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], context: dict | None = None, *, strict: bool = True) -> TubeSpecification:
        """Load a tube file (never writes it); ``context`` as in :meth:`from_any`.

        Raises :class:`noob.config.TubeFileNotFoundError` (a ``FileNotFoundError`` and a
        ``ValueError``) if it does not exist.
        """
        path = pathlib.Path(path)
        if not path.is_file():
            raise config.TubeFileNotFoundError(f"no tube file {os.fspath(path)!r}", source=os.fspath(path))
        data, problems = _read_yaml(path)
        spec = cls._build(data, path, problems, strict)
        if context and context.get("recursive"):
            spec._load_children(context)
        return spec

    @classmethod
    def from_dict(
        cls, data: dict, *, source: str | os.PathLike[str] | None = None, strict: bool = True
    ) -> TubeSpecification:
        """Build from a mapping shaped like a tube file; ``source`` anchors relative ``extends``."""
        return cls._build(data, pathlib.Path(source) if source is not None else None, [], strict)

    @classmethod
    def from_id(cls, noob_id: str, context: dict | None = None, *, strict: bool = True) -> TubeSpecification:
        """Load the tube file whose ``noob_id`` is ``noob_id`` (see :func:`noob.config.path_from_id`)."""
        return cls.from_yaml(config.path_from_id(noob_id), context, strict=strict)

    @classmethod
    def _build(
        cls, data: Any, source: pathlib.Path | None, problems: list[Problem], strict: bool
    ) -> TubeSpecification:
        if data is None and problems:
            data = {}  # unreadable YAML, already reported
        elif not isinstance(data, dict):
            problems.append(
                Problem(
                    "",
                    f"the top level of a tube must be a mapping, found {_found(data)}",
                    "start the file with keys such as 'noob_id:' and 'nodes:'",
                )
            )
            data = {}
        stack = (source.resolve(),) if source is not None else ()
        data = _apply_extends(data, source, stack, problems)
        spec = _Builder(problems).tube(data)
        spec.source = source
        spec.problems = problems
        if strict and problems:
            raise SpecError(problems, tube=spec._name(), source=source)
        return spec

    def _name(self) -> str | None:
        """What error messages call this tube: its ``noob_id``, else its file name."""
        if self.noob_id:
            return self.noob_id
        return self.source.name if self.source is not None else None

    # ------------------------------------------------------------------ dumping
    def to_dict(self) -> dict[str, Any]:
        """Plain data in canonical key order; ``from_dict(spec.to_dict()) == spec``.

        Values such as ``params`` dicts are shared with the spec, not copied.
        """
        out: dict[str, Any] = {
            "noob_id": self.noob_id,
            "noob_model": self.noob_model,
            "noob_version": self.noob_version,
        }
        if self.description is not None:
            out["description"] = self.description
        if self.extends is not None:
            out["extends"] = list(self.extends)
        if self.assets:
            out["assets"] = {k: v.to_dict() for k, v in self.assets.items()}
        if self.input:
            out["input"] = {k: v.to_dict() for k, v in self.input.items()}
        out["nodes"] = {k: v.to_dict() for k, v in self.nodes.items()}
        return out

    def to_yaml(self, path: str | os.PathLike[str] | None = None, **dump_kwargs: Any) -> str:
        """The spec as YAML text (canonical keys, defaults left out); also written to ``path``
        when given. ``dump_kwargs`` go to ``yaml.dump`` (e.g. ``width``)."""
        text = yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, **dump_kwargs)
        if path is not None:
            pathlib.Path(path).write_text(text, encoding="utf-8")
        return text

    def model_dump(self, *, exclude: Any = None, exclude_none: bool = False, exclude_defaults: bool = False,
                   exclude_unset: bool = False, by_alias: bool = True, mode: str = "python", **_: Any) -> dict[str, Any]:
        """The original's pydantic dump: ``noob_id, noob_model, noob_version, assets, input,
        nodes, extends, description``, each entry dumped by its own ``model_dump`` (with the
        same options; ``exclude`` applies to the top level, ``nodeinfo`` is left out of nodes
        when ``exclude`` names it)."""
        drop = set(exclude or ())
        kw: dict[str, Any] = dict(exclude_none=exclude_none, exclude_defaults=exclude_defaults,
                                  exclude_unset=exclude_unset, by_alias=by_alias, mode=mode)
        node_exclude = {"nodeinfo"} if "nodeinfo" in drop else None
        out: dict[str, Any] = {
            "noob_id": self.noob_id,
            "noob_model": self.noob_model,
            "noob_version": self.noob_version,
            "assets": {k: v.model_dump(**kw) for k, v in self.assets.items()},
            "input": {k: v.model_dump(**kw) for k, v in self.input.items()},
            "nodes": {k: v.model_dump(exclude=node_exclude, **kw) for k, v in self.nodes.items()},
            "extends": self.extends,
            "description": self.description,
        }
        defaults: dict[str, Any] = {"assets": {}, "input": {}, "nodes": {}, "extends": None, "description": None, "noob_id": None}
        return _dump_filter(out, defaults, drop - {"nodeinfo"}, exclude_none, exclude_defaults or exclude_unset)

    @property
    def nodeinfo(self) -> dict[str, dict[str, Any]]:
        """``{node_id: NodeSpecification.nodeinfo}`` (imports every node's type)."""
        return {k: v.nodeinfo for k, v in self.nodes.items()}

    @property
    def return_node(self) -> NodeSpecification | None:
        """The node of ``type: return``, if any."""
        for node in self.nodes.values():
            if node.type == "return":
                return node
        return None


# ---------------------------------------------------------------------- extends
def _locate(entry: str | os.PathLike[str], base: pathlib.Path | None) -> pathlib.Path:
    """Find the tube file ``entry`` names: a ``noob_id`` (strings only), or a path.

    A relative path is tried against ``base`` (the extending file's directory), then the
    cwd, then each config source. Raises :class:`noob.config.TubeNotFoundError`.
    """
    if isinstance(entry, str) and valid_config_id(entry):
        return config.path_from_id(entry)
    path = pathlib.Path(entry).expanduser()
    if path.suffix not in config.YAML_SUFFIXES:
        raise config.TubeNotFoundError(
            f"{os.fspath(entry)!r} is neither a noob_id (letters, digits, '_', '-', '/', '#') "
            "nor a path ending in .yaml/.yml",
            source=os.fspath(entry),
        )
    if path.is_absolute():
        candidates = [path]
    else:
        roots = [base] if base is not None else []
        candidates = [root / path for root in (*roots, pathlib.Path.cwd(), *config.config_sources())]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise config.TubeFileNotFoundError(
        f"no file {os.fspath(entry)!r} found (looked for {', '.join(str(c) for c in candidates)})",
        source=os.fspath(entry),
        searched=[c.parent for c in candidates],
    )


def _apply_extends(
    data: dict, source: pathlib.Path | None, stack: tuple[pathlib.Path, ...], problems: list[Problem]
) -> dict:
    """``data`` merged over the tubes its ``extends`` lists (recursively), left to right.

    Problems inside an extended file are reported at ``extends[i]`` of ``data``. A file that
    is already on ``stack`` (the chain of files being extended) closes a cycle: reported and
    skipped. The result keeps ``data``'s own header keys (``noob_id``, ``description``,
    ``extends``, ``noob_model``, ``noob_version``).
    """
    extends = data.get("extends")
    if not extends or not isinstance(extends, list):
        return data  # absent, or malformed: the builder reports it
    base = source.parent if source is not None else None
    merged: dict = {}
    for i, entry in enumerate(extends):
        where = f"extends[{i}]"
        if not isinstance(entry, str):
            continue  # reported by the builder
        try:
            path = _locate(entry, base)
        except config.TubeNotFoundError as exc:
            problems.append(
                Problem(where, str(exc), "fix the path or noob_id, or add its directory as a config source")
            )
            continue
        resolved = path.resolve()
        if len(stack) >= MAX_EXTENDS_DEPTH:
            problems.append(Problem(
                where,
                f"the extends chain is more than {MAX_EXTENDS_DEPTH} files deep at {path.name} "
                f"(noob.spec.MAX_EXTENDS_DEPTH); {path.name} is not read",
                "extend fewer levels: merge some files of the chain",
            ))
            continue
        if resolved in stack:
            chain = " -> ".join(p.name for p in (*stack[stack.index(resolved) :], resolved))
            problems.append(
                Problem(where, f"extends cycle: {chain}", "remove the extends entry that closes the loop")
            )
            continue
        parent, parent_problems = _read_yaml(path)
        if isinstance(parent, dict):
            parent = _apply_extends(parent, path, (*stack, resolved), parent_problems)
        else:
            if parent is not None or not parent_problems:
                parent_problems.append(
                    Problem("", f"the top level must be a mapping, found {_found(parent)}")
                )
            parent = {}
        for problem in parent_problems:
            problems.append(Problem(where, f"in {path.name}: {problem}", ""))
        merged = _merge_specs(merged, parent)
    merged = _merge_specs(merged, data)
    for key in _HEADER_KEYS:
        merged.pop(key, None)
        if key in data:
            merged[key] = data[key]
    return merged


def _merge_specs(left: dict, right: dict) -> dict:
    """Merge two raw tube mappings: right wins; ``nodes`` merged node by node."""
    out = _merge_dicts(left, {k: v for k, v in right.items() if k != "nodes"})
    left_nodes, right_nodes = left.get("nodes"), right.get("nodes")
    if isinstance(left_nodes, dict) and isinstance(right_nodes, dict):
        out["nodes"] = _merge_nodes(left_nodes, right_nodes)
    elif right_nodes is not None:
        out["nodes"] = right_nodes
    return out


def _merge_dicts(left: dict, right: dict) -> dict:
    """Recursive merge: left keys then new right keys; two dicts merge, anything else right wins.

    Lists are replaced, never concatenated. Neither argument is modified.
    """
    out = dict(left)
    for key, value in right.items():
        old = out.get(key)
        out[key] = _merge_dicts(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def _is_return(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("type") == "return"


def _merge_nodes(left: dict, right: dict) -> dict:
    """Merge two ``nodes`` mappings.

    A node present on both sides is merged with :func:`_merge_dicts`, except that a
    ``depends`` given on the right replaces the left's wholesale. Only one return node
    survives: when both sides have one under different keys, the left's is merged into the
    right's and stored under the right's key; when only the left has one, it is kept.
    """
    out = dict(left)
    right_return = next((k for k, v in right.items() if _is_return(v)), None)
    left_return = next((k for k, v in left.items() if _is_return(v)), None)
    if right_return is not None and left_return is not None and left_return != right_return:
        out[right_return] = out.pop(left_return)
    for key, value in right.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            node = _merge_dicts(old, value)
            if "depends" in value:
                node["depends"] = value["depends"]
            out[key] = node
        else:
            out[key] = value
    return out


def merge_tube_specs(left: Any, right: Any) -> dict:
    """Merge two tubes as ``extends`` does, right over left; returns the merged mapping.

    Either side may be a mapping shaped like a tube file or a ``TubeSpecification``. Rules:
    mappings merge key by key (right wins, lists are replaced); a node's ``depends`` given on
    the right replaces the left's; only one ``return`` node survives, under the right's key.
    """
    def raw(side: Any) -> dict:
        if isinstance(side, TubeSpecification):
            return side.to_dict()
        if isinstance(side, dict):
            return side
        raise TypeError(f"merge_tube_specs takes mappings or TubeSpecifications, got {type(side).__name__}")

    return _merge_specs(raw(left), raw(right))


# ---------------------------------------------------------------------- validation
def _names(names: Iterable[str]) -> str:
    """``"'a', 'b'"``, capped at ``_LIST_CAP`` names, or ``"none"``."""
    names = list(names)
    if not names:
        return "none"
    shown = ", ".join(repr(n) for n in names[:_LIST_CAP])
    if len(names) > _LIST_CAP:
        shown += f", ... ({len(names) - _LIST_CAP} more)"
    return shown


class _Builder:
    """Turns a raw (merged) tube mapping into spec objects, appending problems as it goes.

    Broken parts of an entry fall back to their defaults; entries that are not mappings or
    have invalid ids are left out. Ids declared in the file — valid or not — count as
    existing for dependency checks, so one bad id does not cascade into "does not exist"
    problems.
    """

    #: True for a single entry built in Python: checks that need the rest of the tube are skipped
    loose = False

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.node_ids: dict[Any, None] = {}
        self.asset_ids: dict[Any, None] = {}
        self.input_ids: dict[Any, None] = {}
        self.tube_inputs: set[str] = set()
        self.process_inputs: set[str] = set()
        self._type_problems: dict[str, tuple[str, str] | None] = {}

    def problem(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(path, message, fix))

    # -------------------------------------------------------------- helpers
    def unknown_keys(
        self, entry: dict, allowed: tuple[str, ...], path: str, what: str, ignored: frozenset = frozenset()
    ) -> None:
        for key in entry:
            if key not in allowed and key not in ignored:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"did you mean {close[0]!r}?" if close else "remove it"
                self.problem(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key {key!r} in {what} (allowed: {_names(allowed)})",
                    fix,
                )

    def valid_id(self, key: Any, path: str, what: str) -> bool:
        if not isinstance(key, str) or not key.isidentifier():
            self.problem(
                path,
                f"{what} id must be a Python identifier, found {_found(key)}",
                "use letters, digits and '_' only, not starting with a digit",
            )
            return False
        if key in RESERVED_IDS:
            self.problem(
                path,
                f"{what} id {key!r} is reserved ({_names(sorted(RESERVED_IDS))} cannot be ids)",
                "rename it",
            )
            return False
        return True

    def entry_id(self, entry: dict, key: str, path: str) -> None:
        if "id" in entry and entry["id"] != key:
            self.problem(
                f"{path}.id",
                f"'id' must equal the mapping key {key!r}, found {_found(entry['id'])}",
                "remove the 'id' key; the mapping key is the id",
            )

    def optional_str(self, entry: dict, key: str, path: str) -> str | None:
        value = entry.get(key)
        if value is None or isinstance(value, str):
            return value
        self.problem(f"{path}.{key}", f"{key} must be a string, found {_found(value)}", "quote it")
        return None

    def type_(self, entry: dict, path: str, what: str) -> str | None:
        """The entry's ``type`` if present and well-formed, else ``None`` (with a problem)."""
        if "type" not in entry or entry["type"] is None:
            self.problem(
                f"{path}.type",
                f"{what} has no 'type'",
                "add 'type: package.module.name' (a function or class), or a special type "
                f"({_names(sorted(SPECIAL_TYPES))})",
            )
            return None
        value = entry["type"]
        if not isinstance(value, str):
            self.problem(
                f"{path}.type",
                f"type must be an import path string, found {_found(value)}",
                "write it as 'package.module.name'",
            )
            return None
        if value not in self._type_problems:
            self._type_problems[value] = _check_type(value)
        found = self._type_problems[value]
        if found is not None:
            self.problem(f"{path}.type", *found)
            return None
        return value

    def params(self, entry: dict, path: str) -> dict | list | None:
        value = entry.get("params")
        if isinstance(value, dict) and not all(type(key) is str for key in value):
            for key in value:
                if type(key) is not str:
                    self.problem(
                        f"{path}.params.{key}",
                        f"a params key must be a parameter name (a string), found {_found(key)}",
                        "quote it if it is a name, or use a list for positional params",
                    )
            return {k: v for k, v in value.items() if type(k) is str}
        if value is None or isinstance(value, (dict, list)):
            return value
        self.problem(
            f"{path}.params",
            f"params must be a mapping (keyword arguments) or a list (positional arguments), found {_found(value)}",
            "write 'params: {name: value}'",
        )
        return None

    # -------------------------------------------------------------- dependencies
    def dependency(self, value: Any, slot: str | int | None, path: str) -> Dependency | None:
        """Parse one ``node.signal`` and check its target exists; ``None`` (with a problem) if not."""
        if not isinstance(value, str):
            self.problem(
                path,
                f"a dependency must be a '<node>.<signal>' string, found {_found(value)}",
                "write it as node.signal, e.g. 'a.value'",
            )
            return None
        node, dot, signal = value.partition(".")
        if not (dot and node.isidentifier() and signal.isidentifier()):
            self.problem(
                path,
                f"{value!r} is not a dependency: expected '<node>.<signal>' "
                "(exactly one dot, an identifier on each side)",
                "write it as node.signal, e.g. 'a.value'",
            )
            return None
        if self.loose:
            return Dependency(node, signal, slot, path)
        if node == "input":
            if signal not in self.input_ids:
                self.problem(
                    path,
                    f"{value!r} depends on input {signal!r}, which does not exist (inputs: {_names(self.input_ids)})",
                    "declare it under 'input:' or use one of the existing inputs",
                )
                return None
        elif node == "assets":
            if signal not in self.asset_ids:
                self.problem(
                    path,
                    f"{value!r} depends on asset {signal!r}, which does not exist (assets: {_names(self.asset_ids)})",
                    "declare it under 'assets:' or use one of the existing assets",
                )
                return None
        elif node not in self.node_ids:
            self.problem(
                path,
                f"{value!r} depends on node {node!r}, which does not exist (nodes: {_names(self.node_ids)})",
                f"use one of the existing node ids or add a node {node!r}",
            )
            return None
        return Dependency(node, signal, slot, path)

    def slot(self, key: Any, path: str, seen: dict[str | int, str]) -> str | int | None:
        """Validate a slot key (keyword name or positional index); ``None`` if invalid or repeated."""
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            self.problem(
                path,
                f"a slot must be a keyword name or a positional index, found {_found(key)}",
                "write '- name: node.signal' or '- 0: node.signal'",
            )
            return None
        if isinstance(key, int):
            if key < 0:
                self.problem(path, f"positional slot must be >= 0, found {key}", "use 0, 1, 2, ...")
                return None
        elif not key.isidentifier() or key in RESERVED_IDS:
            reason = "is reserved" if key in RESERVED_IDS else "is not a Python identifier"
            self.problem(
                path,
                f"slot name {key!r} {reason}",
                "use the parameter's name, or an integer key (0: node.signal) for a positional slot",
            )
            return None
        return self.unique_slot(key, path, seen)

    def unique_slot(self, slot: str | int, path: str, seen: dict[str | int, str]) -> str | int | None:
        if slot in seen:
            kind = "positional slot" if isinstance(slot, int) else "slot"
            self.problem(
                path,
                f"{kind} {slot!r} is given twice (first at {seen[slot]})",
                "give each slot one dependency",
            )
            return None
        seen[slot] = path
        return slot

    def depends(self, raw: Any, path: str) -> list[Dependency]:
        """Parse every ``depends`` form (see :class:`Dependency`), keeping only valid entries."""
        deps: list[Dependency] = []
        if raw is None:
            return deps
        if isinstance(raw, str):
            dep = self.dependency(raw, None, path)
            return [dep] if dep is not None else deps
        seen: dict[str | int, str] = {}
        slot: str | int | None
        value: Any
        if isinstance(raw, dict):
            for key, value in raw.items():
                sub = f"{path}.{key}"
                slot = self.slot(key, sub, seen)
                if slot is not None and (dep := self.dependency(value, slot, sub)) is not None:
                    deps.append(dep)
            return deps
        if not isinstance(raw, list):
            self.problem(
                path,
                f"depends must be a 'node.signal' string, a list, or a mapping of slots, found {_found(raw)}",
                "write 'depends: a.value' or a list such as '- left: a.value'",
            )
            return deps
        position = 0
        for i, item in enumerate(raw):
            sub = f"{path}[{i}]"
            if isinstance(item, str):
                slot = self.unique_slot(position, sub, seen)
                position += 1
                value = item
            elif isinstance(item, dict):
                if len(item) != 1:
                    self.problem(
                        sub,
                        f"a depends list item must be a string or a mapping with exactly one key, "
                        f"found {len(item)} keys ({_names(map(str, item))})",
                        "give each slot its own list item",
                    )
                    continue
                ((key, value),) = item.items()
                slot = self.slot(key, sub, seen)
            else:
                self.problem(
                    sub,
                    f"a depends list item must be 'node.signal' or '{{slot: node.signal}}', found {_found(item)}",
                    "write '- a.value' or '- left: a.value'",
                )
                continue
            if slot is not None and (dep := self.dependency(value, slot, sub)) is not None:
                deps.append(dep)
        return deps

    # -------------------------------------------------------------- sections
    def section(self, data: dict, key: str) -> dict:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(
                key,
                f"{key} must be a mapping of id -> entry, found {_found(value)}",
                f"write '{key}:' followed by indented entries",
            )
            return {}
        return value

    def entry(self, key: Any, value: Any, path: str, what: str) -> bool:
        if isinstance(value, dict):
            return True
        self.problem(
            path, f"{what} {key!r} must be a mapping, found {_found(value)}", "add its keys, e.g. 'type:'"
        )
        return False

    def inputs(self, raw: dict) -> dict[str, InputSpecification]:
        out: dict[str, InputSpecification] = {}
        for key, entry in raw.items():
            path = f"input.{key}"
            ok = self.valid_id(key, path, "input")
            if not self.entry(key, entry, path, "input"):
                continue
            self.unknown_keys(entry, _INPUT_KEYS, path, "an input")
            self.entry_id(entry, key, path)
            spec = InputSpecification(key, has_default=False, _parsed=True)
            type_ = entry.get("type", "Any")
            if isinstance(type_, str):
                spec.type = type_
            else:
                self.problem(
                    f"{path}.type",
                    f"input type must be a string, found {_found(type_)}",
                    "write e.g. 'type: int'",
                )
            scope = entry.get("scope", "tube")
            if scope in ("tube", "process"):
                spec.scope = InputScope(scope)
            else:
                self.problem(
                    f"{path}.scope",
                    f"input scope must be 'tube' or 'process', found {_found(scope)}",
                    "use 'scope: tube' or 'scope: process'",
                )
            if "default" in entry:
                spec.default, spec.has_default = entry["default"], True
            required = entry.get("required", True)
            if isinstance(required, bool):
                spec.required = required
            else:
                self.problem(
                    f"{path}.required",
                    f"required must be true or false, found {_found(required)}",
                    "use 'required: false'",
                )
            spec.description = self.optional_str(entry, "description", path)
            if ok:
                out[key] = spec
                (self.tube_inputs if spec.scope is InputScope.tube else self.process_inputs).add(key)
        return out

    def assets(self, raw: dict) -> dict[str, AssetSpecification]:
        out: dict[str, AssetSpecification] = {}
        for key, entry in raw.items():
            path = f"assets.{key}"
            ok = self.valid_id(key, path, "asset")
            if not self.entry(key, entry, path, "asset"):
                continue
            self.unknown_keys(entry, _ASSET_KEYS, path, "an asset")
            self.entry_id(entry, key, path)
            spec = AssetSpecification(key, self.type_(entry, path, f"asset {key!r}"), _parsed=True)
            scope = entry.get("scope")
            if scope in ("runner", "process", "node"):
                spec.scope = AssetScope(scope)
            else:
                found = "no scope" if scope is None else f"scope {_found(scope)}"
                self.problem(
                    f"{path}.scope",
                    f"asset scope must be 'runner', 'process' or 'node', found {found}",
                    "add e.g. 'scope: runner'",
                )
            spec.params = self.params(entry, path)
            depends = entry.get("depends")
            if depends is not None:
                if spec.scope is not AssetScope.runner:
                    self.problem(
                        f"{path}.depends",
                        f"'depends' is only allowed with scope 'runner', found scope {spec.scope.value!r}",
                        "use 'scope: runner' or remove 'depends'",
                    )
                elif isinstance(depends, str) and depends.partition(".")[0] in ("input", "assets"):
                    self.problem(
                        f"{path}.depends",
                        f"an asset can only depend on a node's signal, found {depends!r}",
                        "name a node signal, e.g. 'depends: b.value'",
                    )
                else:
                    dep = self.dependency(depends, None, f"{path}.depends")
                    if dep is not None:
                        spec.depends, spec.dependency = depends, dep
            spec.description = self.optional_str(entry, "description", path)
            if ok:
                out[key] = spec
        return out

    def enabled(self, value: Any, path: str) -> bool | str:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.startswith("input.") and self.loose:
            return value  # which inputs exist is checked by the tube the spec joins
        if isinstance(value, str) and value.startswith("input."):
            name = value[len("input.") :]
            if name in self.tube_inputs:
                return value
            if name in self.process_inputs:
                self.problem(
                    path,
                    f"enabled uses process-scoped input {name!r}; only tube-scoped inputs can enable a node",
                    f"make input {name!r} 'scope: tube'",
                )
            else:
                self.problem(
                    path,
                    f"enabled uses input {name!r}, which is not a declared tube-scoped input (tube inputs: {_names(sorted(self.tube_inputs))})",
                    f"declare input {name!r} with 'scope: tube'",
                )
            return True
        self.problem(
            path,
            f"enabled must be true, false or 'input.<name>', found {_found(value)}",
            "use 'enabled: false' or 'enabled: input.<name>'",
        )
        return True

    def nodes(self, raw: dict) -> dict[str, NodeSpecification]:
        out: dict[str, NodeSpecification] = {}
        for key, entry in raw.items():
            path = f"nodes.{key}"
            ok = self.valid_id(key, path, "node")
            if not self.entry(key, entry, path, "node"):
                continue
            self.unknown_keys(entry, _NODE_KEYS, path, "a node", _IGNORED_NODE_KEYS)
            self.entry_id(entry, key, path)
            spec = NodeSpecification(key, self.type_(entry, path, f"node {key!r}"), _parsed=True)
            if "params" in entry:
                spec.params = self.params(entry, path)
            if "depends" in entry:
                spec.depends = entry["depends"]
                spec.dependencies = self.depends(spec.depends, f"{path}.depends")
            if "enabled" in entry:
                spec.enabled = self.enabled(entry["enabled"], f"{path}.enabled")
            if "stateful" in entry:
                stateful = entry["stateful"]
                if stateful is None or isinstance(stateful, bool):
                    spec.stateful = stateful
                else:
                    self.problem(
                        f"{path}.stateful",
                        f"stateful must be true, false or null, found {_found(stateful)}",
                        "use 'stateful: true' or 'stateful: false'",
                    )
            if "description" in entry:
                spec.description = self.optional_str(entry, "description", path)
            if entry.get("ray") is not None:
                if isinstance(entry["ray"], dict):
                    spec.ray = dict(entry["ray"])
                else:
                    self.problem(f"{path}.ray", f"ray must be a mapping, found {_found(entry['ray'])}",
                                 "write 'ray: {group: name}'")
            if ok:
                out[key] = spec
        returns = [k for k, v in out.items() if v.type == "return"]
        if len(returns) > 1:
            self.problem(
                "nodes",
                f"only one node of type 'return' is allowed, found {len(returns)}: {_names(returns)}",
                "keep one return node; return several values by giving it a depends list",
            )
        return out

    # -------------------------------------------------------------- top level
    def tube(self, data: dict) -> TubeSpecification:
        self.unknown_keys(data, _TOP_KEYS, "", "a tube")
        spec = TubeSpecification()
        noob_id = data.get("noob_id")
        if noob_id is None or valid_config_id(noob_id):
            spec.noob_id = noob_id
        else:
            self.problem(
                "noob_id",
                f"noob_id must match [\\w\\-/#]+ (letters, digits, '_', '-', '/', '#'; no dots or spaces), found {_found(noob_id)}",
                "rename it, e.g. 'my-tube'",
            )
        for key in ("noob_model", "noob_version"):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)  # e.g. an unquoted 'noob_version: 1.0'
            if isinstance(value, str):
                setattr(spec, key, value)
            elif value is not None:
                self.problem(key, f"{key} must be a string, found {_found(value)}", "quote it")
        spec.description = self.optional_str(data, "description", "")
        extends = data.get("extends")
        if extends is not None:
            if isinstance(extends, list) and all(isinstance(e, str) for e in extends):
                spec.extends = list(extends)
            elif isinstance(extends, list):
                for i, e in enumerate(extends):
                    if not isinstance(e, str):
                        self.problem(
                            f"extends[{i}]",
                            f"an extends entry must be a noob_id or path string, found {_found(e)}",
                            "quote it",
                        )
                spec.extends = [e for e in extends if isinstance(e, str)]
            else:
                self.problem(
                    "extends",
                    f"extends must be a list of noob_ids or paths, found {_found(extends)}",
                    "write it as a list: 'extends: [base.yaml]'",
                )
        inputs, assets, nodes = (
            self.section(data, "input"),
            self.section(data, "assets"),
            self.section(data, "nodes"),
        )
        self.input_ids = dict.fromkeys(inputs)
        self.asset_ids = dict.fromkeys(assets)
        self.node_ids = dict.fromkeys(nodes)
        spec.input = self.inputs(inputs)
        spec.assets = self.assets(assets)
        spec.nodes = self.nodes(nodes)
        return spec


class _LooseBuilder(_Builder):
    """A ``_Builder`` for one entry on its own: dependencies and ``enabled: input.x`` are not
    checked against the rest of the tube (see ``_check_standalone``)."""

    loose = True


def _check_type(value: str) -> tuple[str, str] | None:
    """``(message, fix)`` if ``value`` is not an absolute identifier, else ``None``."""
    if value in SPECIAL_TYPES or value in _BUILTIN_NAMES:
        return None
    parts = value.count(".") + 1
    if parts > MAX_TYPE_PARTS:
        return (
            f"type {_short(value)} has {parts:,} dotted parts; at most {MAX_TYPE_PARTS} are read "
            "(noob.spec.MAX_TYPE_PARTS), nothing is imported",
            "write the import path of a function or class, 'package.module.name'",
        )
    if "." not in value:
        if value.isidentifier():
            return (
                f"type {value!r} is a bare name that is neither a builtin nor a special type ({_names(sorted(SPECIAL_TYPES))})",
                f"use the full import path, e.g. 'package.module.{value}'",
            )
    elif all(part.isidentifier() for part in value.split(".")):
        return None
    message = (
        f"type {_short(value)} is not an absolute import path: expected 'package.module.name' "
        "(identifiers separated by dots; no ':' and no leading '.')"
    )
    return message, "write it as 'package.module.name'"
