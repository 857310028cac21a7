"""What the live view knows about a running tube: per-node figures, picked values, controls.

Owns: :class:`Stats`, the observer (``noob.runner.observe.Observer``) that counts calls,
keeps a ring of recent latencies, samples the values of picked signals (rate-limited), records
failures, epochs started and ended (in flight: their difference) and sources that ran out;
:meth:`Stats.status`, the JSON-ready document ``GET /api/status`` serves (fields in
``noob.view``'s docstring); :func:`encode`, which turns one sampled value into something
small for a browser (numbers, a downsampled line, a downsampled image, a short ``repr``), and
:func:`shrink` / :func:`shrink_result`, the same downsampling done where a value is made
when that is another process (a Ray actor: ``Stats.remote_values`` hands them to the
runner); :class:`Control`, the pause / resume / stop / enable / disable requests the page
makes, applied by the thread that drives the runner (:meth:`Control.between_epochs`).
Must not: import a web framework (``noob.view.server`` does), call into the runner from a
thread other than the one driving it, or copy or encode a value in the runner's thread
(a sample keeps a reference; encoding happens when a status is asked for; only in a Ray
actor, where the value cannot stay, is it shrunk at once, at most every
``noob.runner.observe.SAMPLE_PERIOD_NS``).

Costs in the runner's thread, per node call (``node_started`` + ``node_finished``): four list
stores and one ``next()`` on the node's ``itertools.count`` (atomic under the GIL, so ``calls``
is exact even when one node runs in two threads at once; ``status`` reads it back); ``busy`` time is a plain ``+=`` and may lose
an update in that rare case (it only feeds the ``share`` figure). Everything else -- rates,
percentiles, encoding -- is computed by :meth:`status`, at most every ``min_interval`` seconds
however many clients ask.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import itertools
import math
import numbers
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from noob.runner.observe import UNSENT, Observer

__all__ = ["Control", "Shrunk", "Stats", "encode", "shrink", "shrink_result"]

#: latencies kept per node for p50 / p99 (a power of two: the ring index is ``calls & MASK``)
RING = 512
_MASK = RING - 1
_NEVER = 1 << 62  # a node without picked signals is never due for a sample


# --------------------------------------------------------------------------- encoding


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_repr(value: Any, limit: int = 160) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 -- a broken __repr__ must not break the view
        text = f"<unrepresentable {type(value).__name__}: {exc!r}>"
    return _clip(text, limit)


def encode(value: Any, max_points: int = 512, max_side: int = 256) -> dict[str, Any]:
    """``value`` as a small JSON-ready dict for the page, by kind.

    - a real number (``bool``, ``int``, ``float``, NumPy scalars): ``{"kind": "number", "value"}``
    - a 1-D numeric array: ``{"kind": "line", "y": [...], "n": len}``, strided to at most
      ``max_points`` points
    - a 2-D numeric array (a frame), or ``H x W x 3|4`` (colour): ``{"kind": "image", "w", "h",
      "channels", "data", "shape", "dtype", "lo", "hi"}``: strided so neither side exceeds
      ``max_side``, scaled to 0..255 (``uint8`` as is; otherwise from ``lo``..``hi``, the
      downsampled frame's range), ``data`` the base64 of the row-major ``uint8`` pixels
    - anything else: ``{"kind": "text", "repr": ...}`` (at most 160 characters)

    The cost is bounded by ``max_points`` / ``max_side``, not by the value's size: a 4K frame
    is read at every ``ceil(side / max_side)``-th pixel, never copied whole.
    """
    shape = None
    if type(value) is Shrunk:  # made small where it was produced (a Ray actor): as the original
        if value.array is None:
            return {"kind": "text", "repr": value.text}
        value, shape = value.array, value.shape
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "number", "value": float(value)}
    if isinstance(value, numbers.Real) and not isinstance(value, np.ndarray):
        f = float(value)
        return {"kind": "number", "value": f if math.isfinite(f) else None}
    small = _strided(value, max_points, max_side)
    if small is not None:
        shape = shape or value.shape
        if small.ndim == 1:
            y = small.astype(np.float64)
            return {"kind": "line", "y": [v if math.isfinite(v) else None for v in y.tolist()], "n": int(shape[0])}
        channels = 1 if small.ndim == 2 else small.shape[2]
        if small.dtype == np.uint8 or small.dtype == np.bool_:
            pixels = small.astype(np.uint8) * (255 if small.dtype == np.bool_ else 1)
            lo, hi = 0.0, 255.0
        else:
            as_float = small.astype(np.float64)
            finite = as_float[np.isfinite(as_float)]
            lo = float(finite.min()) if finite.size else 0.0
            hi = float(finite.max()) if finite.size else 0.0
            scale = 255.0 / (hi - lo) if hi > lo else 0.0
            pixels = np.clip(np.nan_to_num((as_float - lo) * scale, nan=0.0), 0, 255).astype(np.uint8)
        pixels = np.ascontiguousarray(pixels)
        return {
            "kind": "image", "w": int(pixels.shape[1]), "h": int(pixels.shape[0]), "channels": int(channels),
            "data": base64.b64encode(pixels.tobytes()).decode("ascii"),
            "shape": list(shape), "dtype": str(value.dtype), "lo": lo, "hi": hi,
        }
    return {"kind": "text", "repr": _short_repr(value)}


def _strided(value: Any, max_points: int, max_side: int) -> np.ndarray | None:
    """The part of ``value`` :func:`encode` reads, a view: a 1-D numeric array strided to at
    most ``max_points`` points, a frame (2-D, or ``H x W x 3|4``) strided so neither side
    exceeds ``max_side``; ``None`` for anything else."""
    if not (isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size):
        return None
    if value.ndim == 1:
        return value[:: max(1, math.ceil(value.shape[0] / max_points))]
    if value.ndim == 2 or (value.ndim == 3 and value.shape[2] in (3, 4)):
        step = max(1, math.ceil(max(value.shape[0], value.shape[1]) / max_side))
        return value[::step, ::step]
    return None


class Shrunk:
    """A value made small where it was produced, for :func:`encode` elsewhere: the strided
    copy of an array (``array``) with the original's ``shape``, or the short ``text`` of
    anything else. Picklable; its size is bounded by ``max_points`` / ``max_side``."""

    __slots__ = ("array", "shape", "text")

    def __init__(self, array: np.ndarray | None, shape: tuple[int, ...] | None = None, text: str = "") -> None:
        self.array = array
        self.shape = shape
        self.text = text

    def __reduce__(self) -> tuple:
        return (Shrunk, (self.array, self.shape, self.text))


def shrink(value: Any, max_points: int = 512, max_side: int = 256) -> Any:
    """``value`` as small as :func:`encode` needs it: numbers as they are, an array as a
    :class:`Shrunk` copy of the part ``encode`` reads, anything else as its short ``repr``
    (a :class:`Shrunk` too). ``encode(shrink(v))`` equals ``encode(v)``."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Real) and not isinstance(value, np.ndarray)):
        return value
    small = _strided(value, max_points, max_side)
    if small is not None:
        return Shrunk(np.ascontiguousarray(small), tuple(value.shape))
    return Shrunk(None, None, _short_repr(value))


def shrink_result(signals: tuple[str, ...], picked: tuple[str, ...], max_points: int, max_side: int, result: Any) -> Any:
    """A node's ``result`` with each picked signal's value :func:`shrink`-ed and the others
    dropped (``None``), keeping the shape :func:`_signal_of` reads (Ray actors call this)."""
    if len(signals) > 1 and isinstance(result, (tuple, list)) and len(result) == len(signals):
        return tuple(shrink(v, max_points, max_side) if s in picked else None for s, v in zip(signals, result))
    return shrink(result, max_points, max_side)


# --------------------------------------------------------------------------- controls


class Control:
    """The page's requests, held until the thread driving the runner applies them.

    ``pause()`` / ``resume()`` / ``stop()`` set flags; ``enable(node)`` / ``disable(node)``
    queue a command. The driver calls :meth:`between_epochs` (or ``await``
    :meth:`between_epochs_async` for an ``AsyncRunner``) before each epoch: it applies queued
    commands, blocks while paused, and returns ``False`` once a stop was asked for.
    A driver that never calls it (``runner.run()``) still pauses: :class:`Stats` then blocks in
    ``epoch_ended``; stop and enable / disable need a cooperating driver (the status says so).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.paused = False
        self.stopped = False
        self.waiting = False  #: the driver is blocked by a pause right now
        self.driven = False  #: a driver calls between_epochs (so stop and enable/disable work)
        self.commands: deque[tuple[str, str]] = deque()
        self.applied: deque[dict[str, Any]] = deque(maxlen=20)

    def pause(self) -> None:
        with self._cond:
            self.paused = True

    def resume(self) -> None:
        with self._cond:
            self.paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self.paused = False
            self._cond.notify_all()

    def enable(self, node: str) -> None:
        self.commands.append(("enable", node))

    def disable(self, node: str) -> None:
        self.commands.append(("disable", node))

    def wait_while_paused(self) -> None:
        """Block the calling thread while paused (returns at once when not)."""
        with self._cond:
            if not self.paused:
                return
            self.waiting = True
            try:
                while self.paused and not self.stopped:
                    self._cond.wait(0.25)
            finally:
                self.waiting = False

    def _apply(self, runner: Any) -> list[Any]:
        pending = []
        while self.commands:
            op, node = self.commands.popleft()
            try:
                out = getattr(runner, f"{op}_node")(node)
            except Exception as exc:  # noqa: BLE001 -- reported on the page, the run goes on
                self.applied.append({"op": op, "node": node, "error": f"{type(exc).__name__}: {exc}"})
                continue
            if inspect.isawaitable(out):
                pending.append((op, node, out))
            else:
                self.applied.append({"op": op, "node": node, "error": None})
        return pending

    def between_epochs(self, runner: Any) -> bool:
        """Apply queued enable / disable to ``runner``, wait while paused; ``False``: stop."""
        if inspect.iscoroutinefunction(getattr(runner, "process", None)):
            raise TypeError(f"{type(runner).__name__} is driven with `await runner.process()`: "
                            "call `await view.between_epochs_async()` instead of between_epochs()")
        self.driven = True
        self.wait_while_paused()
        self._apply(runner)
        return not self.stopped

    async def between_epochs_async(self, runner: Any) -> bool:
        """:meth:`between_epochs` for an ``AsyncRunner``: awaits, never blocks the loop."""
        self.driven = True
        while self.paused and not self.stopped:
            self.waiting = True
            await asyncio.sleep(0.05)
        self.waiting = False
        for op, node, awaitable in self._apply(runner):
            try:
                await awaitable
            except Exception as exc:  # noqa: BLE001
                self.applied.append({"op": op, "node": node, "error": f"{type(exc).__name__}: {exc}"})
            else:
                self.applied.append({"op": op, "node": node, "error": None})
        return not self.stopped


# --------------------------------------------------------------------------- the observer


class Stats(Observer):
    """Per-node and per-epoch figures of one runner, for the live view.

    ``sample_hz``: at most this many samples per second of each picked signal.
    ``min_interval``: :meth:`status` recomputes at most this often (seconds); callers in
    between get the same document. ``rate_window``: rates are measured over about this
    many seconds. ``control``: the :class:`Control` whose pause ``epoch_ended`` honours when
    no driver calls ``between_epochs``.
    """

    def __init__(self, sample_hz: float = 10.0, min_interval: float = 0.05, rate_window: float = 1.0,
                 control: Control | None = None, max_points: int = 512, max_side: int = 256,
                 history: int = 200) -> None:
        self.sample_period_ns = int(1e9 / sample_hz) if sample_hz > 0 else _NEVER
        self.min_interval = min_interval
        self.rate_window_ns = int(rate_window * 1e9)
        self.control = control if control is not None else Control()
        self.max_points = max_points
        self.max_side = max_side
        self.history = history
        self.runner: Any = None
        self._remote: dict[int, Any] = {}  # see remote_values (set again by attached)
        self._lock = threading.Lock()
        self._n = 0
        self.errors: deque[dict[str, Any]] = deque(maxlen=50)
        self.finished: str | None = None  #: set by the driver when the run is over: "finished", "failed", "stopped"

    # -- attach ------------------------------------------------------------------------
    def attached(self, runner: Any) -> None:
        self.runner = runner
        plan = runner.plan
        n = self._n = len(plan.node_ids)
        self.node_ids: list[str] = list(plan.node_ids)
        self.signals: list[list[str]] = [list(s) for s in plan.signals]
        self.sources: list[int] = list(getattr(plan, "sources", []))
        self._count = [itertools.count(1) for _ in range(n)]  # next() gives the call's number
        self._busy = [0] * n
        self._started = [0] * n
        self._ended = [0] * n
        self._failed_at = [0] * n
        self._last_error: list[dict[str, Any] | None] = [None] * n
        self._lat = [[0] * RING for _ in range(n)]
        self._due = [_NEVER] * n
        self._sample: list[tuple[int, Any] | None] = [None] * n  # (t1, result) of the latest sample
        self.picked: dict[tuple[int, str], deque] = {}  # (node, signal) -> number history
        self._remote = {}  # node -> shrink_result partial (remote_values)
        self._encoded: dict[tuple[int, str], tuple[int, dict]] = {}  # cache: (t1, encoded)
        self.n_samples = 0  #: samples taken (of all picked signals)
        self.epochs = 0
        self.last_epoch: int | None = None
        self._open: set[int] = set()  # epochs started and not ended (epoch_started / epoch_ended)
        self._exhausted: dict[int, int] = {}  # source -> the epoch it ran out in (dicts keep order)
        self._epoch_times: deque[int] = deque(maxlen=4096)
        self.t_attached = time.perf_counter_ns()
        # (time, calls, busy, epochs) at each recomputation; the attach time first, so the first
        # status already has rates (averaged since attach)
        self._history: deque[tuple[int, list[int], list[int], int]] = deque([(self.t_attached, [0] * n, [0] * n, 0)])
        self._doc: dict[str, Any] | None = None
        self._doc_t = 0

    # -- the hot path (runner's threads) -------------------------------------------------
    def node_started(self, node: int, t0: int) -> None:
        self._started[node] = t0

    def node_finished(self, node: int, t0: int, t1: int, result: Any) -> None:
        # the call count lives in the itertools.count (read back by _calls_now): one C call
        d = t1 - t0
        self._lat[node][next(self._count[node]) & _MASK] = d
        self._busy[node] += d
        self._ended[node] = t1
        if t1 >= self._due[node] and result is not UNSENT:  # UNSENT: the value stayed in a Ray actor
            self._due[node] = t1 + self.sample_period_ns
            self._sample[node] = (t1, result)
            self.n_samples += 1

    def node_failed(self, node: int, epoch: Any, exc: BaseException) -> None:
        notes = [str(n).removeprefix("[noob] ") for n in getattr(exc, "__notes__", None) or []]
        error = {
            "node": self.node_ids[node], "epoch": epoch if isinstance(epoch, int) else str(epoch),
            "type": type(exc).__name__, "message": _clip(str(exc), 400), "notes": notes,
            "time": time.time(),
        }
        self._failed_at[node] = time.perf_counter_ns()
        self._last_error[node] = error
        self.errors.append(error)

    def epoch_started(self, epoch: int) -> None:
        self._open.add(epoch)

    def source_exhausted(self, node: int, epoch: int) -> None:
        self._exhausted[node] = epoch

    def remote_values(self) -> dict[int, Any]:
        """The picked signals' nodes, each with the ``shrink_result`` that makes its result
        small in a Ray actor (the same dict until the picks change)."""
        return self._remote

    def epoch_ended(self, epoch: int) -> None:
        self._open.discard(epoch)
        self.epochs += 1
        self.last_epoch = epoch
        self._epoch_times.append(time.perf_counter_ns())
        control = self.control
        if control.paused and not control.driven:
            control.wait_while_paused()

    # -- picking signals (any thread) -----------------------------------------------------
    def signal_key(self, node: str, signal: str) -> tuple[int, str]:
        """``(node index, signal)`` for a node id and one of its signals; ``KeyError`` naming both."""
        if node not in self.node_ids:
            raise KeyError(f"tube has no node {node!r} (nodes: {', '.join(map(repr, self.node_ids))})")
        i = self.node_ids.index(node)
        if signal not in self.signals[i]:
            raise KeyError(f"node {node!r} has no signal {signal!r} (signals: {', '.join(map(repr, self.signals[i])) or 'none'})")
        return i, signal

    def pick(self, node: str, signal: str) -> None:
        """Sample ``node.signal`` from now on (at most ``sample_hz`` per second)."""
        key = self.signal_key(node, signal)
        with self._lock:
            self.picked.setdefault(key, deque(maxlen=self.history))
            self._due[key[0]] = 0
            self._remote_changed()

    def unpick(self, node: str, signal: str) -> None:
        """Stop sampling ``node.signal``."""
        key = self.signal_key(node, signal)
        with self._lock:
            self.picked.pop(key, None)
            self._encoded.pop(key, None)
            if not any(k[0] == key[0] for k in self.picked):
                self._due[key[0]] = _NEVER
                self._sample[key[0]] = None
            self._remote_changed()

    def _remote_changed(self) -> None:
        """A new ``remote_values`` dict (a new object: the runner sees that it changed)."""
        picked: dict[int, list[str]] = {}
        for i, signal in self.picked:
            picked.setdefault(i, []).append(signal)
        self._remote = {i: functools.partial(shrink_result, tuple(self.signals[i]), tuple(sigs), self.max_points, self.max_side)
                        for i, sigs in picked.items()}

    # -- the status document (server thread) ----------------------------------------------
    def node_state(self, i: int) -> str:
        """``disabled``, ``failed`` (raised since its last success), ``running`` or ``idle``."""
        node = self.runner.nodes.get(self.node_ids[i]) if self.runner is not None else None
        if node is not None and not node.enabled:
            return "disabled"
        if self._failed_at[i] > self._ended[i]:
            return "failed"
        if self._started[i] > self._ended[i] and self._started[i] > self._failed_at[i]:
            return "running"
        return "idle"

    def exhausted_sources(self) -> list[str]:
        """Ids of the sources that ran out since the view attached (``source_exhausted``)."""
        return [self.node_ids[i] for i in list(self._exhausted)]

    def status(self, values: bool = False) -> dict[str, Any]:
        """The status document (see ``noob.view``); with ``values``, also ``"values"``."""
        now = time.perf_counter_ns()
        with self._lock:
            if self._doc is None or now - self._doc_t >= self.min_interval * 1e9:
                self._doc = self._compute(now)
                self._doc_t = now
            doc = dict(self._doc)
            if values:
                doc["values"] = self._values()
        return doc

    def _calls_now(self) -> list[int]:
        """Calls so far per node: an ``itertools.count`` shows its next value as ``count(N)``."""
        return [int(repr(c)[6:-1]) - 1 for c in self._count]

    def _compute(self, now: int) -> dict[str, Any]:
        calls = self._calls_now()
        busy = list(self._busy)
        history = self._history
        history.append((now, calls, busy, self.epochs))
        while len(history) > 2 and now - history[1][0] >= self.rate_window_ns:
            history.popleft()
        t_old, calls_old, busy_old, epochs_old = history[0]
        span = now - t_old
        nodes: dict[str, Any] = {}
        for i, node_id in enumerate(self.node_ids):
            n = calls[i]
            p50_ms: float | None
            p99_ms: float | None
            if n:
                ring = np.asarray(self._lat[i], dtype=np.int64)
                recent = ring if n >= RING else ring[1: n + 1]  # call k sits at index k & MASK
                p50, p99 = np.percentile(recent, [50, 99]) / 1e6
                p50_ms, p99_ms = round(float(p50), 4), round(float(p99), 4)
            else:
                p50_ms = p99_ms = None
            nodes[node_id] = {
                "calls": n,
                "rate_hz": round((n - calls_old[i]) * 1e9 / span, 3) if span > 0 else 0.0,
                "p50_ms": p50_ms,
                "p99_ms": p99_ms,
                "share": round((busy[i] - busy_old[i]) / span, 4) if span > 0 else 0.0,
                "state": self.node_state(i),
                "last_error": self._last_error[i],
                "signals": self.signals[i],
            }
        epochs = self.epochs
        control = self.control
        if self.finished is not None:
            state = self.finished
        elif control.stopped:
            state = "stopping"
        elif control.paused:
            state = "paused" if control.waiting else "pausing"
        else:
            state = "running"
        runner = self.runner
        return {
            "tube": runner.tube.tube_id,
            "runner": type(runner).__name__,
            "core": getattr(runner.core, "IMPLEMENTATION", None),
            "state": state,
            "epochs": epochs,
            "last_epoch": self.last_epoch,
            "rate_hz": round((epochs - epochs_old) * 1e9 / span, 3) if span > 0 else 0.0,
            "in_flight": len(self._open),
            "exhausted_sources": self.exhausted_sources(),
            "uptime_s": round((now - self.t_attached) / 1e9, 3),
            "nodes": nodes,
            "errors": list(self.errors),
            "controls": {"paused": control.paused, "stopped": control.stopped, "driven": control.driven,
                         "applied": list(control.applied)},
            "picked": [f"{self.node_ids[i]}.{s}" for i, s in self.picked],
        }

    def _values(self) -> dict[str, Any]:
        """The latest sample of each picked signal, encoded (cached until a newer sample)."""
        out: dict[str, Any] = {}
        for key, numbers_seen in self.picked.items():
            i, signal = key
            sample = self._sample[i]
            name = f"{self.node_ids[i]}.{signal}"
            if sample is None:
                out[name] = {"kind": "none", "t": None}
                continue
            t1, result = sample
            cached = self._encoded.get(key)
            if cached is None or cached[0] != t1:
                value = _signal_of(result, self.signals[i], signal)
                enc = encode(value, self.max_points, self.max_side)
                if enc["kind"] == "number":
                    numbers_seen.append(((t1 - self.t_attached) / 1e9, enc["value"]))
                    enc = {"kind": "number", "value": enc["value"], "history": list(numbers_seen)}
                enc["t"] = round((t1 - self.t_attached) / 1e9, 4)
                self._encoded[key] = cached = (t1, enc)
            out[name] = cached[1]
        return out


def _signal_of(result: Any, signals: list[str], signal: str) -> Any:
    """The value of ``signal`` in a node's ``result`` (a tuple return splits by position)."""
    if len(signals) > 1 and isinstance(result, (tuple, list)) and len(result) == len(signals):
        return result[signals.index(signal)]
    return result
