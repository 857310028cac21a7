"""The live view (``noob.view``) without a browser: its figures, controls, value encoding, the
HTTP API and ``noob run --view``.

Figures and controls run on both cores (the ``core`` fixture). The server tests need the
``view`` extra (starlette, uvicorn): without it they are skipped, except in CI (``CI`` set),
where they fail. The page itself is tested in Chromium in ``tests/test_view_browser.py``.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import math
import os
import pickle
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from noob import SynchronousRunner, Tube
from noob.runner.asyncio import AsyncRunner
from noob.runner.observe import UNSENT
from noob.view import Control, Stats, encode
from noob.view.stats import RING, Shrunk, shrink, shrink_result

ROOT = Path(__file__).resolve().parents[1]
CAMERA = ROOT / "examples" / "camera.yaml"

CHAIN = {
    "noob_id": "view-chain",
    "nodes": {
        "src": {"type": "noob.testing.count_source", "params": {"limit": 0}},
        "a": {"type": "testnodes.plus1", "depends": [{"x": "src.index"}]},
        "out": {"type": "return", "depends": "a.value"},
    },
}

FAILING = {
    "noob_id": "view-fail",
    "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "bad": {"type": "testnodes.boom", "depends": [{"x": "src.index"}]},
        "out": {"type": "return", "depends": "bad.value"},
    },
}


def _server_stack() -> None:
    """Skip (fail in CI) when the ``view`` extra is not installed."""
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} not installed; CI must install noob[view]")
        pytest.skip(f"{', '.join(missing)} not installed (pip install 'noob[view]')")


def _observed(core: str, spec: dict = CHAIN, **kw: Any) -> tuple[SynchronousRunner, Stats]:
    runner = SynchronousRunner(Tube.from_specification(spec), core=core)
    stats = Stats(**kw)
    runner.add_observer(stats)
    return runner, stats


# --------------------------------------------------------------------------- figures


def test_calls_epochs_and_latencies_are_counted(core):
    """Every node's calls and every epoch are counted; p50 <= p99; idle after the run."""
    runner, stats = _observed(core)
    with runner:
        for _ in range(50):
            runner.process()
    doc = stats.status()
    assert (50, 49, 0) == (doc["epochs"], doc["last_epoch"], doc["in_flight"])
    assert {"src": 50, "a": 50, "out": 50} == {k: n["calls"] for k, n in doc["nodes"].items()}
    assert {"idle"} == {n["state"] for n in doc["nodes"].values()}
    assert all(0 < n["p50_ms"] <= n["p99_ms"] for n in doc["nodes"].values())
    assert doc["rate_hz"] > 0 and all(n["rate_hz"] > 0 for n in doc["nodes"].values())
    assert ("view-chain", "SynchronousRunner", core) == (doc["tube"], doc["runner"], doc["core"])


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_exhausted_sources_are_listed(core, kind):
    """A source that ran out is listed in ``exhausted_sources``."""
    spec = {**CHAIN, "nodes": {**CHAIN["nodes"], "src": {"type": "noob.testing.count_source", "params": {"limit": 3}}}}
    tube = Tube.from_specification(spec)
    stats = Stats()
    if kind == "sync":
        runner: Any = SynchronousRunner(tube, core=core)
        runner.add_observer(stats)
        assert ([], [1, 2, 3]) == (stats.status()["exhausted_sources"], runner.run(10))
    else:
        runner = AsyncRunner(tube, core=core)
        runner.add_observer(stats)
        assert ([], [1, 2, 3]) == (stats.status()["exhausted_sources"], asyncio.run(runner.run(10)))
    stats._doc = None
    assert ["src"] == stats.status()["exhausted_sources"]


def test_status_has_the_documented_fields(core):
    """``status()`` carries the fields the issue and the module docstring list."""
    runner, stats = _observed(core)
    with runner:
        runner.process()
    doc = stats.status()
    assert {"tube", "runner", "core", "state", "epochs", "last_epoch", "rate_hz", "in_flight", "exhausted_sources",
            "uptime_s", "nodes", "errors", "controls", "picked"} == set(doc)
    assert {"calls", "rate_hz", "p50_ms", "p99_ms", "share", "state", "last_error", "signals"} == set(doc["nodes"]["a"])
    json.dumps(doc, allow_nan=False)


