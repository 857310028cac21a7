"""The live view's page in a real browser: Playwright driving the system Chromium.

Each test starts ``noob run examples/camera.yaml --view 127.0.0.1:0`` in a subprocess (on the
core under test), opens the address it prints, and reads the page as a user would: node rates
and the epoch count rise, the picked frame renders as an image, a disabled node stops being
called, pause holds the epoch count, stop ends the run; a node that raises shows as failed with its note; on
``--runner ray`` node figures and the frame come from the actors. Playwright never
downloads a browser here: it is given ``chromium`` from ``PATH``. Without Chromium or the
``playwright`` package the tests are skipped -- except in CI (``CI`` set), where they fail.
A screenshot of each page is kept in ``artifacts/``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAMERA = ROOT / "examples" / "camera.yaml"
ARTIFACTS = ROOT / "artifacts"


def _browser_or_skip() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = [m for m in ("playwright", "starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if chromium is None or missing:
        what = ", ".join(([] if chromium else ["chromium"]) + missing)
        if os.environ.get("CI"):
            pytest.fail(f"{what} not installed; CI must install chromium, noob[view] and playwright")
        pytest.skip(f"{what} not installed (apt-get install chromium; pip install 'noob[view]' playwright)")
    return chromium


class Run:
    """``noob run`` with a live view, in a subprocess; ``url`` once it serves."""

    def __init__(self, core: str, *args: str):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "noob", "run", str(CAMERA), "--core", core, "--view", "127.0.0.1:0",
             "--view-linger", "60", "-f", "jsonl", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
        )
        self.stderr: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if " live view of tube " in line:
                self.url = line.rsplit(" at ", 1)[1].split()[0]
                break
        else:
            raise AssertionError("noob run --view did not start:\n" + "".join(self.stderr))
        # keep reading: a full pipe would block the run (Ray logs to stderr as it goes)
        self._reader = threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True)
        self._reader.start()

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end; its exit code (the rest of stderr is kept)."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def page() -> Iterator[Any]:
    """A Playwright page in the system Chromium (headless)."""
    chromium = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1100})
        finally:
            browser.close()


def _until(check: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _number(page: Any, selector: str) -> float:
    text = page.inner_text(selector).strip()
    return float(text) if text not in ("", "–") else 0.0


def test_page_shows_rates_a_frame_and_pause_holds_the_epochs(page, core):
    """Rates rise, the frame renders, disable / enable works, pause holds the epochs, stop ends the run."""
    run = Run(core, "--view-signal", "camera.frame", "--view-signal", "brightness.mean")
    try:
        page.goto(run.url)
        _until(lambda: _number(page, "#epochs") > 5, what="epochs to rise")
        first = _number(page, "#epochs"), _number(page, "#nodes tr[data-node='camera'] .calls")
        _until(lambda: _number(page, "#nodes tr[data-node='camera'] .rate") > 1, what="the camera's rate")
        time.sleep(1.0)
        later = _number(page, "#epochs"), _number(page, "#nodes tr[data-node='camera'] .calls")
        assert later[0] > first[0] and later[1] > first[1]
        assert _number(page, "#rate") > 1
        assert "idle" in page.get_attribute("#canvas g.box.node[data-node='brightness']", "class") or \
            "running" in page.get_attribute("#canvas g.box.node[data-node='brightness']", "class")
        assert "Hz" in page.text_content("#canvas g.box.node[data-node='camera'] text.type")
        image = "#values .value[data-signal='camera.frame'][data-kind='image'] canvas.image"
        page.wait_for_selector(image, timeout=20_000)
        size, lit = page.eval_on_selector(image, """c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) lit++;
            return [[c.width, c.height], lit]; }""")
        assert [214, 160] == size  # 480 x 640 read at every 3rd pixel
        assert lit > 100  # the bright spot is drawn
        page.wait_for_selector("#values .value[data-signal='brightness.mean'][data-kind='plot']", timeout=20_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"view-{core}.png"), full_page=True)

        toggle = "#nodes tr[data-node='profile'] .toggle"
        page.click(toggle)
        _until(lambda: page.inner_text("#nodes tr[data-node='profile'] .state") == "disabled", what="profile disabled")
        assert "st-disabled" in page.get_attribute("#canvas g.box.node[data-node='profile']", "class")
        calls = _number(page, "#nodes tr[data-node='profile'] .calls")
        time.sleep(0.5)
        assert calls == _number(page, "#nodes tr[data-node='profile'] .calls")
        page.click(toggle)
        _until(lambda: _number(page, "#nodes tr[data-node='profile'] .calls") > calls, what="profile enabled again")

        page.click("#pause")
        _until(lambda: page.inner_text("#state") == "paused", what="the paused state")
        held = _number(page, "#epochs")
        time.sleep(1.0)
        assert held == _number(page, "#epochs")
        page.click("#resume")
        _until(lambda: _number(page, "#epochs") > held, what="epochs to rise after resume")
        page.click("#stop")
        assert 0 == run.finish()
        assert "stopped from the live view" in "".join(run.stderr)
    finally:
        run.kill()


def test_failing_node_shows_failed_with_its_note(page, core):
    """A node that raises turns red; the error panel names it, the epoch and the runner's note."""
    run = Run(core, "-i", "fail_at=12")
    try:
        page.goto(run.url)
        row = "#nodes tr[data-node='check']"
        _until(lambda: page.inner_text(f"{row} .state") == "failed", what="check to show failed")
        assert "st-failed" in page.get_attribute("#canvas g.box.node[data-node='check']", "class")
        assert "failed" == page.inner_text("#state")
        error = page.inner_text("#errors li[data-node='check']")
        assert "check in epoch 12: RuntimeError: frame 12 failed the check" in error
        assert "raised by node 'check' in epoch 12 of tube 'example-camera'" in error
        assert "idle" == page.inner_text("#nodes tr[data-node='camera'] .state")
        page.click("#stop")  # labelled "close" once the run is over
        assert 1 == run.finish()
        assert "RuntimeError: frame 12 failed the check" in "".join(run.stderr)
    finally:
        run.kill()


def test_ray_runner_shows_node_rates_and_a_frame(page):
    """On ``--runner ray`` the nodes run in Ray actors: their calls, rates and latencies and
    the picked frame still reach the page (replayed from the actors)."""
    run = Run("compiled", "--runner", "ray", "--view-signal", "camera.frame")
    try:
        page.goto(run.url)
        calls = "#nodes tr[data-node='camera'] .calls"
        _until(lambda: _number(page, calls) > 5, timeout=60, what="the camera's calls (Ray starting)")
        _until(lambda: _number(page, "#nodes tr[data-node='brightness'] .rate") > 1, what="brightness's rate")
        first = _number(page, calls)
        time.sleep(1.0)
        assert _number(page, calls) > first
        assert _number(page, "#nodes tr[data-node='brightness'] .p50") > 0
        image = "#values .value[data-signal='camera.frame'][data-kind='image'] canvas.image"
        page.wait_for_selector(image, timeout=20_000)
        assert [214, 160] == page.eval_on_selector(image, "c => [c.width, c.height]")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "view-ray.png"), full_page=True)
        page.click("#stop")
        assert 0 == run.finish(60)
    finally:
        run.kill()
