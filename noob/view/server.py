"""The live view's web server: a Starlette app served by uvicorn in a background thread.

Owns: :class:`View` (attach a :class:`~noob.view.stats.Stats` observer to a runner, serve
the page and the API on ``host:port`` from a daemon thread, detach and shut down), the
routes (``/``, ``/static/*``, ``GET /api/status``, ``GET /api/graph``, ``POST /api/control``,
the ``/ws`` websocket), and the per-connection byte budget for sampled values.
Must not: touch the runner (controls are queued on :class:`~noob.view.stats.Control` and
applied by the thread that drives it), or be imported unless the view is used: it needs the
``view`` extra (``pip install "noob[view]"``: starlette, uvicorn, websockets).

Why a websocket: the server paces the updates (``hz`` pushes per second, whatever the
browser does), sends a picked value only when a newer sample exists and only while the
connection's byte budget allows, and the page's commands travel on the same connection.
Scripts use plain HTTP: ``GET /api/status`` and ``POST /api/control``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import sys
import threading
import time
from importlib import resources
from typing import Any

from noob.view.stats import Control, Stats

__all__ = ["View", "is_loopback", "parse_address"]

LOOPBACK = "127.0.0.1"


def parse_address(text: str) -> tuple[str, int]:
    """``"PORT"``, ``"HOST:PORT"`` or ``"[V6]:PORT"`` → ``(host, port)``; host defaults to loopback."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = LOOPBACK, text
    host = host.strip("[]") or LOOPBACK
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"--view {text!r}: expected PORT or HOST:PORT (e.g. 8765 or 127.0.0.1:8765), "
                         f"found port {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"--view {text!r}: port must be 0..65535 (0: any free port), found {port}")
    return host, port


def is_loopback(host: str) -> bool:
    """True if ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(data: Any) -> str:
    return json.dumps(data, default=str, allow_nan=False)


class _Budget:
    """A token bucket: at most ``rate`` bytes per second, bursts up to one second's worth."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.t = time.monotonic()

    def take(self, n: int) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if n > self.tokens:
            return False
        self.tokens -= n
        return True