def test_percentiles_come_from_the_latency_ring(core):
    """p50 / p99 are the percentiles of the last ``RING`` durations of the node."""
    runner, stats = _observed(core)
    i = runner.plan.index["a"]
    for k in range(1, 101):  # 1..100 ms
        stats.node_started(i, 0)
        stats.node_finished(i, 0, k * 1_000_000, None)
    node = stats.status()["nodes"]["a"]
    assert (100, 50.5, 99.01) == (node["calls"], node["p50_ms"], node["p99_ms"])
    for _ in range(RING):  # a full ring of 1 ms calls pushes the older ones out
        stats.node_finished(i, 0, 1_000_000, None)
    stats._doc = None
    node = stats.status()["nodes"]["a"]
    assert (1.0, 1.0) == (node["p50_ms"], node["p99_ms"])


def test_rates_and_share_are_measured_over_the_window(core):
    """Rates divide call counts by the time between two status documents; share divides busy time."""
    runner, stats = _observed(core, min_interval=0.0, rate_window=10.0)
    i = runner.plan.index["a"]
    stats.status()
    t0 = time.perf_counter_ns()
    for _ in range(20):
        stats.node_finished(i, 0, 10_000_000, None)  # 10 ms each: 200 ms of work
    stats.epochs += 10
    time.sleep(0.4)
    doc = stats.status()
    elapsed = (time.perf_counter_ns() - t0) / 1e9
    assert 20 / (elapsed + 0.05) <= doc["nodes"]["a"]["rate_hz"] <= 20 / elapsed * 1.01
    assert 10 / (elapsed + 0.05) <= doc["rate_hz"] <= 10 / elapsed * 1.01
    assert 0.2 / (elapsed + 0.05) <= doc["nodes"]["a"]["share"] <= 0.2 / elapsed * 1.01


def test_failure_marks_the_node_failed_with_its_note(core):
    """A node that raises is ``failed`` until it succeeds again; the error names node, epoch and note."""
    runner, stats = _observed(core, FAILING)
    with runner, pytest.raises(ValueError):
        for _ in range(3):
            runner.process()
    doc = stats.status()
    assert "failed" == doc["nodes"]["bad"]["state"]
    (error,) = doc["errors"]
    assert ("bad", 2, "ValueError", "two is not allowed") == (error["node"], error["epoch"], error["type"], error["message"])
    assert any("node 'bad' in epoch 2" in note for note in error["notes"])
    assert error == doc["nodes"]["bad"]["last_error"]
    assert 3 == doc["epochs"]  # the failed epoch ended too


def test_disabled_node_shows_disabled_and_controls_apply_between_epochs(core):
    """``disable`` / ``enable`` are queued and applied by ``between_epochs`` in the driving thread."""
    runner, stats = _observed(core)
    control = stats.control
    with runner:
        control.disable("a")
        assert runner.nodes["a"].enabled  # queued, not applied from this (the page's) side
        assert control.between_epochs(runner)
        runner.process()
        stats._doc = None
        assert "disabled" == stats.status()["nodes"]["a"]["state"]
        control.enable("a")
        control.enable("nope")
        assert control.between_epochs(runner)
        assert 2 == runner.process()  # epoch 1: 1 + 1
    assert [("enable", None), ("enable", "KeyError")] == [
        (a["op"], a["error"] and a["error"].split(":")[0]) for a in list(control.applied)[1:]]


def test_pause_blocks_the_driver_and_stop_ends_it(core):
    """While paused, ``between_epochs`` blocks and no epoch runs; resume goes on; stop returns False."""
    runner, stats = _observed(core)
    control = stats.control
    done = threading.Event()

    def drive() -> None:
        with runner:
            while control.between_epochs(runner):
                runner.process()
                time.sleep(0.001)
        done.set()

    worker = threading.Thread(target=drive)
    worker.start()
    time.sleep(0.2)
    control.pause()
    time.sleep(0.2)
    held = stats.epochs
    time.sleep(0.3)
    assert held == stats.epochs
    assert "paused" == (stats._compute(time.perf_counter_ns()))["state"]
    control.resume()
    time.sleep(0.2)
    assert stats.epochs > held
    control.stop()
    assert done.wait(5)
    worker.join()
    assert not runner.running


