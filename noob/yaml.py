"""Reading YAML: the tube loader, and helpers under the original's names (``yaml``,
``YAMLMixin``, ``ConfigYAMLMixin``, ``yaml_peek``).

Owns: parsing a tube file as YAML 1.2 (core schema scalars; libyaml's parser when available,
objects built straight from its events, see ``_load_events``) with its limits
(:data:`MAX_YAML_DEPTH`, :data:`MAX_ALIAS_EXPANSION`), reporting every problem as a
:class:`~noob.exceptions.Problem`; a small load/dump object (``yaml.load`` / ``yaml.dump``)
built on that loader (same parser, same clear errors); mixins that give a class
``from_yaml`` / ``to_yaml`` (and, for tube-like configs, ``from_id`` / ``from_any`` /
``config_sources``); and ``yaml_peek``, a line scan that reads one key without parsing the file.
Must not: import ``noob.spec`` (which builds its spec classes on this module), write a file
unless asked (``to_yaml(path)`` / ``yaml.dump(data, path)``), or rewrite a file while loading
it (the original completed headers in place; we do not).

YAML limits (a hostile file must fail fast, not exhaust memory): only YAML's plain data tags
are read (``!!python/object`` and every other tag is a problem; nothing is constructed or
imported); collections nest at most :data:`MAX_YAML_DEPTH` (100) levels; aliases add at most
:data:`MAX_ALIAS_EXPANSION` (1,000,000) values, every ``*alias`` counted as a full copy of its
anchor ("billion laughs" is refused after a few thousand events). Past a limit, loading stops
with one problem naming the line.
"""
from __future__ import annotations

import io
import os
import pathlib
import re
import reprlib
from typing import IO, Any

import yaml as _pyyaml

from noob.exceptions import Problem, SpecError

__all__ = ["MAX_ALIAS_EXPANSION", "MAX_YAML_DEPTH", "ConfigYAMLMixin", "YAMLMixin", "yaml", "yaml_peek"]

_Dumper = getattr(_pyyaml, "CSafeDumper", _pyyaml.SafeDumper)
_Loader = getattr(_pyyaml, "CSafeLoader", _pyyaml.SafeLoader)


class _Text:
    """Text to parse, presented to the tube loader like a file (``read_bytes`` and a name)."""

    def __init__(self, data: bytes, name: str = "<string>"):
        self._data = data
        self.name = name

    def read_bytes(self) -> bytes:
        return self._data

    def __str__(self) -> str:
        return self.name

    __fspath__ = __str__


def _parse(source: Any) -> Any:
    """Parse a path, a string of YAML, bytes or a text stream; raise ``SpecError`` on bad YAML."""
    if isinstance(source, pathlib.Path):
        target: Any = source
        name: Any = source
    elif isinstance(source, (bytes, bytearray)):
        target = name = _Text(bytes(source))
    elif isinstance(source, str):
        target = name = _Text(source.encode())
    elif hasattr(source, "read"):
        text = source.read()
        target = name = _Text(text.encode() if isinstance(text, str) else text, getattr(source, "name", "<stream>"))
    else:
        raise TypeError(f"cannot read YAML from {type(source).__name__} {source!r}: give a Path, a string or a stream")
    data, problems = _read_yaml(target)
    if problems:
        raise SpecError(problems, source=str(name))
    return data


def _represent(dumper: Any, data: Any) -> Any:
    """Objects the safe dumper has no representer for: paths, specs, dict/list subclasses, enums."""
    if isinstance(data, pathlib.PurePath):
        return dumper.represent_str(str(data))
    if hasattr(data, "model_dump"):
        return dumper.represent_dict(data.model_dump())
    if isinstance(data, dict):
        return dumper.represent_dict(dict(data))
    if isinstance(data, (list, tuple, set, frozenset)):
        return dumper.represent_list(list(data))
    if isinstance(data, str):  # str enums such as AssetScope
        return dumper.represent_str(str.__str__(data))
    return dumper.represent_str(str(data))


