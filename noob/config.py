"""Where tube files are found: config sources and lookup of a tube by its ``noob_id``.

Owns: the ordered list of directories searched for tube files (``config_sources``), the
extra sources added at runtime (``add_config_source``), the ones contributed by installed
packages through the ``noob.add_sources`` entry-point group, and ``path_from_id``, which
finds the file whose root-level ``noob_id:`` line names a tube.

Search order, highest priority first:

1. the directories in the ``NOOB_CONFIG_DIRS`` environment variable (a JSON list), or, when
   it is not set, the ``config_dirs`` setting (see below), or the user config directory (``user_config_dir()``, the same place as the
   original noob: ``platformdirs.user_data_dir("noob", "noob")/config``);
2. directories added with ``add_config_source(path)``, in the order they were added;
3. directories returned by ``noob.add_sources`` entry points.

Directories that do not exist are skipped.

Also owns ``Config`` / ``LogConfig`` and the module-level ``config`` settings object (the
original's names): ``config.logs.level`` sets the level of the ``noob`` logger. Settings are
read, as by the original, from ``NOOB_*`` environment variables (``NOOB_LOGS__LEVEL``), a
``.env`` file, ``noob_config.yaml`` and ``[tool.noob.config]`` in ``pyproject.toml`` of the
current directory (see :class:`Config`); a ``config_dirs`` setting replaces the user config
directory in the search order below NOOB_CONFIG_DIRS.

Must not: parse tube files (``path_from_id`` only scans lines), import ``noob.spec``,
``noob.tube``, ``noob.runner`` or ``noob._core``, or create or write any file or directory.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import platformdirs

from noob.exceptions import ConfigError, ConfigWarning, EntrypointImportWarning

__all__ = [
    "LOG_LEVELS",
    "Config",
    "LogConfig",
    "config",
    "ENTRYPOINT_GROUP",
    "ENV_CONFIG_DIRS",
    "ENV_PREFIX",
    "SETTINGS_FILES",
    "TubeFileNotFoundError",
    "TubeIdNotFoundError",
    "TubeNotFoundError",
    "add_config_source",
    "config_sources",
    "get_entrypoint_sources",
    "get_extra_sources",
    "load_settings",
    "path_from_id",
    "user_config_dir",
]

ENTRYPOINT_GROUP = "noob.add_sources"
"""Entry-point group whose members are zero-argument callables returning a list of paths."""

ENV_CONFIG_DIRS = "NOOB_CONFIG_DIRS"
"""Environment variable holding a JSON list of directories that replaces the user config dir."""

YAML_SUFFIXES = (".yaml", ".yml")

_extra_sources: list[Path] = []
"""Directories added with :func:`add_config_source`, in order."""

_entrypoint_sources: list[Path] | None = None
"""Cache of the entry-point sources; ``None`` until first loaded (set it back to reload)."""


class TubeNotFoundError(ConfigError, ValueError):
    """No tube file matches an id or path (base of the two cases below).

    A ``ValueError`` (what the original raised for an unsupported source). Attributes:
    ``source`` (the id or path asked for) and ``searched`` (the directories that were searched).
    """

    def __init__(self, message: str, source: str = "", searched: list[Path] | None = None):
        super().__init__(message)
        self.source = source
        self.searched = list(searched or ())

    def __str__(self) -> str:
        # KeyError would show repr(message); keep the message readable.
        return str(self.args[0]) if self.args else ""


class TubeIdNotFoundError(TubeNotFoundError, KeyError):
    """No tube file in the config sources has this ``noob_id``; also a ``KeyError``, as in the original."""


class TubeFileNotFoundError(TubeNotFoundError, FileNotFoundError):
    """A tube file path that does not exist: a ``FileNotFoundError`` and a ``ValueError``."""


def add_config_source(path: str | os.PathLike[str]) -> None:
    """Search ``path`` (a directory) for tube files, after the user/``NOOB_CONFIG_DIRS`` dirs."""
    _extra_sources.append(Path(path))


def get_extra_sources() -> list[Path]:
    """The directories added with :func:`add_config_source`, in order (a copy)."""
    return list(_extra_sources)


def get_entrypoint_sources() -> list[Path]:
    """The directories contributed by ``noob.add_sources`` entry points (cached).

    Each entry point must load a zero-argument callable returning a list of paths. One that
    fails to import or to run emits :class:`~noob.exceptions.EntrypointImportWarning` and is
    skipped. The result is cached in ``_entrypoint_sources``; set it to ``None`` to reload.
    """
    global _entrypoint_sources
    if _entrypoint_sources is None:
        sources: list[Path] = []
        for entry_point in entry_points(group=ENTRYPOINT_GROUP):
            try:
                sources.extend(Path(p) for p in entry_point.load()())
            except Exception as exc:  # noqa: BLE001 -- a broken plugin must not break noob
                warnings.warn(
                    EntrypointImportWarning(
                        f"skipping {ENTRYPOINT_GROUP} entry point {entry_point.name!r} "
                        f"({entry_point.value}): {type(exc).__name__}: {exc}"
                    ),
                    stacklevel=2,
                )
        _entrypoint_sources = sources
    return list(_entrypoint_sources)


def user_config_dir() -> Path:
    """The per-user tube directory (``user_data_dir("noob", "noob")/config``); never created here."""
    return Path(platformdirs.user_data_dir("noob", "noob")) / "config"


def _env_config_dirs() -> list[Path] | None:
    """The directories listed in ``NOOB_CONFIG_DIRS``, or ``None`` when it is unset or blank."""
    raw = os.environ.get(ENV_CONFIG_DIRS, "")
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{ENV_CONFIG_DIRS} must be a JSON list of directories, e.g. "
            f"'[\"/path/to/tubes\"]'; could not parse {raw!r}: {exc}"
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{ENV_CONFIG_DIRS} must be a JSON list of directory strings, e.g. "
            f"'[\"/path/to/tubes\"]'; found {type(value).__name__} {value!r}"
        )
    return [Path(v).expanduser() for v in value]


def config_sources() -> list[Path]:
    """Every existing directory searched for tube files, highest priority first.

    Raises :class:`~noob.exceptions.ConfigError` if ``NOOB_CONFIG_DIRS`` is not a JSON list.
    """
    primary = config.config_dirs  # NOOB_CONFIG_DIRS, else the `config_dirs` setting, else the user dir
    candidates = [*primary, *get_extra_sources(), *get_entrypoint_sources()]
    return [p for p in candidates if p.exists()]


def _peek_noob_id(path: Path) -> str | None:
    """The value of the root-level ``noob_id:`` line of a YAML file, quotes stripped, or ``None``.

    A line scan, not a parse: only unindented ``noob_id:`` lines count, a trailing
    `` # comment`` is dropped, and the scan stops at the first match.
    """
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("noob_id:"):
                    value = line[len("noob_id:") :].split(" #", 1)[0].strip()
                    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                        value = value[1:-1]
                    return value
    except OSError:
        return None
    return None


def _yaml_files(source: Path) -> list[Path]:
    """The ``.yaml``/``.yml`` files under ``source`` (or ``source`` itself), sorted."""
    if source.is_file():
        return [source] if source.suffix in YAML_SUFFIXES else []
    files = [p for suffix in YAML_SUFFIXES for p in source.rglob(f"*{suffix}")]
    return sorted(p for p in files if p.is_file())


def path_from_id(noob_id: str) -> Path:
    """The first tube file (in :func:`config_sources` order) whose ``noob_id`` is ``noob_id``.

    Raises :class:`TubeIdNotFoundError` (a ``KeyError``) naming the searched directories.
    """
    sources = config_sources()
    for source in sources:
        for path in _yaml_files(source):
            if _peek_noob_id(path) == noob_id:
                return path
    searched = ", ".join(str(s) for s in sources) or "no existing directories"
    raise TubeIdNotFoundError(
        f"no tube with noob_id {noob_id!r} found in the config sources ({searched}); "
        f"add the directory holding it with noob.config.add_config_source(path) or list it "
        f"in the {ENV_CONFIG_DIRS} environment variable (a JSON list)",
        source=noob_id,
        searched=sources,
    )


# ---------------------------------------------------------------------- settings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class LogConfig:
    """Logging settings, as the original's ``config.logs``.

    Setting ``level`` (``"DEBUG"``, ``"INFO"``, ``"WARNING"`` or ``"ERROR"``, any case) sets
    the level of the ``noob`` logger, so ``noob.logging.config.logs.level = "WARNING"``
    quiets noob. Until it is set, noob leaves logging to the application's configuration.
    The original's file-logging fields are kept as plain values; noob does not add handlers.
    """

    def __init__(self, level: str = "INFO", dir: Path | bool = False, file_n: int = 5,
                 file_size: int = 4 * 2**20, width: int | None = None):
        self._level = self._check(level)
        self.dir = dir
        self.file_n = file_n
        self.file_size = file_size
        self.width = width

    @staticmethod
    def _check(level: str) -> str:
        value = str(level).upper()
        if value not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return value

    @property
    def level(self) -> str:
        """The level of noob's loggers (see the class docstring)."""
        return self._level

    @level.setter
    def level(self, value: str) -> None:
        self._level = self._check(value)
        logging.getLogger("noob").setLevel(self._level)

    @property
    def level_file(self) -> str:
        return self._level

    @property
    def level_stdout(self) -> str:
        return self._level

    def __repr__(self) -> str:
        return f"LogConfig(level={self._level!r})"