def test_pause_without_a_driver_blocks_in_epoch_ended(core):
    """``runner.run()`` never calls ``between_epochs``: the observer itself holds it after an epoch."""
    runner, stats = _observed(core)
    stats.control.pause()
    worker = threading.Thread(target=lambda: runner.run(5))
    worker.start()
    time.sleep(0.3)
    assert 1 == stats.epochs
    stats.control.resume()
    worker.join(5)
    assert 5 == stats.epochs


def test_async_runner_is_observed_and_driven(core):
    """With an ``AsyncRunner``, figures are counted and ``between_epochs_async`` applies commands."""
    runner = AsyncRunner(Tube.from_specification(CHAIN), core=core)
    stats = Stats()
    runner.add_observer(stats)
    stats.control.disable("a")

    async def go() -> list:
        out = []
        async with runner:
            for _ in range(3):
                assert await stats.control.between_epochs_async(runner)
                out.append(await runner.process())
        return out

    assert [None, None, None] == asyncio.run(go())
    doc = stats.status()
    assert (3, 3, 0, "disabled") == (doc["epochs"], doc["nodes"]["src"]["calls"], doc["nodes"]["a"]["calls"],
                                     doc["nodes"]["a"]["state"])


@pytest.mark.parametrize("k", [1, 3])
def test_in_flight_counts_pipelined_epochs(core, k):
    """With ``max_epochs_in_flight=k``, up to ``k`` epochs are in flight at once, and never more."""
    tube = Tube.from_specification({"noob_id": "view-pipelined", "nodes": {
        "src": {"type": "noob.testing.count_source", "params": {"limit": 0}},
        "s": {"type": "testnodes.sleep_then", "params": {"delay": 0.05}, "depends": [{"x": "src.index"}]},
        "r": {"type": "return", "depends": "s.value"}}})
    runner = AsyncRunner(tube, core=core, max_epochs_in_flight=k)
    stats = Stats()
    runner.add_observer(stats)
    seen: list[int] = []

    async def poll() -> None:
        while True:
            seen.append(stats._compute(time.perf_counter_ns())["in_flight"])
            await asyncio.sleep(0.01)

    async def go() -> list:
        async with runner:
            poller = asyncio.create_task(poll())
            out = await asyncio.gather(*(runner.process() for _ in range(9)))
            poller.cancel()
            return out

    assert list(range(9)) == asyncio.run(go())
    assert (k, 9) == (max(seen), stats.epochs)
    assert 0 == stats.status()["in_flight"]


def test_picked_values_are_sampled_at_most_sample_hz(core):
    """A picked signal is sampled at most ``sample_hz`` times a second, however fast the node runs."""
    runner, stats = _observed(core, sample_hz=20)
    stats.pick("a", "value")
    start = time.perf_counter()
    with runner:
        while time.perf_counter() - start < 0.5:
            runner.process()
    elapsed = time.perf_counter() - start
    assert stats.epochs > 100
    assert 1 <= stats.n_samples <= elapsed * 20 + 1
    value = stats.status(values=True)["values"]["a.value"]
    assert ("number", float(stats._sample[runner.plan.index["a"]][1])) == (value["kind"], value["value"])


def test_sampling_history_grows_by_sample_not_by_call(core):
    """Each status call after a new sample adds one point; calls between samples add none."""
    runner, stats = _observed(core, sample_hz=10)
    stats.pick("a", "value")
    with runner:
        for _ in range(3):
            t_end = time.perf_counter() + 0.15
            while time.perf_counter() < t_end:
                runner.process()
            stats.status(values=True)
            stats.status(values=True)
    history = stats.status(values=True)["values"]["a.value"]["history"]
    assert 3 == len(history)
    assert [h[0] for h in history] == sorted(h[0] for h in history)