class _YAML:
    """``yaml.load(source)`` and ``yaml.dump(data, stream=None)``, like the original's round-trip
    object. ``load`` takes a ``Path``, a YAML string, bytes or a stream; ``dump`` writes to a
    ``Path`` or stream when given and returns the text. ``Path`` values dump as strings; other
    unknown objects as ``str()`` (spec objects as their ``model_dump()``)."""

    def load(self, source: Any) -> Any:
        return _parse(source)

    def dump(self, data: Any, stream: IO[str] | str | os.PathLike[str] | None = None, **kwargs: Any) -> str:
        class Dumper(_Dumper):  # type: ignore[misc, valid-type]
            pass

        Dumper.add_multi_representer(object, _represent)
        text = _pyyaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, **kwargs)
        if isinstance(stream, (str, os.PathLike)):
            pathlib.Path(stream).write_text(text, encoding="utf-8")
        elif stream is not None:
            stream.write(text)
        return text


yaml = _YAML()
"""The shared load/dump object (``noob.yaml.yaml``)."""


def _as_dict(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    import attrs

    if attrs.has(type(obj)):
        return attrs.asdict(obj)
    return dict(vars(obj))


class YAMLMixin:
    """``from_yaml(path)`` (``cls(**mapping)``) and ``to_yaml(path=None)`` / ``to_yamls()`` for a class.

    ``to_yaml`` dumps ``model_dump()`` when the class has one (noob's spec classes do), else
    the attrs fields or instance attributes.
    """

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Any:
        data = _parse(pathlib.Path(path))
        if not isinstance(data, dict):
            raise ValueError(f"{os.fspath(path)}: expected a mapping at the top level, found {type(data).__name__}")
        return cls(**data)

    def to_yaml(self, path: str | os.PathLike[str] | None = None, **dump_kwargs: Any) -> str:
        return yaml.dump(_as_dict(self), path, **dump_kwargs)

    def to_yamls(self, **dump_kwargs: Any) -> str:
        return yaml.dump(_as_dict(self), None, **dump_kwargs)


class ConfigYAMLMixin(YAMLMixin):
    """A ``YAMLMixin`` for configs found by id: ``from_id``, ``from_any``, ``path_from_id``,
    ``config_sources()`` (the directories searched, see :func:`noob.config.config_sources`).

    ``HEADER_FIELDS`` names the header keys a file starts with. Subclasses (``TubeSpecification``)
    override the loaders with their own validation.
    """

    HEADER_FIELDS = ("noob_id", "noob_model", "noob_version")

    @classmethod
    def config_sources(cls) -> list[pathlib.Path]:
        """The directories searched for files by id, highest priority first."""
        from noob import config

        return config.config_sources()

    @classmethod
    def path_from_id(cls, noob_id: str) -> pathlib.Path:
        """The file whose root-level ``noob_id:`` is ``noob_id`` (a ``KeyError`` if none)."""
        from noob import config

        return config.path_from_id(noob_id)

    @classmethod
    def from_id(cls, noob_id: str, context: dict | None = None) -> Any:
        return cls.from_yaml(cls.path_from_id(noob_id))

    @classmethod
    def from_any(cls, source: Any, context: dict | None = None) -> Any:
        if isinstance(source, cls):
            return source
        if isinstance(source, dict):
            return cls(**source)
        from noob.types import valid_config_id

        if isinstance(source, str) and valid_config_id(source):
            return cls.from_id(source, context)
        return cls.from_yaml(source)


def yaml_peek(key: str, path: str | os.PathLike[str], root: bool = True, first: bool = True) -> Any:
    """The value of ``key:`` in a YAML file, read by scanning lines (no parse).

    ``root=True`` only matches unindented keys; ``first=False`` returns every match as a list.
    Quotes around the value and a trailing ``# comment`` are stripped. A key whose value
    is not on its line (a nested block) does not count. Raises ``KeyError`` when the key is
    not found.
    """
    indent = "" if root else r"[ \t]*"
    pattern = re.compile(rf"^{indent}{re.escape(key)}[ \t]*:[ \t]*(?P<value>.*?)[ \t]*(?:[ \t]#.*)?$")
    found: list[str] = []
    with io.open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = pattern.match(line.rstrip("\r\n"))
            if match is None:
                continue
            value = match.group("value")
            if not value:
                continue  # `key:` opening a block (its value on the next lines): not a value to peek
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if first:
                return value
            found.append(value)
    if not found:
        raise KeyError(f"key {key!r} not found in {os.fspath(path)}" + (" at the top level" if root else ""))
    return found


# ---------------------------------------------------------------------- messages
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = 6
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60


def _short(value: Any) -> str:
    """``repr(value)`` cut to 60 characters, in time bounded by that size.

    A value from a file may be huge, recursive (``&a [*a]``) or shared many times over by
    aliases; a full ``repr`` of it could take forever, so containers go through ``reprlib``.
    """
    if isinstance(value, str):
        text = repr(value[:80])
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        text = f"<{value.bit_length()}-bit integer>"
    else:
        text = _REPR.repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text


def _found(value: Any) -> str:
    """``"list [1, 2]"``: a value's type and (shortened) repr, for messages."""
    if value is None:
        return "null"
    return f"{type(value).__name__} {_short(value)}"


# ---------------------------------------------------------------------- YAML reading
MAX_YAML_DEPTH = 100
"""How deeply collections may nest in a tube file; deeper files are refused with one problem."""

MAX_ALIAS_EXPANSION = 1_000_000
"""How many values aliases may add to a tube file, counting every ``*alias`` as a full copy
of what its ``&anchor`` holds (nested aliases included). A file past it ("billion laughs")
is refused with one problem as soon as the count is exceeded; files without aliases are
never limited."""

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = _TAG_PREFIX + "str"
_MAP_TAGS = frozenset({None, "!", _TAG_PREFIX + "map"})
_SEQ_TAGS = frozenset({None, "!", _TAG_PREFIX + "seq"})
_NULLS = frozenset({"~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NUMBER_START = frozenset("-+0123456789.")
# the number forms of YAML 1.2's core schema, and only those: no YAML 1.1 octal (0777 is
# decimal), binary (0b101), underscores (1_000) or sexagesimal (1:30) -- those stay strings
_FLOAT_RE = re.compile(
    r"""[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)""",
    re.X,
)
_INT_RE = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_TIMESTAMP_RE = re.compile(
    r"""[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
     (?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
     (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?""",
    re.X,
)
_INT_BASES = {"0o": 8, "0x": 16}
_MAX_INT_BITS = 14_000  # ~4200 decimal digits: below Python's int <-> str conversion limit
_SAFE_CONSTRUCTOR = _pyyaml.constructor.SafeConstructor()
_NO_KEY = object()  # a mapping frame waiting for its next key
_MERGE = object()  # ... whose pending key is the merge key '<<'
_BAD_KEY = object()  # ... whose pending key was refused: the value is read and dropped


class _BadScalar(Exception):
    """A scalar whose tag or value cannot be read; ``args`` are ``(message, fix)``."""


def _int12(text: str) -> int | None:
    """The value of a YAML 1.2 core-schema integer (``12``, ``-7``, ``0777`` == 777, ``0o17``, ``0x1F``)."""
    digits = text
    negative = digits[:1] == "-"
    if digits[:1] in ("-", "+"):
        digits = digits[1:]
    base = _INT_BASES.get(digits[:2], 10)
    if base != 10:
        digits = digits[2:]
    try:
        value = int(digits, base)  # a leading 0 is decimal: 0777 == 777, as in YAML 1.2
    except ValueError:
        return None
    if value.bit_length() > _MAX_INT_BITS:
        return None  # kept as a string: Python could not print it in an error message
    return -value if negative else value


def _float12(text: str) -> float:
    """The value of a YAML 1.2 float (``1.5``, ``1e3``, ``.5``, ``-.inf``, ``.nan``)."""
    body = text.lstrip("+-").lower()
    if body == ".inf":
        return float("-inf") if text[0] == "-" else float("inf")
    if body == ".nan":
        return float("nan")
    return float(text)


def _timestamp(text: str) -> Any:
    try:
        return _SAFE_CONSTRUCTOR.construct_yaml_timestamp(_pyyaml.ScalarNode(_TAG_PREFIX + "timestamp", text))
    except ValueError as exc:
        raise _BadScalar(f"{text!r} looks like a date but is not one ({exc})", "quote it to keep a string") from None


def _resolve(value: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar under YAML 1.2's core schema.

    Only ``true``/``false`` (three spellings) are booleans and only ``~``/``null``/empty
    are null: ``yes``, ``no``, ``on``, ``off``, ``y``, ``n`` stay strings. Numbers are the
    core schema's: ``0777`` is the integer 777 (no YAML 1.1 octal), while ``1_000``,
    ``0b101`` and ``1:30`` (YAML 1.1 underscores, binary, sexagesimal) stay strings.
    """
    first = value[:1]
    if not first:
        return None
    if first in "~nN":
        return None if value in _NULLS else value
    if first in "tTfF":
        return _BOOLS.get(value, value)
    if first in _NUMBER_START:
        if _FLOAT_RE.fullmatch(value):
            return _float12(value)
        if _INT_RE.fullmatch(value):
            number = _int12(value)
            return value if number is None else number
        if _TIMESTAMP_RE.fullmatch(value):
            return _timestamp(value)
    return value


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


def _tagged(tag: str, value: str) -> Any:
    """The value of a scalar with an explicit tag; only YAML's plain data tags are read."""
    kind = tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else None
    if kind == "str":
        return value
    resolved: Any = _resolve(value)
    if kind == "null" and resolved is None:
        return None
    if kind == "bool" and isinstance(resolved, bool):
        return resolved
    if kind == "int" and isinstance(resolved, int) and not isinstance(resolved, bool):
        return resolved
    if kind == "float" and isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
        return float(resolved)
    if kind == "timestamp" and _TIMESTAMP_RE.fullmatch(value):
        return resolved
    if kind == "binary":
        try:
            return _SAFE_CONSTRUCTOR.construct_yaml_binary(_pyyaml.ScalarNode(tag, value))
        except _pyyaml.YAMLError:
            raise _BadScalar(f"!!binary value {value[:40]!r} is not base64", "fix or remove it") from None
    if kind in ("null", "bool", "int", "float", "timestamp"):
        raise _BadScalar(f"{value[:40]!r} is not a valid !!{kind}", f"remove the !!{kind} tag or fix the value")
    raise _TagRefused(tag)


class _TagRefused(_BadScalar):
    def __init__(self, tag: str):
        super().__init__(
            f"tag {_short_tag(tag)[:80]!r} is not allowed: tube files hold plain data, and noob never "
            "constructs tagged objects",
            "remove the tag (allowed: !!str, !!int, !!float, !!bool, !!null, !!binary, !!timestamp, !!map, !!seq)",
        )


def _position(stack: list[list[Any]]) -> str:
    """The YAML path of the value about to be read at the top of ``stack``."""
    if not stack:
        return ""
    frame = stack[-1]
    if type(frame[0]) is list:
        return _event_path(stack, len(frame[0]))
    key = frame[2]
    if key is _NO_KEY or key is _MERGE or key is _BAD_KEY:
        return _event_path(stack[:-1], frame[1]) if len(stack) > 1 else ""
    return _event_path(stack, key)


def _load_events(loader: Any) -> tuple[Any, list[Problem]]:
    """Build the document straight from parser events (YAML 1.2 scalars), collecting problems.

    One dict/list operation per event; plain scalars resolve through :func:`_resolve` (a
    first-character test, then at most three regular expressions). ``SafeLoader``'s
    compose-then-construct path is never used: it would cost ~10 s for a 100 000-node tube,
    read YAML 1.1 (``no`` as ``False``) and expand merge keys exponentially.

    Problems (the document is still built around them): duplicate keys (the last value
    kept), ``<<`` merge keys whose value is not a mapping or a list of mappings, keys that
    are collections (dropped), aliases without an anchor or pointing into their own
    anchor (``null``), scalars that do not fit their tag, and every tag other than YAML's
    plain data tags (the scalar is kept as a string; nothing is ever constructed or
    imported). Refused outright (``None`` and one problem): several documents, nesting past
    :data:`MAX_YAML_DEPTH`, aliases adding more than :data:`MAX_ALIAS_EXPANSION` values.
    """
    get_event = loader.get_event
    problems: list[Problem] = []
    anchors: dict[str, Any] = {}
    sizes: dict[str, int] = {}  # anchor -> values it holds, once its collection is closed
    total = 0  # values read so far, every alias counted as a copy of its anchor
    aliased = 0  # of which aliases added
    get_event()  # StreamStartEvent
    if isinstance(get_event(), _pyyaml.StreamEndEvent):
        return None, problems
    root: Any = None
    # one frame per open collection:
    # [container, path component, pending key, key line, anchor, total at start, merges]
    stack: list[list[Any]] = []
    while True:
        event = get_event()
        kind = type(event)
        tag = None
        if kind is _pyyaml.ScalarEvent:
            total += 1
            tag = event.tag
            if tag is None:
                value = _resolve(event.value) if event.implicit[0] else event.value
            elif tag == "!" or tag == _STR_TAG:
                value = event.value
            else:
                try:
                    value = _tagged(tag, event.value)
                except _BadScalar as exc:
                    problems.append(
                        Problem(_position(stack), f"line {event.start_mark.line + 1}: {exc.args[0]}", exc.args[1])
                    )
                    value = event.value
        elif kind is _pyyaml.MappingStartEvent or kind is _pyyaml.SequenceStartEvent:
            total += 1
            if event.tag not in (_MAP_TAGS if kind is _pyyaml.MappingStartEvent else _SEQ_TAGS):
                refused = _TagRefused(event.tag)
                problems.append(
                    Problem(_position(stack), f"line {event.start_mark.line + 1}: {refused.args[0]}", refused.args[1])
                )
            if len(stack) >= MAX_YAML_DEPTH:
                problems.append(
                    Problem(
                        _position(stack),
                        f"line {event.start_mark.line + 1}: collections nest deeper than {MAX_YAML_DEPTH} levels",
                        "flatten the structure",
                    )
                )
                return None, problems
            value = {} if kind is _pyyaml.MappingStartEvent else []
        elif kind is _pyyaml.MappingEndEvent or kind is _pyyaml.SequenceEndEvent:
            frame = stack.pop()
            if frame[4] is not None:
                sizes[frame[4]] = total - frame[5]
            if frame[6] is not None:
                _apply_merges(frame[0], frame[6], _event_path(stack, frame[1]) if stack else "", problems)
            continue
        elif kind is _pyyaml.AliasEvent:
            name = event.anchor
            size = sizes.get(name)
            if size is None:
                problems.append(
                    Problem(
                        _position(stack),
                        f"line {event.start_mark.line + 1}: alias *{name} "
                        + ("is used inside its own anchor" if name in anchors else "has no anchor before it"),
                        f"define '&{name}' on a complete value before using '*{name}'",
                    )
                )
                value = None
            else:
                value = anchors[name]
                total += size
                aliased += size
                if aliased > MAX_ALIAS_EXPANSION:
                    problems.append(
                        Problem(
                            _position(stack),
                            f"line {event.start_mark.line + 1}: aliases expand to more than "
                            f"{MAX_ALIAS_EXPANSION:,} values (an alias bomb?)",
                            "write the repeated parts out, or use fewer nested aliases",
                        )
                    )
                    return None, problems
        elif kind is _pyyaml.DocumentEndEvent:
            break
        else:  # pragma: no cover - libyaml emits nothing else inside a document
            raise AssertionError(f"unexpected YAML event {event!r}")
        anchor = event.anchor if kind is not _pyyaml.AliasEvent else None
        if anchor is not None:
            anchors[anchor] = value
            if kind is _pyyaml.ScalarEvent:
                sizes[anchor] = 1
            else:
                sizes.pop(anchor, None)  # re-anchored: open until it closes
        component: Any = "?"  # detached (a refused key): paths inside say '?'
        if stack:
            frame = stack[-1]
            container = frame[0]
            key = frame[2]
            if type(container) is list:
                component = len(container)
                container.append(value)
            elif key is _NO_KEY:  # this value is a key
                if kind is _pyyaml.ScalarEvent:
                    if value == "<<" and tag is None and event.implicit[0]:
                        frame[2] = _MERGE
                    else:
                        frame[2], frame[3] = value, event.start_mark.line + 1
                    continue
                if kind is _pyyaml.AliasEvent and type(value) is not dict and type(value) is not list:
                    frame[2], frame[3] = value, event.start_mark.line + 1
                    continue
                problems.append(
                    Problem(
                        _position(stack),
                        f"line {event.start_mark.line + 1}: a mapping key must be a plain value, "
                        f"found a {'mapping' if type(value) is dict else 'list'}",
                        "use a string key",
                    )
                )
                frame[2] = _BAD_KEY
            elif key is _MERGE:
                frame[2] = _NO_KEY
                component = "<<"
                if type(value) is dict or type(value) is list:
                    if frame[6] is None:
                        frame[6] = []
                    frame[6].append(value)
                else:
                    problems.append(
                        Problem(
                            _event_path(stack, "<<"),
                            f"line {event.start_mark.line + 1}: the merge key '<<' takes a mapping or a "
                            f"list of mappings, found {_found(value)}",
                            "merge an anchored mapping ('<<: *base'), or quote '<<' to use it as a key",
                        )
                    )
            elif key is _BAD_KEY:
                frame[2] = _NO_KEY
            else:
                component = key
                if key in container:
                    problems.append(_duplicate_problem(_event_path(stack, key), key, frame[3]))
                container[key] = value
                frame[2] = _NO_KEY
        else:
            root = value
        if kind is _pyyaml.MappingStartEvent or kind is _pyyaml.SequenceStartEvent:
            stack.append([value, component, _NO_KEY, 0, anchor, total - 1, None])
    if not isinstance(get_event(), _pyyaml.StreamEndEvent):
        problems.append(
            Problem("", "the file holds several YAML documents; a tube file holds one", "remove the '---' lines")
        )
        return None, problems
    return root, problems


def _apply_merges(mapping: dict, merges: list[Any], path: str, problems: list[Problem]) -> None:
    """Apply ``<<`` merge keys in place: explicit keys win, then earlier merged mappings."""
    merged: dict = {}
    for source in reversed(merges):
        items = source if type(source) is list else [source]
        for item in reversed(items):
            if type(item) is dict:
                merged.update(item)
            else:
                problems.append(
                    Problem(
                        f"{path}.<<" if path else "<<",
                        f"the merge key '<<' takes a mapping or a list of mappings, found an item {_found(item)}",
                        "list only anchored mappings, e.g. '<<: [*base, *extra]'",
                    )
                )
    if merged:
        explicit = dict(mapping)
        mapping.clear()
        mapping.update(merged)
        mapping.update(explicit)


def _event_path(stack: list[list[Any]], key: Any) -> str:
    """The YAML path of ``key`` in the innermost open mapping of ``stack``."""
    path = ""
    for component in [frame[1] for frame in stack[1:]] + [key]:
        if isinstance(component, int) and not isinstance(component, bool):
            path += f"[{component}]"
        else:
            path = f"{path}.{component}" if path else str(component)
    return path


def _duplicate_problem(path: str, key: Any, line: int) -> Problem:
    return Problem(
        path,
        f"duplicate key {_short(key)} at line {line}; YAML keeps only the last one",
        "remove or rename one of them",
    )


def _read_yaml(path: pathlib.Path) -> tuple[Any, list[Problem]]:
    """Parse a YAML file: ``(data, problems)``; data is ``None`` if it could not be parsed.

    See :func:`_load_events` for what is reported; syntax errors (and bytes that are not
    text) become a single problem naming the file, line and column (1-based).
    """
    loader = _Loader(path.read_bytes())
    try:
        return _load_events(loader)
    except _pyyaml.YAMLError as exc:
        return None, [_yaml_error_problem(path, exc)]
    finally:
        loader.dispose()


def _yaml_error_problem(path: pathlib.Path, exc: _pyyaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    what = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        what = f"{what} ({context})"
    return Problem(
        "",
        f"{where}: not valid YAML: {what}",
        "fix the YAML syntax at that line (indentation, quotes, ':' after keys)",
    )