SETTINGS_FILES = ("pyproject.toml", "noob_config.yaml", ".env")
"""Files in the current directory that settings are read from, lowest priority first
(``[tool.noob.config]`` of ``pyproject.toml``; ``noob_config.yaml``; ``NOOB_*`` lines of ``.env``)."""

ENV_PREFIX = "NOOB_"
"""Prefix of the environment variables (and ``.env`` lines) that set settings; ``__`` nests:
``NOOB_USER_DIR``, ``NOOB_LOGS__LEVEL``, ``NOOB_LOGS__FILE_N``."""

_PATHS = ("user_dir", "tmp_dir")
_LOG_INTS = ("file_n", "file_size", "width")


def _read_settings_file(path: Path, read: Any) -> dict[str, Any]:
    """``read(path)`` as a mapping; a file that cannot be read warns ``ConfigWarning`` and counts as empty."""
    if not path.is_file():
        return {}
    try:
        data = read(path)
    except Exception as exc:  # a broken settings file must not break `import noob`
        warnings.warn(ConfigWarning(f"{path}: settings not read ({type(exc).__name__}: {exc})"), stacklevel=4)
        return {}
    if not isinstance(data, dict):
        warnings.warn(ConfigWarning(f"{path}: settings must be a mapping, found {type(data).__name__}"), stacklevel=4)
        return {}
    return data