def test_picking_names_a_missing_node_or_signal(core):
    """Picking a node or signal that does not exist says which exist."""
    runner, stats = _observed(core)
    with pytest.raises(KeyError) as info:
        stats.pick("nope", "value")
    assert "tube has no node 'nope' (nodes: 'src', 'a', 'out')" == info.value.args[0]
    with pytest.raises(KeyError) as info:
        stats.pick("a", "frame")
    assert "node 'a' has no signal 'frame' (signals: 'value')" == info.value.args[0]


def test_multi_signal_node_value_is_split_by_position(core):
    """A node with several signals returns a tuple: the picked signal is its position in it."""
    import yaml

    sys.path.insert(0, str(ROOT / "examples"))
    spec = yaml.safe_load(CAMERA.read_text())
    spec["nodes"]["camera"]["params"].update(fps=0, height=8, width=8)
    runner = SynchronousRunner(Tube.from_specification(spec), core=core)
    stats = Stats()
    runner.add_observer(stats)
    stats.pick("camera", "index")
    with runner:
        runner.process()
    assert {"kind": "number", "value": 0.0} == {k: v for k, v in stats.status(values=True)["values"]["camera.index"].items()
                                                if k in ("kind", "value")}


# --------------------------------------------------------------------------- encoding


def test_encode_numbers_lines_images_and_text():
    """Numbers stay numbers, 1-D arrays are lines, 2-D arrays images, the rest a short repr."""
    assert {"kind": "number", "value": 3.5} == encode(np.float32(3.5))
    assert {"kind": "number", "value": None} == encode(math.nan)
    assert {"kind": "number", "value": 1.0} == encode(True)
    line = encode(np.arange(2000.0))
    assert ("line", 2000, 500) == (line["kind"], line["n"], len(line["y"]))
    assert {"kind": "text", "repr": "'hello'"} == encode("hello")
    assert 160 == len(encode("x" * 1000)["repr"])
    assert "text" == encode(np.array(["a", "b"]))["kind"]


def test_a_4k_frame_is_downsampled_before_it_is_sent():
    """A 2160 x 3840 frame becomes at most 256 pixels a side, scaled to 0..255."""
    frame = np.arange(2160 * 3840, dtype=np.uint16).reshape(2160, 3840)
    img = encode(frame)
    assert ("image", 256, 144, 1, [2160, 3840], "uint16") == (img["kind"], img["w"], img["h"], img["channels"],
                                                             img["shape"], img["dtype"])
    pixels = np.frombuffer(base64.b64decode(img["data"]), dtype=np.uint8)
    assert 256 * 144 == pixels.size
    assert (0, 255) == (int(pixels.min()), int(pixels.max()))
    rgb = encode(np.zeros((100, 50, 3), dtype=np.uint8))
    assert (50, 100, 3, 50 * 100 * 3) == (rgb["w"], rgb["h"], rgb["channels"], len(base64.b64decode(rgb["data"])))


@pytest.mark.parametrize("value", [
    np.arange(4000.0), np.arange(2160 * 3840, dtype=np.uint16).reshape(2160, 3840),
    np.linspace(0, 1, 600 * 300 * 3).reshape(600, 300, 3), np.zeros((10, 3), dtype=bool),
    np.int64(7), 2.5, "x" * 1000, {"a": [1, 2]}, np.zeros((2, 2, 2, 2)),
], ids=["line", "4k", "colour", "bool", "int64", "float", "text", "dict", "4d"])
def test_a_value_shrunk_elsewhere_encodes_as_the_original(value):
    """``encode(shrink(v)) == encode(v)``, through pickle (a Ray actor's trip), and what crosses
    is bounded: at most 512 points, 256 pixels a side, 160 characters."""
    small = pickle.loads(pickle.dumps(shrink(value)))
    assert encode(value) == encode(small)
    if type(small) is Shrunk:
        assert (small.array is None and len(small.text) <= 160) or (small.array.size <= 256 * 256 * 3 and max(small.array.shape) <= 512)


def test_shrink_result_keeps_the_picked_signals_position():
    """A tuple result keeps its length; picked signals are shrunk, the others dropped."""
    out = shrink_result(("frame", "index"), ("frame",), 512, 256, (np.zeros((1000, 1000)), 3))
    assert (2, None, (1000, 1000), (250, 250)) == (len(out), out[1], out[0].shape, out[0].array.shape)
    assert 3 == shrink_result(("index",), ("index",), 512, 256, 3)


