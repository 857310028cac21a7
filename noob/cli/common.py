"""What the subcommands share: loading a tube, ``-i`` values, inputs from standard input,
JSON output and the optional progress bar.

Owns: :class:`CliError` (a message for the user and an exit code), finding a tube by path or
``noob_id`` and putting its directory on ``sys.path`` (so a tube next to its node module
runs without installing anything), parsing ``-i key=value``, the per-epoch input feed.
Must not: print results (each subcommand decides its own output) or catch user errors
(``noob.cli.main`` turns every exception into one message).
"""

from __future__ import annotations

import ast
import enum
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "CliError",
    "Progress",
    "build_tube",
    "input_feed",
    "load_spec",
    "parse_assignment",
    "parse_value",
    "to_json",
]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class CliError(Exception):
    """A problem to report as one message on stderr; ``code`` is the exit code (2: usage)."""

    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- -i key=value


def parse_value(raw: str) -> Any:
    """``raw`` as JSON, else as a Python literal, else the string itself.

    ``7`` → 7, ``[1, 2]`` → [1, 2], ``true`` / ``True`` → True, ``null`` / ``None`` → None,
    ``'a b'`` → 'a b', ``cam0`` → 'cam0'.
    """
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return raw


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"key=value"`` → ``("key", parse_value("value"))``; a usage error if it has no key."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliError(f"-i {text!r}: expected KEY=VALUE, e.g. -i start=7 or -i name=cam0", EXIT_USAGE)
    if not key.isidentifier():
        raise CliError(f"-i {text!r}: {key!r} is not an input id (ids are Python identifiers)", EXIT_USAGE)
    return key, parse_value(raw)


def parse_assignments(items: list[str] | None) -> dict[str, Any]:
    """Every ``-i`` option as a dict (a later key wins)."""
    return dict(parse_assignment(item) for item in items or [])


# --------------------------------------------------------------------------- loading


def add_to_path(directory: Path) -> None:
    """Put ``directory`` first on ``sys.path`` (once) so modules next to a tube file import."""
    entry = os.fspath(directory)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def load_spec(source: str) -> Any:
    """The specification of the tube at path ``source`` (or with that ``noob_id``), not yet
    checked against code; its file's directory is put on ``sys.path``.

    Structural problems stay on ``spec.problems``; a missing file raises ``CliError``.
    """
    from noob.config import TubeNotFoundError
    from noob.spec import TubeSpecification

    path = Path(source).expanduser()
    if path.suffix in (".yaml", ".yml") and not path.is_file() and (path.is_absolute() or os.sep in source):
        raise CliError(f"no tube file {source!r}: {'not a file' if path.exists() else 'no such file'}")
    try:
        spec = TubeSpecification.from_any(os.fspath(path) if path.is_file() else source, strict=False)
    except TubeNotFoundError as exc:
        raise CliError(str(exc.args[0]) if exc.args else f"tube {source!r} not found") from None
    if spec.source is not None:
        add_to_path(Path(spec.source).resolve().parent)
    return spec


def build_tube(spec: Any, inputs: dict[str, Any], placeholders: bool = False) -> tuple[Any, dict[str, Any]]:
    """Build the ``Tube`` of ``spec`` with the tube-scoped ``inputs``.

    Returns ``(tube, process_inputs)``: ``-i`` values for process-scoped inputs are not
    given to the tube but passed to every epoch. An ``-i`` key the tube does not declare is
    an error. With ``placeholders`` (validate, show), required tube inputs that were not
    given are filled with ``None`` so the rest of the tube can still be checked and drawn.
    """
    from noob.spec import InputScope
    from noob.tube import Tube

    declared = spec.input
    unknown = [k for k in inputs if k not in declared]
    if unknown:
        names = ", ".join(f"{k} ({declared[k].scope} scope)" for k in declared) or "none"
        raise CliError(f"-i {unknown[0]}=...: tube {_name(spec)!r} has no input {unknown[0]!r} (inputs: {names})")
    tube_inputs = {k: v for k, v in inputs.items() if InputScope(declared[k].scope) == InputScope.tube}
    process_inputs = {k: v for k, v in inputs.items() if k not in tube_inputs}
    missing = [
        k for k, ispec in declared.items()
        if InputScope(ispec.scope) == InputScope.tube and ispec.required and not ispec.has_default and k not in tube_inputs
    ]
    if placeholders:
        tube_inputs.update(dict.fromkeys(missing))
    elif missing:
        needed = " ".join(f"-i {k}=VALUE" for k in missing)
        raise CliError(
            f"tube {_name(spec)!r} needs the tube-scoped input{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'{k!r} ({declared[k].type})' for k in missing)}; give {'them' if len(missing) > 1 else 'it'} "
            f"with {needed}"
        )
    return Tube.from_specification(spec, input=tube_inputs), process_inputs


