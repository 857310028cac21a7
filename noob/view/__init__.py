"""A live view of a running tube in the browser: every node's rate, latency, state and data.

Owns: serving one page (static files in ``noob/view/static``, no network access, no build
step) and a JSON API from the process that runs the tube, fed by one observer attached
through the runner's observation hook (``noob.runner.observe``). Must not: change what a
runner does per epoch, or cost anything while no view is attached (nodes are then called
unwrapped). Needs the ``view`` extra: ``pip install "noob[view]"`` (starlette, uvicorn,
websockets); importing ``noob.view`` alone does not.

Start it
--------
From the command line: ``noob run TUBE --view 8765`` (or ``--view HOST:PORT``; ``--view 0``
picks a free port) prints the address. The host defaults to ``127.0.0.1``; another host must be
given explicitly and prints a warning (there is no authentication). ``--view-readonly`` turns
the controls off. ``--view-signal NODE.SIGNAL`` (repeatable) samples a signal from the start.
When the run ends (sources ran out, ``-n`` reached, a node raised) the page keeps showing the
final figures until you press *stop* or Ctrl-C (``--view-linger SECONDS`` bounds the wait).

From Python::

    import noob.view

    with noob.view.attached(runner, port=8765) as view:   # or: view = noob.view.serve(runner, port=8765)
        with runner:
            while view.between_epochs():       # applies enable/disable, waits while paused,
                runner.process()                # False once stop is pressed

With an ``AsyncRunner`` use ``while await view.between_epochs_async():``. A loop that does
not call ``between_epochs`` (``runner.run()``) still gets figures, values and pause (the
observer blocks after an epoch while paused); stop and enable / disable need the call.

The page
--------
The tube's graph (the ``noob show`` layout), each node coloured by state -- idle, running,
failed, disabled -- and labelled with its calls, rate (Hz), latency p50 / p99 (ms) and share;
epochs done, epochs per second, epochs in flight, exhausted sources; errors with node, epoch
and note; pause / resume / stop and a per-node enable / disable. Click a signal (a port on
the right of a node, or the list under the graph) to watch its latest value: numbers as a
scrolling line plot, 1-D arrays as a line, 2-D arrays (and ``H x W x 3|4`` colour frames) as a
downsampled image, anything else as a short ``repr``. The page updates 8 times a second over
a websocket (``/ws``): the server paces it, so a busy page cannot slow the run.

Bounded cost: each picked signal is sampled at most ``sample_hz`` (10) times a second -- the
runner's thread only keeps a reference to the value; arrays are downsampled when a page
asks (at most 512 points, images at most 256 pixels a side, read by striding: a 4K frame is
never copied whole), and each page gets at most ``max_bytes_per_s`` (2 MB) of values a
second. With the view attached, the observer costs about a microsecond per node call (see
``benchmarks/test_view.py``).

On ``RayRunner`` the nodes run in Ray actors: while the view is attached each actor records
its calls and a driver thread replays them to the view every ~0.15 s (figures trail by up to
~0.2 s); a picked signal's value is made small in the actor (``stats.shrink``: the same
striding, a copy of at most 512 points or 256 x 256 pixels) and crosses at most 10 times a
second. Detached, the actors call their nodes unwrapped.

``GET /api/status``
-------------------
JSON for scripts and monitoring (``?values=1`` adds ``values``)::

    tube        the tube's noob_id
    runner      the runner's class name; core: "compiled" or "python"
    state       running | pausing | paused | stopping | finished | failed | stopped | interrupted
    epochs      epochs ended since the view was attached (failed ones included)
    last_epoch  the number of the last epoch that ended (null before the first)
    rate_hz     epochs per second over the last second or so
    in_flight   epochs started but not ended (the hook's epoch_started / epoch_ended): > 1
                only with pipelined epochs (max_epochs_in_flight=k on AsyncRunner, RayRunner)
    exhausted_sources  ids of the sources that ran out since the view was attached
    uptime_s    seconds since the view was attached
    nodes       {node id: {
                  calls      calls that returned (a raise is not counted)
                  rate_hz    calls per second over the last second or so
                  p50_ms, p99_ms  latency percentiles over the last 512 calls (null before one)
                  share      fraction of wall-clock time spent in the node's calls over the
                             last second or so (a sync runner's shares add up to <= 1; the rest
                             is dispatch and the driver; overlapping async calls can exceed it)
                  state      idle | running | failed (raised, no success since) | disabled
                  last_error the node's last failure (as in errors) or null
                  signals    the node's signal names }}
    errors      the last 50 failures: {node, epoch, type, message, notes, time (Unix s)}
    controls    {paused, stopped, driven (a driver calls between_epochs), applied
                 (the last enable/disable commands and their error, if any)}
    picked      the sampled signals, as "node.signal"
    values      (with ?values=1) {"node.signal": {kind: number|line|image|text|none, t (s since
                 attach), ...}}: number: value, history [[t, value], ...]; line: y, n;
                 image: w, h, channels, data (base64 uint8, row-major), shape, dtype, lo, hi;
                 text: repr

``POST /api/control`` takes ``{"op": "pause" | "resume" | "stop" | "enable" | "disable" |
"pick" | "unpick", "node": ..., "signal": ...}`` and answers ``{"ok": true}`` or
``{"ok": false, "error": ...}`` (403 when read-only; picking is allowed there).
``GET /api/graph``: the drawing (SVG) and each node's signals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from noob.view.stats import Control, Stats, encode

if TYPE_CHECKING:
    from noob.view.server import View

__all__ = ["Control", "Stats", "View", "attached", "encode", "serve"]


def serve(runner: Any, port: int = 8765, host: str = "127.0.0.1", **options: Any) -> View:
    """Serve a live view of ``runner`` at ``http://host:port/`` from a background thread.

    Returns the started :class:`~noob.view.server.View` (``view.url``; ``view.close()`` to stop).
    Options: ``readonly``, ``hz``, ``sample_hz``, ``max_bytes_per_s``, ``max_side``, ``signals``.
    """
    from noob.view.server import View

    return View(runner, port=port, host=host, **options).start()


@contextmanager
def attached(runner: Any, port: int = 8765, host: str = "127.0.0.1", **options: Any) -> Iterator[View]:
    """``serve(runner, ...)`` for the duration of a ``with`` block; detached and stopped after."""
    view = serve(runner, port=port, host=host, **options)
    try:
        yield view
    finally:
        view.close()


def __getattr__(name: str) -> Any:
    if name == "View":
        from noob.view.server import View

        return View
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