def test_unsent_results_are_counted_never_sampled(core):
    """A replayed call whose value stayed in its actor (``UNSENT``) counts, and is not shown as a value."""
    runner, stats = _observed(core)
    stats.pick("a", "value")
    i = runner.plan.index["a"]
    stats.node_finished(i, 10, 20, UNSENT)
    assert (1, None) == (stats.status()["nodes"]["a"]["calls"], stats._sample[i])
    stats.node_finished(i, 30, 40, 5)
    assert (5.0, {i}) == (stats.status(values=True)["values"]["a.value"]["value"], set(stats.remote_values()))


def test_byte_budget_limits_a_burst():
    """The per-page budget lets one second's worth of bytes through, then refuses."""
    from noob.view.server import _Budget

    budget = _Budget(1000)
    assert [True, True, False] == [budget.take(400), budget.take(400), budget.take(400)]


# --------------------------------------------------------------------------- the server


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.load(reply)


def _post(url: str, data: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_api_status_and_control_over_http(core):
    """``GET /api/status`` serves the figures; ``POST /api/control`` queues commands and says why not."""
    _server_stack()
    import noob.view

    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    with noob.view.attached(runner, port=0, signals=["a.value"]) as view:
        with runner:
            for _ in range(10):
                view.between_epochs()
                runner.process()
        doc = _get(view.url + "api/status")
        assert (10, {"src": 10, "a": 10, "out": 10}) == (doc["epochs"], {k: n["calls"] for k, n in doc["nodes"].items()})
        assert "values" not in doc
        assert "number" == _get(view.url + "api/status?values=1")["values"]["a.value"]["kind"]
        assert (200, {"ok": True}) == _post(view.url + "api/control", {"op": "pause"})
        assert view.control.paused
        assert (400, {"ok": False, "error": "no node 'zz' (nodes: src, a, out)"}) == _post(
            view.url + "api/control", {"op": "disable", "node": "zz"})
        code, reply = _post(view.url + "api/control", {"op": "explode"})
        assert (400, False) == (code, reply["ok"]) and "pause, resume, stop" in reply["error"]
        graph = _get(view.url + "api/graph")
        assert {"src": ["index"], "a": ["value"], "out": ["value"]} == graph["signals"]
        assert 'data-node="a"' in graph["svg"]
        with urllib.request.urlopen(view.url, timeout=10) as page:
            assert b"/static/view.js" in page.read()
    assert () == runner._observers  # detached: nodes are called unwrapped again


def test_websocket_streams_and_a_4k_camera_stays_within_the_byte_budget(core):
    """The page's websocket streams updates; 4K frames arrive downsampled, within budget."""
    _server_stack()
    from websockets.sync.client import connect

    import noob.view

    tube = Tube.from_specification({"noob_id": "view-4k", "nodes": {"cam": {"type": "view_nodes.frames_4k"}}})
    runner = SynchronousRunner(tube, core=core)
    budget = 200_000
    with noob.view.attached(runner, port=0, signals=["cam.frame"], max_bytes_per_s=budget) as view:
        stop = threading.Event()

        def drive() -> None:
            with runner:
                while not stop.is_set() and view.between_epochs():
                    runner.process()

        worker = threading.Thread(target=drive)
        worker.start()
        try:
            messages, sizes, shapes = 0, 0, set()
            with connect(view.url.replace("http", "ws") + "ws") as ws:
                start = time.monotonic()
                while (elapsed := time.monotonic() - start) < 2.0:
                    doc = json.loads(ws.recv(timeout=5))
                    messages += 1
                    for value in doc["values"].values():
                        sizes += len(value["data"])
                        shapes.add((value["w"], value["h"]))
        finally:
            stop.set()
            worker.join(10)
    # the server pushes `hz` (8) times a second on a fixed schedule; on a loaded 2-core box a
    # busy run may delay some pushes, so only a steady stream is asserted here, not the rate
    assert messages >= 3
    assert {(256, 144)} == shapes
    assert 0 < sizes <= budget * (elapsed + 1)  # a full second's burst, then the rate


def test_readonly_view_refuses_controls_but_allows_picking(core):
    """A read-only view answers 403 to pause / stop / enable / disable; picking a signal still works."""
    _server_stack()
    import noob.view

    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    with noob.view.attached(runner, port=0, readonly=True) as view:
        code, reply = _post(view.url + "api/control", {"op": "stop"})
        assert (403, False) == (code, reply["ok"]) and "read-only" in reply["error"]
        assert (200, {"ok": True}) == _post(view.url + "api/control", {"op": "pick", "node": "a", "signal": "value"})
        assert not view.control.stopped


def test_non_loopback_host_warns(capsys, core):
    """Serving on a non-loopback address prints a warning naming it."""
    _server_stack()
    import noob.view

    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    with noob.view.attached(runner, host="0.0.0.0", port=0, readonly=True):
        pass
    err = capsys.readouterr().err
    assert "warning: serving on 0.0.0.0, reachable from other machines" in err


def test_address_parsing():
    """``PORT``, ``HOST:PORT`` and ``[V6]:PORT``; loopback by default."""
    from noob.view.server import is_loopback, parse_address

    assert ("127.0.0.1", 8765) == parse_address("8765")
    assert ("0.0.0.0", 80) == parse_address("0.0.0.0:80")
    assert ("::1", 0) == parse_address("[::1]:0")
    assert [True, True, True, False, False] == [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "10.1.2.3")]
    with pytest.raises(ValueError, match="expected PORT or HOST:PORT"):
        parse_address("localhost:http")
    with pytest.raises(ValueError, match="port must be 0..65535"):
        parse_address("70000")


