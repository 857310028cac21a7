"""``noob run --view``: starting the live view for the command line, and keeping it up after.

Owns: turning ``--view [HOST:]PORT``, ``--view-readonly``, ``--view-signal`` and
``--view-linger`` into a started :class:`~noob.view.server.View`, the message naming its
address, and what happens when the run is over (the page shows the final state until its
stop button, Ctrl-C or the linger time). Must not: drive the runner (``noob.cli.run`` does).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from noob.cli.common import EXIT_USAGE, CliError

__all__ = ["finish_view", "start_view"]


def start_view(args: argparse.Namespace, runner: Any) -> Any:
    """The started live view of ``runner`` as the ``--view*`` options ask."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CliError(f"--view needs the live view's web server ({exc.name} is not installed); "
                       "install it with: pip install \"noob[view]\"") from None
    from noob.view.server import View, parse_address

    try:
        host, port = parse_address(args.view)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    plan = runner.plan
    signals = []
    for name in args.view_signal:
        node, dot, signal = name.rpartition(".")
        if not dot or node not in plan.index:
            found = f"no node {node!r} (nodes: {', '.join(plan.node_ids)})" if dot else "no '.'"
            raise CliError(f"--view-signal {name!r}: expected NODE.SIGNAL (e.g. camera.frame), found {found}", EXIT_USAGE)
        known = list(plan.signals[plan.index[node]])
        if signal not in known:
            raise CliError(f"--view-signal {name!r}: node {node!r} has no signal {signal!r} "
                           f"(signals: {', '.join(known) or 'none'})", EXIT_USAGE)
        signals.append(name)
    view = View(runner, port=port, host=host, readonly=args.view_readonly, signals=signals)
    try:
        view.start()
    except OSError as exc:
        raise CliError(str(exc.strerror or exc)) from None
    print(f"noob run: live view of tube {runner.tube.tube_id!r} at {view.url}"
          f"{' (read-only)' if view.readonly else ''}", file=sys.stderr, flush=True)
    return view


def finish_view(view: Any, how: str, linger: float | None) -> None:
    """Mark the run ``how`` (finished, failed, stopped, interrupted), keep the page up unless
    it asked to stop or the run was interrupted, then close the view."""
    view.finish(how)
    try:
        if how != "interrupted" and not view.control.stopped and linger != 0:
            wait = "" if linger is None else f" (at most {linger:g} s)"
            until = "Ctrl-C" if view.readonly else "you press its close button or Ctrl-C"
            print(f"noob run: the run is over ({how}); the live view stays at {view.url} until {until}{wait}",
                  file=sys.stderr, flush=True)
            view.wait_closed(linger)
    except KeyboardInterrupt:
        pass
    finally:
        view.close()
