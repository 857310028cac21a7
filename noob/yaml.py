"""YAML helpers under the original's names: ``yaml``, ``YAMLMixin``, ``ConfigYAMLMixin``, ``yaml_peek``.

Owns: a small load/dump object (``yaml.load`` / ``yaml.dump``) built on the tube loader of
:mod:`noob.spec` (same parser, same clear errors), mixins that give a class ``from_yaml`` /
``to_yaml`` (and, for tube-like configs, ``from_id`` / ``from_any`` / ``config_sources``),
and ``yaml_peek``, a line scan that reads one key without parsing the file.
Must not: write a file unless asked (``to_yaml(path)`` / ``yaml.dump(data, path)``), or
rewrite a file while loading it (the original completed headers in place; we do not).
``noob.spec`` is imported on first use, as it builds its spec classes on these mixins.
"""

from __future__ import annotations

import io
import os
import pathlib
import re
from typing import IO, Any

import yaml as _pyyaml

__all__ = ["ConfigYAMLMixin", "YAMLMixin", "yaml", "yaml_peek"]

_Dumper = getattr(_pyyaml, "CSafeDumper", _pyyaml.SafeDumper)


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
    from noob.exceptions import SpecError
    from noob.spec import _read_yaml

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
    Quotes around the value and a trailing ``# comment`` are stripped. Raises ``KeyError``
    when the key is not found.
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
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if first:
                return value
            found.append(value)
    if not found:
        raise KeyError(f"key {key!r} not found in {os.fspath(path)}" + (" at the top level" if root else ""))
    return found