def _noob(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run([sys.executable, "-m", "noob", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT, stdin=subprocess.DEVNULL, check=False)


def test_noob_run_view_serves_and_ends(core):
    """``noob run --view 0`` prints the address, runs, and ends after the linger time."""
    _server_stack()
    proc = _noob("run", str(CAMERA), "-n", "5", "--core", core, "--view", "0", "--view-linger", "0",
                 "--view-signal", "camera.frame", "-f", "jsonl")
    assert 0 == proc.returncode, proc.stderr
    assert "noob run: live view of tube 'example-camera' at http://127.0.0.1:" in proc.stderr
    assert 5 == len(proc.stdout.splitlines())


def test_noob_run_view_drives_the_async_runner(core):
    """``noob run --runner async --view`` runs its epochs through ``between_epochs_async``."""
    _server_stack()
    proc = _noob("run", str(CAMERA), "-n", "3", "--core", core, "--runner", "async", "--view", "0",
                 "--view-linger", "0", "-f", "jsonl")
    assert 0 == proc.returncode, proc.stderr
    assert 3 == len(proc.stdout.splitlines())


def test_sync_between_epochs_refuses_an_async_runner(core):
    """``between_epochs()`` on an ``AsyncRunner`` says to await ``between_epochs_async()``."""
    runner = AsyncRunner(Tube.from_specification(CHAIN), core=core)
    with pytest.raises(TypeError, match="call `await view.between_epochs_async\\(\\)` instead"):
        Control().between_epochs(runner)


def test_port_in_use_is_one_clear_error(core):
    """A taken port is an ``OSError`` naming host and port and the fix; the runner is left unobserved."""
    _server_stack()
    import noob.view

    runner = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
    with noob.view.attached(runner, port=0) as first:
        other = SynchronousRunner(Tube.from_specification(CHAIN), core=core)
        with pytest.raises(OSError, match=f"cannot serve the live view on 127.0.0.1:{first.port}: .*choose another port"):
            noob.view.serve(other, port=first.port)
        assert () == other._observers


def test_noob_run_view_names_a_bad_signal():
    """``--view-signal`` naming a missing signal is a usage error that lists the node's signals."""
    _server_stack()
    proc = _noob("run", str(CAMERA), "-n", "1", "--view", "0", "--view-signal", "camera.img")
    assert 2 == proc.returncode
    assert "--view-signal 'camera.img': node 'camera' has no signal 'img' (signals: frame, index)" in proc.stderr
