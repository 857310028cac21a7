"""Tests for noob.config: config sources, entry points and finding tubes by noob_id."""

from __future__ import annotations

import json
from pathlib import Path

import platformdirs
import pytest

from noob import config
from noob.exceptions import ConfigError, EntrypointImportWarning


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No NOOB_CONFIG_DIRS, extra sources or entry points; the user dir points into tmp_path."""
    monkeypatch.delenv(config.ENV_CONFIG_DIRS, raising=False)
    monkeypatch.setattr(config, "_extra_sources", [])
    monkeypatch.setattr(config, "_entrypoint_sources", [])
    monkeypatch.setattr(config, "user_config_dir", lambda: tmp_path / "user")


def write_tube(directory: Path, name: str, noob_id_line: str) -> Path:
    """Write a small tube file whose root-level id line is ``noob_id_line``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"# a tube\n{noob_id_line}\nnodes:\n  a:\n    type: sum\n")
    return path


class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint."""

    def __init__(self, name: str, load):
        self.name = name
        self.value = f"fake:{name}"
        self.load = load


def test_user_config_dir_matches_original(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user config dir is platformdirs' user_data_dir('noob', 'noob')/config and is not created."""
    monkeypatch.undo()
    expected = Path(platformdirs.user_data_dir("noob", "noob")) / "config"
    assert expected == config.user_config_dir()


def test_config_sources_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sources are user dir, extra sources, entry points, in that order; missing dirs skipped."""
    user, extra, plugin = tmp_path / "user", tmp_path / "extra", tmp_path / "plugin"
    for d in (user, extra, plugin):
        d.mkdir()
    config.add_config_source(extra)
    config.add_config_source(tmp_path / "missing")
    monkeypatch.setattr(config, "_entrypoint_sources", [plugin])
    assert [user, extra, plugin] == config.config_sources()
    assert [extra, tmp_path / "missing"] == config.get_extra_sources()


def test_env_config_dirs_replace_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NOOB_CONFIG_DIRS (a JSON list) replaces the user config dir."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (tmp_path / "user").mkdir()
    monkeypatch.setenv(config.ENV_CONFIG_DIRS, json.dumps([str(a), str(b)]))
    assert [a, b] == config.config_sources()


@pytest.mark.parametrize("value", ["not json", '{"a": 1}', "[1, 2]"])
def test_env_config_dirs_invalid(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NOOB_CONFIG_DIRS that is not a JSON list of strings is a ConfigError naming the variable."""
    monkeypatch.setenv(config.ENV_CONFIG_DIRS, value)
    with pytest.raises(ConfigError, match=config.ENV_CONFIG_DIRS):
        config.config_sources()