class View:
    """A live view of ``runner`` served at ``http://host:port/``.

    ``start()`` attaches the observer and starts the server thread; ``close()`` detaches and
    stops it. ``port=0`` picks a free port (read ``view.port`` / ``view.url``).
    ``readonly``: no pause / stop / enable / disable (picking signals still works).
    ``hz``: websocket pushes per second. ``max_bytes_per_s``: the most sampled-value bytes
    sent to one page per second (the status itself is not counted). ``signals``:
    ``"node.signal"`` names to sample from the start.
    """

    def __init__(self, runner: Any, port: int = 8765, host: str = LOOPBACK, readonly: bool = False,
                 hz: float = 8.0, sample_hz: float = 10.0, max_bytes_per_s: int = 2_000_000,
                 max_side: int = 256, signals: list[str] | tuple[str, ...] = (), warn: bool = True):
        self.runner = runner
        self.host = host
        self.readonly = readonly
        self.hz = hz
        self.max_bytes_per_s = max_bytes_per_s
        self.control = Control()
        self.stats = Stats(sample_hz=sample_hz, control=self.control, max_side=max_side)
        self._requested_port = port
        self._signals = list(signals)
        self._warn = warn
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._sock: socket.socket | None = None
        self.port: int | None = None
        self._graph: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> View:
        """Attach to the runner and serve; returns once the socket is listening."""
        import uvicorn

        if not is_loopback(self.host) and self._warn:
            print(f"noob view: warning: serving on {self.host}, reachable from other machines; anyone who can "
                  f"reach it can see the data{'' if self.readonly else ' and pause, stop or change the run'} "
                  f"(no authentication). Use 127.0.0.1 unless that is what you want"
                  f"{'' if self.readonly else ', and --view-readonly to turn the controls off'}.", file=sys.stderr)
        self.runner.add_observer(self.stats)
        for name in self._signals:
            node, _, signal = name.rpartition(".")
            self.stats.pick(node, signal)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError as exc:
            sock.close()
            self.runner.remove_observer(self.stats)
            raise OSError(exc.errno, f"cannot serve the live view on {self.host}:{self._requested_port}: "
                          f"{exc.strerror}; choose another port (0: any free port)") from None
        sock.listen(64)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        from uvicorn.config import WS_PROTOCOLS

        ws = "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "websockets"  # uvicorn >= 0.35
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False, ws=ws,
                                timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        # uvicorn installs signal handlers only in the main thread: Ctrl-C stays with the run
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="noob-view", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.close()
            raise RuntimeError(f"the live view's server did not start on {self.host}:{self.port} within 10 s "
                               "(see the messages above); the run was not started")
        return self

    def close(self) -> None:
        """Detach from the runner and stop the server (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(5)
            self._server = None
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.runner.remove_observer(self.stats)

    def __enter__(self) -> View:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the driver's side ---------------------------------------------------------------
    def between_epochs(self) -> bool:
        """Call before each epoch from the thread driving the runner: applies enable / disable,
        waits while paused; ``False`` once the page asked to stop."""
        return self.control.between_epochs(self.runner)

    async def between_epochs_async(self) -> bool:
        """:meth:`between_epochs` for an ``AsyncRunner`` (awaits instead of blocking)."""
        return await self.control.between_epochs_async(self.runner)

    def finish(self, how: str) -> None:
        """Mark the run as over (``"finished"``, ``"failed"``, ``"stopped"``, ``"interrupted"``)."""
        self.stats.finished = how

    def wait_closed(self, timeout: float | None = None) -> None:
        """Block until the page asks to stop (or ``timeout`` seconds pass): keeps a finished run's
        last figures on screen."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.control.stopped and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)

    # -- what the routes serve -----------------------------------------------------------
    def graph(self) -> dict[str, Any]:
        """The drawing of the tube (``noob show``'s SVG) and each node's signals."""
        if self._graph is None:
            from noob.cli.show import _svg, graph_of

            graph = graph_of(self.runner.tube)
            self._graph = {
                "tube": graph.tube_id, "description": graph.description, "svg": _svg(graph),
                "signals": {node: sigs for node, sigs in zip(self.stats.node_ids, self.stats.signals)},
                "readonly": self.readonly, "hz": self.hz,
            }
        return self._graph

    def command(self, data: Any) -> dict[str, Any]:
        """Apply one command ``{"op": ..., "node": ..., "signal": ...}``; the reply (``ok`` / ``error``)."""
        if not isinstance(data, dict) or not isinstance(data.get("op"), str):
            return {"ok": False, "error": 'expected a JSON object {"op": ...}'}
        op = data["op"]
        try:
            if op in ("pick", "unpick"):
                getattr(self.stats, op)(str(data.get("node")), str(data.get("signal")))
                return {"ok": True}
            if op not in ("pause", "resume", "stop", "enable", "disable"):
                return {"ok": False, "error": f"unknown op {op!r} (ops: pause, resume, stop, enable, disable, pick, unpick)"}
            if self.readonly:
                return {"ok": False, "error": "the view is read-only (started with --view-readonly / readonly=True)"}
            if op in ("enable", "disable"):
                node = str(data.get("node"))
                if node not in self.stats.node_ids:
                    return {"ok": False, "error": f"no node {node!r} (nodes: {', '.join(self.stats.node_ids)})"}
                getattr(self.control, op)(node)
            else:
                getattr(self.control, op)()
        except KeyError as exc:
            return {"ok": False, "error": str(exc.args[0])}
        return {"ok": True}

    def app(self) -> Any:
        """The Starlette application."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route, WebSocketRoute
        from starlette.websockets import WebSocket, WebSocketDisconnect

        static = resources.files("noob.view") / "static"
        types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png"}
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

        def page(request: Request) -> Response:
            name = request.path_params.get("name", "index.html")
            suffix = "." + name.rpartition(".")[2]
            item = static / name
            if "/" in name or name.startswith(".") or suffix not in types or not item.is_file():
                return Response("not found", status_code=404)
            return Response(item.read_bytes(), media_type=types[suffix], headers=headers)

        def status(request: Request) -> Response:
            values = request.query_params.get("values", "") not in ("", "0", "false")
            return Response(_json(self.stats.status(values=values)), media_type="application/json", headers=headers)

        def graph(request: Request) -> Response:
            return JSONResponse(self.graph(), headers=headers)

        async def control(request: Request) -> Response:
            try:
                data = await request.json()
            except ValueError:
                data = None
            reply = self.command(data)
            code = 200 if reply["ok"] else (403 if "read-only" in reply.get("error", "") else 400)
            return JSONResponse(reply, status_code=code)

        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            budget = _Budget(self.max_bytes_per_s)
            sent: dict[str, Any] = {}

            async def receive() -> None:
                while True:
                    text = await websocket.receive_text()
                    try:
                        data = json.loads(text)
                    except ValueError:
                        data = None
                    await websocket.send_text(_json({"reply": self.command(data), "request": data}))

            reader = asyncio.create_task(receive())
            period = 1 / self.hz
            due = time.monotonic()
            try:
                while not reader.done():
                    doc = self.stats.status(values=True)
                    values = doc.pop("values", {})
                    fresh = {}
                    for name, enc in values.items():
                        if sent.get(name) == enc.get("t"):
                            continue
                        size = len(enc.get("data", "")) + 16 * len(enc.get("history", ())) + 8 * len(enc.get("y", ()))
                        if budget.take(size):
                            fresh[name] = enc
                            sent[name] = enc.get("t")
                    doc["values"] = fresh
                    await websocket.send_text(_json(doc))
                    # paced to a schedule, not a sleep after each push: the time a push takes
                    # (longer while the run holds the GIL) does not lower the rate
                    due = max(due + period, time.monotonic() - period)
                    await asyncio.wait([reader], timeout=max(0.0, due - time.monotonic()))
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
            finally:
                reader.cancel()

        def no_icon(request: Request) -> Response:
            return Response(status_code=204)

        return Starlette(routes=[
            Route("/", page),
            Route("/favicon.ico", no_icon),
            Route("/static/{name}", page),
            Route("/api/status", status),
            Route("/api/graph", graph),
            Route("/api/control", control, methods=["POST"]),
            WebSocketRoute("/ws", ws),
        ])