def _pyproject(path: Path) -> Any:
    import tomllib

    return tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("noob", {}).get("config", {})


def _yaml_file(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _dotenv(path: Path, encoding: str = "utf-8") -> dict[str, str]:
    """``KEY=value`` lines (``#`` comments, ``export`` and quotes allowed)."""
    out = {}
    for line in path.read_text(encoding=encoding).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """``NOOB_LOGS__LEVEL=debug`` -> ``{"logs": {"level": "debug"}}`` (keys case-insensitive)."""
    out: dict[str, Any] = {}
    for key, value in env.items():
        if not key.upper().startswith(ENV_PREFIX) or key.upper() == ENV_CONFIG_DIRS:
            continue  # NOOB_CONFIG_DIRS is read live by config_sources()
        *parents, leaf = key[len(ENV_PREFIX):].lower().split("__")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def load_settings(env_file: str | os.PathLike[str] | None = None, encoding: str = "utf-8",
                  cwd: Path | None = None) -> dict[str, Any]:
    """The settings found outside the code, merged, highest priority last read: ``pyproject.toml``
    (``[tool.noob.config]``), ``noob_config.yaml`` and ``.env`` (or ``env_file``) in ``cwd``
    (default: the current directory), then ``NOOB_*`` environment variables."""
    where = Path.cwd() if cwd is None else cwd
    merged = _read_settings_file(where / SETTINGS_FILES[0], _pyproject)
    merged = _merge(merged, _read_settings_file(where / SETTINGS_FILES[1], _yaml_file))
    dotenv = Path(env_file) if env_file is not None else where / SETTINGS_FILES[2]
    merged = _merge(merged, _from_env(_read_settings_file(dotenv, lambda p: _dotenv(p, encoding))))
    return _merge(merged, _from_env(os.environ))


class Config:
    """noob's settings, as the original's ``noob.config.Config``: ``logs`` and the directories.

    Each field comes from, highest priority first: the keyword given here; a ``NOOB_*``
    environment variable (``NOOB_USER_DIR``, ``NOOB_LOGS__LEVEL``: ``__`` nests); the ``.env``
    file of the current directory (or ``_env_file``); ``noob_config.yaml`` there; the
    ``[tool.noob.config]`` table of ``pyproject.toml`` there; the default. A settings file that
    cannot be read warns ``ConfigWarning`` and is skipped.

    ``config_dirs`` are the primary tube directories (``NOOB_CONFIG_DIRS``, else the setting,
    else the user config dir; see :func:`config_sources`); ``user_dir`` and ``tmp_dir`` default
    to the platformdirs locations the original used. Nothing is created on disk.
    """

    def __init__(self, logs: LogConfig | Mapping[str, Any] | None = None, *, user_dir: str | os.PathLike[str] | None = None,
                 tmp_dir: str | os.PathLike[str] | None = None, config_dirs: list[Any] | None = None,
                 _env_file: str | os.PathLike[str] | None = None, _env_file_encoding: str = "utf-8"):
        given: dict[str, Any] = {k: v for k, v in (("user_dir", user_dir), ("tmp_dir", tmp_dir),
                                                   ("config_dirs", config_dirs)) if v is not None}
        if isinstance(logs, Mapping):
            given["logs"] = dict(logs)
        settings = _merge(load_settings(_env_file, _env_file_encoding), given)
        self.explicit: dict[str, Any] = settings
        """Every setting given or found (nested dicts), for inspection."""
        self._user_dir = Path(settings["user_dir"]).expanduser() if "user_dir" in settings else None
        self._tmp_dir = Path(settings["tmp_dir"]).expanduser() if "tmp_dir" in settings else None
        self._config_dirs = _as_dirs(settings["config_dirs"]) if "config_dirs" in settings else None
        if isinstance(logs, LogConfig):
            self.logs = logs
        else:
            raw = dict(settings.get("logs") or {})
            for key in _LOG_INTS:
                if key in raw and raw[key] is not None and not isinstance(raw[key], int):
                    raw[key] = int(raw[key])
            if isinstance(raw.get("dir"), str):
                raw["dir"] = Path(raw["dir"]).expanduser()
            self.logs = LogConfig(**{k: v for k, v in raw.items() if k in ("level", "dir", *_LOG_INTS)})

    @property
    def user_dir(self) -> Path:
        return self._user_dir if self._user_dir is not None else Path(platformdirs.user_data_dir("noob", "noob"))

    @property
    def tmp_dir(self) -> Path:
        return self._tmp_dir if self._tmp_dir is not None else Path(platformdirs.user_runtime_dir("noob", "noob"))

    @property
    def config_dirs(self) -> list[Path]:
        env = _env_config_dirs()
        if env is not None:
            return env
        return list(self._config_dirs) if self._config_dirs is not None else [user_config_dir()]

    def __repr__(self) -> str:
        return f"Config(logs={self.logs!r}, config_dirs={self.config_dirs!r})"


def _as_dirs(value: Any) -> list[Path]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [value]
    return [Path(v).expanduser() for v in (value if isinstance(value, list) else [value])]


config = Config()
"""The settings object (``noob.config.config``, also ``noob.logging.config``)."""
if "level" in (config.explicit.get("logs") or {}):
    logging.getLogger("noob").setLevel(config.logs.level)  # NOOB_LOGS__LEVEL and friends take effect