def _name(spec: Any) -> str:
    return spec.noob_id or (Path(spec.source).name if spec.source is not None else "<tube>")


# --------------------------------------------------------------------------- inputs per epoch


def process_specs(tube: Any) -> dict[str, Any]:
    """The tube's process-scoped input specifications, by id."""
    from noob.spec import InputScope

    return {k: s for k, s in tube.input_collection.specs.items() if InputScope(s.scope) == InputScope.process}


def stdin_is_piped(stdin: TextIO | None) -> bool:
    """True if standard input exists and is not a terminal."""
    if stdin is None:
        return False
    try:
        return not stdin.isatty()
    except (ValueError, OSError):  # closed
        return False


def input_feed(tube: Any, constants: dict[str, Any], stdin: TextIO | None, command: str) -> Iterator[dict[str, Any]]:
    """The keyword arguments of each epoch's ``process()`` call.

    If the tube declares process-scoped inputs and standard input is piped, one epoch per
    JSON object read from it (one object per line; a line holding a JSON array gives one
    epoch per element), merged over the ``-i`` ``constants``. Otherwise — or if standard
    input is empty — ``constants`` for ever (the caller stops after ``-n`` epochs or when
    the sources run out), which needs every required process input to be among them.
    """
    specs = process_specs(tube)
    if specs and stdin is not None and stdin_is_piped(stdin):
        read = False
        for item in _read_json_lines(stdin, constants, specs):
            read = True
            yield item
        if read:
            return
        # an empty standard input (`< /dev/null`, a cron job) counts as none given
    missing = [k for k, s in specs.items() if s.required and not s.has_default and k not in constants]
    if missing:
        example = json.dumps({k: 1 for k in missing})
        raise CliError(
            f"tube {tube.tube_id!r} needs the process input{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} in every epoch; pipe one JSON object per epoch on standard input "
            f"(echo '{example}' | noob {command} ...), or give a value for every epoch with -i {missing[0]}=..."
        )
    while True:
        yield dict(constants)


def _read_json_lines(stdin: TextIO, constants: dict[str, Any], specs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    example = json.dumps({k: 1 for k in specs})
    for lineno, line in enumerate(stdin, 1):
        text = line.strip()
        if not text:
            continue
        try:
            item = json.loads(text)
        except ValueError as exc:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise CliError(
                f"standard input, line {lineno}: not valid JSON ({getattr(exc, 'msg', exc)}, column "
                f"{getattr(exc, 'colno', '?')}): {shown!r}; expected one JSON object of process inputs per line, "
                f"e.g. {example}"
            ) from None
        for element in item if isinstance(item, list) else [item]:
            if not isinstance(element, dict):
                raise CliError(
                    f"standard input, line {lineno}: expected a JSON object of process inputs like {example}, "
                    f"got {type(element).__name__} {json.dumps(element)}"
                )
            yield {**constants, **element}


# --------------------------------------------------------------------------- output


def _plain(obj: Any) -> Any:
    """``json.dumps``'s ``default``: numpy values, sets, paths, enums, dataclasses, attrs classes."""
    if hasattr(obj, "tolist") and type(obj).__module__.split(".")[0] == "numpy":
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if hasattr(obj, "__attrs_attrs__"):
        import attrs

        return attrs.asdict(obj, recurse=False)
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    raise TypeError(f"a {type(obj).__module__}.{type(obj).__qualname__} object is not JSON-serialisable")


def to_json(value: Any, what: str) -> str:
    """``value`` as one line of JSON; ``CliError`` naming ``what`` if it cannot be encoded."""
    try:
        return json.dumps(value, default=_plain)
    except (TypeError, ValueError) as exc:
        raise CliError(
            f"{what} is not JSON-serialisable: {exc}; return plain values (numbers, strings, lists, dicts) "
            "from the tube's return node, or use --format text"
        ) from None


class Progress:
    """A progress bar on stderr (``tqdm``), only when ``total`` is known, stderr is a terminal
    and ``tqdm`` is installed (``pip install 'noob[cli]'``); otherwise it does nothing."""

    def __init__(self, total: int | None, enabled: bool, desc: str):
        self.bar: Any = None
        if not enabled or not total or not sys.stderr.isatty():
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, file=sys.stderr, leave=False, unit="epoch", desc=desc, dynamic_ncols=True)

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update()

    def print(self, line: str, file: TextIO) -> None:
        """Print ``line`` to ``file`` without tearing the bar (when both share the terminal)."""
        if self.bar is not None and file.isatty():
            self.bar.write(line, file=file)
        else:
            print(line, file=file)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
