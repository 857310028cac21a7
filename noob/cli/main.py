"""``noob``'s argument parser and error handling: the ``noob`` console script's ``main``.

Owns: the subcommands' arguments (``argparse``), dispatching to ``noob.cli.<command>``
(imported only when that command runs), and the one place where exceptions become what the
user sees: one message on stderr and an exit code — 0 success, 1 error, 2 usage error,
130 interrupted (Ctrl-C). ``--debug`` shows the traceback instead.
Must not: import the library at module level (``noob --help`` stays quick) or print results.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from noob.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, CliError

__all__ = ["build_parser", "main"]

_TUBE_HELP = (
    "a tube file (.yaml/.yml) or a noob_id; a file's directory is put on sys.path so node modules "
    "next to it import"
)

_EPILOG = """\
exit codes: 0 success, 1 error (invalid tube, failing node, bad input), 2 usage error,
130 interrupted with Ctrl-C.

examples:
  noob run examples/sensor.yaml -n 5
  noob run tube.yaml -i threshold=0.5 --format jsonl > results.jsonl
  noob run examples/camera.yaml --view 8765 --view-signal camera.frame
  printf '{"x": 1}\\n{"x": 2}\\n' | noob run tube.yaml --format json
  noob validate tubes/*.yaml
  noob show examples/sensor.yaml -o sensor.html
  noob bench examples/sensor.yaml -n 1000
"""


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of epochs, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of epochs >= 0, got {value}")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("noob")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``noob`` parser with its four subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's default must not overwrite `noob --debug run ...`
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error instead of one message")

    parser = argparse.ArgumentParser(
        prog="noob",
        description="Run, check, draw and time noob tubes.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"noob {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    inputs = argparse.ArgumentParser(add_help=False)
    inputs.add_argument(
        "-i", "--input", action="append", metavar="KEY=VALUE", dest="inputs", default=[],
        help="an input of the tube (repeatable); VALUE is read as JSON, else as a Python literal, else "
        "kept as a string. Tube-scoped inputs go to the tube; process-scoped ones to every epoch",
    )
    execution = argparse.ArgumentParser(add_help=False)
    execution.add_argument("--core", choices=["compiled", "python"], default=None,
                           help="which core dispatches epochs (default: the active one, see noob._core)")
    execution.add_argument("--no-progress", dest="progress", action="store_false",
                           help="no progress bar (it is shown only when stderr is a terminal, -n is given and "
                           "tqdm is installed: pip install 'noob[cli]')")

    run = sub.add_parser(
        "run", parents=[common, inputs, execution], help="run a tube and print what it returns",
        description="Run a tube epoch by epoch and print each epoch's return value (epochs whose return "
        "node did not fire print nothing). If the tube declares process-scoped inputs and standard input "
        "is piped, each line of it is one epoch's inputs as a JSON object. Ctrl-C stops cleanly: nodes "
        "and assets are deinitialised and the number of epochs run is reported.",
    )
    run.add_argument("tube", metavar="TUBE", help=_TUBE_HELP)
    run.add_argument("-n", type=_count, default=None, metavar="N",
                     help="number of epochs (default: until the sources run out, or Ctrl-C)")
    run.add_argument("--runner", choices=["sync", "async", "ray"], default="sync",
                     help="which runner (default: sync; ray: a local Ray, needs noob[ray])")
    run.add_argument("--format", "-f", choices=["text", "json", "jsonl"], default="text",
                     help="text: one readable line per epoch; json: one JSON array at the end; "
                     "jsonl: one JSON value per line as epochs complete (default: text)")
    run.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    run.add_argument("--view", metavar="[HOST:]PORT", default=None,
                     help="serve a live view of the run in the browser at http://HOST:PORT/ (host default "
                     "127.0.0.1; PORT 0: any free port; needs noob[view]). When the run ends the page stays "
                     "up until its stop button or Ctrl-C")
    run.add_argument("--view-readonly", action="store_true", help="the live view cannot pause, stop or enable/disable nodes")
    run.add_argument("--view-signal", action="append", metavar="NODE.SIGNAL", default=[],
                     help="sample this signal in the live view from the start (repeatable)")
    run.add_argument("--view-linger", type=float, default=None, metavar="SECONDS",
                     help="after the run ends, keep the live view up at most this long (default: until stop or Ctrl-C)")
    run.set_defaults(module="run")

    validate = sub.add_parser(
        "validate", parents=[common, inputs], help="check tubes and report every problem",
        description="Load and check each tube: the file, the code it names, the graph. Every problem is "
        "printed as FILE: YAML-PATH: MESSAGE -- fix: FIX. Exits 1 if any tube has an error (usable as a "
        "pre-commit hook or CI step). Required tube inputs not given with -i are checked as if None.",
    )
    validate.add_argument("tubes", nargs="+", metavar="TUBE", help=_TUBE_HELP)
    validate.add_argument("--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)")
    validate.add_argument("--strict", action="store_true", help="treat warnings (e.g. RaceWarning) as errors")
    validate.set_defaults(module="validate")

    show = sub.add_parser(
        "show", parents=[common, inputs], help="draw a tube's graph (mermaid, dot, a self-contained HTML page, or png/svg/pdf via Graphviz)",
        description="Draw the tube's graph: nodes with their type, slots and signals, inputs, assets with "
        "their scope, and an asset's `depends` round trip as a back edge. html is one file with an inline "
        "SVG that opens offline in any browser.",
    )
    show.add_argument("tube", metavar="TUBE", help=_TUBE_HELP)
    show.add_argument("--format", "-f", choices=["mermaid", "dot", "html", "png", "svg", "pdf"], default=None,
                      help="default: from the -o suffix (.html, .dot/.gv, .mmd/.md, .png, .svg, .pdf), else mermaid; "
                      "png, svg and pdf are drawn by Graphviz's dot")
    show.add_argument("-o", "--output", metavar="FILE", default=None, help="write to FILE instead of stdout")
    show.set_defaults(module="show")

    bench = sub.add_parser(
        "bench", parents=[common, inputs, execution], help="time a tube: per-epoch median and p90, each node's share",
        description="Run a tube and report the time per epoch (median, p90, mean) and how it splits between "
        "the nodes and noob's own dispatch. Node times include a small timing wrapper around each call.",
    )
    bench.add_argument("tube", metavar="TUBE", help=_TUBE_HELP)
    bench.add_argument("-n", type=_count, default=1000, metavar="N",
                       help="number of timed epochs (default: 1000, fewer if the sources run out)")
    bench.add_argument("--warmup", type=_count, default=0, metavar="W", help="untimed epochs run first (default: 0)")
    bench.add_argument("--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)")
    bench.set_defaults(module="bench")
    return parser


def _describe(exc: BaseException) -> str:
    """One message for ``exc``: the noob error's own text, or ``Type: text``, plus its notes."""
    from noob.exceptions import NoobCoreError

    if isinstance(exc, KeyError) and isinstance(exc, NoobCoreError) and exc.args:
        text = str(exc.args[0])  # TubeNotFoundError: KeyError's str() would quote the message
    elif isinstance(exc, NoobCoreError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    notes = [n.removeprefix("[noob] ") for n in getattr(exc, "__notes__", None) or []]
    return "\n".join([text, *(f"  ({n})" for n in notes)])


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    print(f"noob: warning: {message}", file=sys.stderr)


def _import_from_cwd() -> None:
    """Put the current directory first on ``sys.path`` (where ``python -m`` puts it), once."""
    cwd = os.getcwd()
    if not any(os.path.abspath(entry or os.curdir) == cwd for entry in sys.path):
        sys.path.insert(0, cwd)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``noob`` command line with ``argv`` (default: ``sys.argv[1:]``); the exit code.

    From the command line (``argv`` not given), modules in the current directory import, as
    under ``python -m noob``: the ``noob`` console script would otherwise only see its own
    ``bin`` directory and installed packages.
    """
    if argv is None:
        _import_from_cwd()
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 itself on a usage error
    debug = getattr(args, "debug", False)
    if not debug:
        import warnings

        warnings.showwarning = _show_warning
    import importlib

    try:
        module = importlib.import_module(f"noob.cli.{args.module}")
        return int(module.command(args) or 0)
    except CliError as exc:
        if debug:
            traceback.print_exc()
        prog = f"noob {args.command}"
        print(f"{prog}: error: {exc}", file=sys.stderr)
        if exc.code == EXIT_USAGE:
            print(f"(see: {prog} --help)", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"noob {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (`noob run ... | head`): stop quietly
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 -- every error becomes one message
        if debug:
            traceback.print_exc()
            return EXIT_ERROR
        from noob.exceptions import NoobCoreError

        print(f"noob {args.command}: error: {_describe(exc)}", file=sys.stderr)
        if not isinstance(exc, NoobCoreError):  # user code failed: its traceback may help
            print("(run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
