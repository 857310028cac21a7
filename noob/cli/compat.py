"""The original noob's click commands, for code written against them: ``noob.cli.run.run``.

Owns: the original's option names and defaults (``-n``, ``--runner``, ``-i KEY VALUE``,
``-if/--input-format json|jsonl``, ``-of/--output-format json|jsonl``, ``--progress``),
translated onto ``noob run`` (``noob.cli.run.command``), which does the work.
Must not: run epochs itself. Needs ``click`` (``pip install "noob[cli]"``); our own ``noob``
command does not.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

try:
    import click
except ImportError as exc:  # pragma: no cover - exercised only without the cli extra
    raise ImportError('noob.cli.run.run is a click command; install click with `pip install "noob[cli]"`') from exc

from noob.cli.common import CliError
from noob.cli.run import command as run_command

__all__ = ["run"]


def _stdin_as_lines(text: str, fmt: str) -> str:
    """Standard input in the original's ``--input-format`` as the JSON lines ``noob run`` reads."""
    if fmt == "jsonl" or not text.strip():
        return text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"standard input is not one JSON array or object: {exc}", param_hint="--input-format json")
    items = data if isinstance(data, list) else [data]
    return "".join(json.dumps(item) + "\n" for item in items)


@click.command("run")
@click.argument("tube")
@click.option("--runner", type=click.Choice(["sync", "async"]), default="sync", show_default=True, help="which runner")
@click.option("-n", "--n", "n", type=int, default=None, help="number of epochs (default: until the sources run out)")
@click.option("-if", "--input-format", "input_format", type=click.Choice(["json", "jsonl"]), default="json",
              show_default=True, help="process inputs on standard input: one JSON array (or object), or JSON lines")
@click.option("-i", "--input", "inputs", type=(str, str), multiple=True, metavar="KEY VALUE",
              help="a tube-scoped input; VALUE is read as a Python literal, else kept as a string")
@click.option("-of", "--output-format", "output_format", type=click.Choice(["json", "jsonl"]), default="json",
              show_default=True, help="one JSON array at the end, or one JSON line per result as it completes")
@click.option("--progress/--no-progress", default=False, help="a progress bar on stderr")
def run(tube: str, runner: str, n: int | None, input_format: str, inputs: tuple[tuple[str, str], ...],
        output_format: str, progress: bool) -> None:
    """Run TUBE (a noob_id or a path) and print what its return node gives."""
    args = argparse.Namespace(
        tube=tube, runner=runner, n=n, inputs=[f"{k}={v}" for k, v in inputs], format=output_format,
        progress=progress, core=None, quiet=True,
    )
    stdin = sys.stdin
    piped = stdin is not None and not _isatty(stdin)
    if piped:
        sys.stdin = io.StringIO(_stdin_as_lines(stdin.read(), input_format))
    try:
        code = run_command(args)
    except CliError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        sys.stdin = stdin
    if code:
        raise click.exceptions.Exit(code)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (ValueError, OSError):
        return False
