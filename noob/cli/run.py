"""``noob run TUBE``: run a tube epoch by epoch and print what it returns.

Owns: the epoch loop of the command line (``-n`` epochs, inputs from ``-i`` and standard
input, the sync or async runner), writing results as text, JSON or JSON lines, the summary
line on stderr, and a clean stop on Ctrl-C (the runner is always deinitialised; exit 130);
with ``--view``, asking the live view (``noob.view``) between epochs whether to go on.
Must not: change what a runner does per epoch.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from noob.cli.common import (
    EXIT_INTERRUPTED,
    CliError,
    Progress,
    build_tube,
    input_feed,
    load_spec,
    parse_assignments,
    to_json,
)

__all__ = ["command"]  # and `run`, the original's click command, loaded on first use


def __getattr__(name: str) -> Any:
    # `run` is the original's click command (noob.cli.compat); loaded on first use so that
    # `noob run` itself never needs click
    if name == "run":
        from noob.cli.compat import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _State:
    """What the loop has done so far (read after an interruption)."""

    def __init__(self) -> None:
        self.epochs = 0
        self.results = 0
        self.exhausted = False
        self.stopped = False  # the live view's stop button


class _Sink:
    """Writes each epoch's result to ``out`` in one format; ``close()`` ends the document."""

    def __init__(self, fmt: str, out: TextIO, progress: Progress):
        self.fmt = fmt
        self.out = out
        self.progress = progress
        self.collected: list[str] = []

    def emit(self, epoch: int, value: Any) -> None:
        if value is None:
            return
        if self.fmt == "json":
            self.collected.append(to_json(value, f"the result of epoch {epoch}"))
        elif self.fmt == "jsonl":
            self.progress.print(to_json(value, f"the result of epoch {epoch}"), self.out)
            self.out.flush()  # a pipe reader sees each epoch as it completes
        else:
            self.progress.print(f"{epoch:>4}  {_text(value)}", self.out)

    def close(self) -> None:
        if self.fmt == "json":
            print("[" + ", ".join(self.collected) + "]", file=self.out)
        self.out.flush()


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "  ".join(f"{k}={v!r}" for k, v in value.items())
    if isinstance(value, str):
        return value
    return repr(value)


def _sync_loop(runner: Any, feed: Iterator[dict], emit: Callable[[int, Any], None], state: _State, view: Any = None) -> None:
    from noob.exceptions import SchedulerExhaustedError

    runner.init()
    try:
        for inputs in feed:
            if view is not None and not view.between_epochs():
                state.stopped = True
                return
            try:
                out = runner.process(**inputs)
            except SchedulerExhaustedError:
                state.exhausted = True
                return
            state.epochs += 1
            emit(state.epochs - 1, out)
    finally:
        runner.deinit()


async def _async_loop(runner: Any, feed: Iterator[dict], emit: Callable[[int, Any], None], state: _State,
                      view: Any = None) -> None:
    from noob.exceptions import SchedulerExhaustedError

    async with runner:
        for inputs in feed:
            if view is not None and not await view.between_epochs_async():
                state.stopped = True
                return
            try:
                out = await runner.process(**inputs)
            except SchedulerExhaustedError:
                state.exhausted = True
                return
            state.epochs += 1
            emit(state.epochs - 1, out)


def make_runner(kind: str, tube: Any, core: str | None) -> Any:
    """A runner of ``kind`` (``sync``/``async``/``ray``) for ``tube``; async and ray are imported lazily."""
    if kind == "async":
        try:
            from noob.runner.asyncio import AsyncRunner
        except ImportError as exc:
            raise CliError(f"--runner async is not available in this installation of noob ({exc}); use --runner sync") from None
        return AsyncRunner(tube, core=core)
    if kind == "ray":
        try:
            from noob.runner import get_runner

            return get_runner("ray")(tube, core=core)
        except ImportError as exc:
            raise CliError(f"--runner ray needs Ray ({exc}); install it with: pip install \"noob[ray]\"") from None
    from noob.runner import SynchronousRunner

    return SynchronousRunner(tube, core=core)


def command(args: argparse.Namespace) -> int:
    spec = load_spec(args.tube)
    tube, constants = build_tube(spec, parse_assignments(args.inputs))
    runner = make_runner(args.runner, tube, args.core)
    feed: Iterator[dict] = input_feed(tube, constants, sys.stdin, "run")
    if args.n is not None:
        feed = itertools.islice(feed, args.n)
    progress = Progress(args.n, args.progress, tube.tube_id)
    sink = _Sink(args.format, sys.stdout, progress)
    state = _State()

    def emit(epoch: int, value: Any) -> None:
        progress.update()
        sink.emit(epoch, value)
        if value is not None:
            state.results += 1

    view = None
    if getattr(args, "view", None) is not None:  # noob.view: a live view of the run in the browser
        from noob.view.cli import start_view

        view = start_view(args, runner)
    interrupted = False
    failure: BaseException | None = None
    start = time.perf_counter()
    try:
        if args.runner == "async":
            asyncio.run(_async_loop(runner, feed, emit, state, view))
        else:
            _sync_loop(runner, feed, emit, state, view)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException as exc:
        if view is None:
            raise
        failure = exc  # raised again once the live view has shown it
    finally:
        progress.close()
    elapsed = time.perf_counter() - start
    sink.close()
    if (interrupted or not args.quiet) and failure is None:
        print(_summary(tube, state, elapsed, interrupted), file=sys.stderr)
    if view is not None:
        from noob.view.cli import finish_view

        how = "interrupted" if interrupted else "failed" if failure else "stopped" if state.stopped else "finished"
        finish_view(view, how, args.view_linger)
    if failure is not None:
        raise failure
    return EXIT_INTERRUPTED if interrupted else 0


def _summary(tube: Any, state: _State, elapsed: float, interrupted: bool) -> str:
    epochs = f"{state.epochs} epoch{'s' if state.epochs != 1 else ''}"
    results = f", {state.results} result{'s' if state.results != 1 else ''}" if tube.has_return else " (no return node)"
    text = f"noob run: {epochs}{results} of tube {tube.tube_id!r} in {elapsed:.3g} s"
    if interrupted:
        return f"noob run: interrupted after {epochs}{results}; nodes and assets were deinitialised"
    if state.exhausted:
        text += "; the sources ran out"
    if state.stopped:
        text += "; stopped from the live view"
    return text