def test_entrypoint_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entry points contribute paths; a failing one warns and is skipped; results are cached."""
    calls = []

    def good():
        calls.append("good")
        return [str(tmp_path)]

    def bad_import():
        raise ImportError("no such module")

    def bad_call():
        return lambda: 1 / 0

    points = [
        FakeEntryPoint("good", lambda: good),
        FakeEntryPoint("bad_import", bad_import),
        FakeEntryPoint("bad_call", bad_call),
    ]
    monkeypatch.setattr(config, "entry_points", lambda group: points if group == "noob.add_sources" else [])
    monkeypatch.setattr(config, "_entrypoint_sources", None)
    with pytest.warns(EntrypointImportWarning) as record:
        assert [tmp_path] == config.get_entrypoint_sources()
    assert 2 == len(record)
    assert [tmp_path] == config.get_entrypoint_sources()
    assert ["good"] == calls
    config._entrypoint_sources = None
    with pytest.warns(EntrypointImportWarning):
        config.get_entrypoint_sources()
    assert ["good", "good"] == calls


def test_path_from_id(tmp_path: Path) -> None:
    """path_from_id finds a tube by its root-level noob_id line, with quotes and comments stripped."""
    src = tmp_path / "src"
    plain = write_tube(src / "deep" / "er", "plain.yaml", "noob_id: plain-id")
    quoted = write_tube(src, "quoted.yml", "noob_id: 'quoted/id'  # a comment")
    write_tube(src, "nested.yaml", "  noob_id: nested-id")
    write_tube(src, "other.txt", "noob_id: txt-id")
    config.add_config_source(src)
    assert (plain, quoted) == (config.path_from_id("plain-id"), config.path_from_id("quoted/id"))
    for missing in ("nested-id", "txt-id"):
        with pytest.raises(config.TubeNotFoundError):
            config.path_from_id(missing)


def test_path_from_id_priority(tmp_path: Path) -> None:
    """The first source in config_sources order wins when two files share an id."""
    user = write_tube(tmp_path / "user", "dup.yaml", "noob_id: dup")
    write_tube(tmp_path / "extra", "dup.yaml", "noob_id: dup")
    config.add_config_source(tmp_path / "extra")
    assert user == config.path_from_id("dup")


def test_path_from_id_not_found_message(tmp_path: Path) -> None:
    """An unknown id raises a KeyError subclass naming the searched dirs and how to add one."""
    (tmp_path / "user").mkdir()
    with pytest.raises(KeyError) as info:
        config.path_from_id("nope")
    error = info.value
    assert isinstance(error, config.TubeNotFoundError) and isinstance(error, ConfigError)
    assert ([tmp_path / "user"], "nope") == (error.searched, error.source)
    assert str(tmp_path / "user") in str(error)
    assert "noob.config.add_config_source(path)" in str(error)
    assert "NOOB_CONFIG_DIRS" in str(error)


# --------------------------------------------------------------------------- settings


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean current directory and no NOOB_* settings in the environment."""
    import os

    for key in list(os.environ):
        if key.upper().startswith("NOOB_"):
            monkeypatch.delenv(key)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_settings_sources_override_in_order(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject < noob_config.yaml < .env < environment < keyword, as in the original."""
    (cwd / "pyproject.toml").write_text("[tool.noob.config.logs]\nfile_n = 2\n")
    assert 2 == config.Config().logs.file_n
    (cwd / "noob_config.yaml").write_text("logs:\n  file_n: 3\n")
    assert 3 == config.Config().logs.file_n
    (cwd / ".env").write_text("# comment\nNOOB_LOGS__FILE_N=4\n")
    assert 4 == config.Config().logs.file_n
    monkeypatch.setenv("NOOB_LOGS__FILE_N", "5")
    assert 5 == config.Config().logs.file_n
    assert 6 == config.Config(logs={"file_n": 6}).logs.file_n


def test_settings_user_dir_and_log_level_from_env(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NOOB_USER_DIR and NOOB_LOGS__LEVEL / NOOB_LOGS__DIR set the fields (levels in any case)."""
    monkeypatch.setenv("NOOB_USER_DIR", str(cwd / "u"))
    monkeypatch.setenv("NOOB_LOGS__LEVEL", "error")
    monkeypatch.setenv("NOOB_LOGS__DIR", str(cwd / "logs"))
    monkeypatch.setenv("NOOB_PUREPYTHON", "0")  # other NOOB_ switches are not settings: ignored
    made = config.Config()
    assert (cwd / "u", "ERROR", cwd / "logs") == (made.user_dir, made.logs.level, made.logs.dir)
    assert not (cwd / "u").exists()  # nothing is created


def test_settings_env_file_argument(cwd: Path, tmp_path: Path) -> None:
    """``Config(_env_file=path)`` reads that file instead of ``./.env``."""
    other = tmp_path / "other.env"
    other.write_text("NOOB_USER_DIR='/somewhere/else'\n")
    assert Path("/somewhere/else") == config.Config(_env_file=other).user_dir


def test_settings_config_dirs_join_the_search(cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``config_dirs`` setting replaces the user config dir in config_sources (NOOB_CONFIG_DIRS still wins)."""
    tubes = tmp_path / "tubes"
    tubes.mkdir()
    (cwd / "noob_config.yaml").write_text(f"config_dirs: ['{tubes}']\n")
    monkeypatch.setattr(config, "config", config.Config())
    assert [tubes] == config.config_sources()
    monkeypatch.setenv(config.ENV_CONFIG_DIRS, json.dumps([str(cwd)]))
    assert [cwd] == config.config_sources()


def test_broken_settings_file_warns_and_is_skipped(cwd: Path) -> None:
    """A pyproject.toml that does not parse warns ConfigWarning; the defaults stay."""
    from noob.exceptions import ConfigWarning

    (cwd / "pyproject.toml").write_text("[tool.noob.config\n")
    with pytest.warns(ConfigWarning, match="pyproject.toml: settings not read"):
        made = config.Config()
    assert 5 == made.logs.file_n
