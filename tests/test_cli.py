"""The ``noob`` command line, end to end: every subcommand through the installed console script.

Each test runs ``noob`` in a subprocess (the console script if installed, else ``python -m
noob``) on the tubes in ``tests/data/cli`` (their nodes are ``tests/data/cli/cli_nodes.py``,
importable because the CLI puts a tube file's directory on ``sys.path``) and the example
tube. The subprocess inherits ``NOOB_PUREPYTHON``, so CI runs these on both cores.

The HTML view is loaded in a real headless Chromium (Debian's ``chromium``): the rendered DOM
must contain every node of the tube, and a screenshot is kept in ``artifacts/``. Without
Chromium the test is skipped — except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from noob.cli.common import parse_value

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(__file__).resolve().parent / "data" / "cli"
SENSOR = ROOT / "examples" / "sensor.yaml"
ARTIFACTS = ROOT / "artifacts"
IN_CI = bool(os.environ.get("CI"))

_SCRIPT = shutil.which("noob")
NOOB = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "noob"]


def noob(*args: object, stdin: str = "", timeout: float = 120, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``noob *args`` with ``stdin`` piped in (``env``: variables to set); the completed process (text mode)."""
    return subprocess.run(
        [*NOOB, *map(str, args)], input=stdin, capture_output=True, check=False, text=True, timeout=timeout, cwd=cwd or ROOT,
        env={**os.environ, **env} if env else None,
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_clean_error(proc: subprocess.CompletedProcess, code: int = 1) -> None:
    """One message on stderr, nothing on stdout, no traceback."""
    assert (code, "") == (proc.returncode, proc.stdout), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr


# --------------------------------------------------------------------------- the command itself


def test_console_script_installed():
    """``pip install`` creates the ``noob`` console script (required in CI)."""
    if _SCRIPT is None:
        if IN_CI:
            pytest.fail("the noob console script is not on PATH; `pip install -e .` should create it")
        pytest.skip("noob console script not installed; tests use `python -m noob`")
    proc = noob("--version")
    assert (0, True) == (proc.returncode, proc.stdout.startswith("noob "))


def test_python_dash_m():
    """``python -m noob`` is the same command."""
    proc = subprocess.run([sys.executable, "-m", "noob", "run", SENSOR, "-n", "2", "-f", "json"], input="",
                          capture_output=True, check=False, text=True, timeout=120)
    assert 0 == proc.returncode, proc.stderr
    assert 2 == len(json.loads(proc.stdout))


def test_help_lists_subcommands():
    """``noob --help`` names the four subcommands."""
    proc = noob("--help")
    assert 0 == proc.returncode
    for name in ("run", "validate", "show", "bench"):
        assert name in proc.stdout


def test_usage_error_exit_2():
    """An unknown subcommand or option is a usage error: exit code 2."""
    assert 2 == noob("frobnicate").returncode
    assert 2 == noob("run", SENSOR, "-n", "many").returncode


def test_cli_is_not_imported_by_noob():
    """``import noob`` loads neither ``noob.cli`` nor the progress-bar library."""
    code = "import sys, noob; print(sorted(m for m in sys.modules if m.startswith(('noob.cli', 'tqdm', 'argparse'))))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False, text=True, timeout=120)
    assert "[]" == proc.stdout.strip(), proc.stderr


# --------------------------------------------------------------------------- noob run


def test_run_example_text():
    """``noob run examples/sensor.yaml -n 5`` prints five readable lines and a summary."""
    proc = noob("run", SENSOR, "-n", 5)
    assert 0 == proc.returncode, proc.stderr
    out = lines(proc.stdout)
    assert 5 == len(out)
    assert out[0].split()[0] == "0" and "mean=" in out[0] and "high=" in out[0]
    assert "5 epochs" in proc.stderr


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_run_formats(fmt):
    """json is one array at the end, jsonl one value per line."""
    proc = noob("run", CLI / "basic.yaml", "-n", 4, "--format", fmt)
    assert 0 == proc.returncode, proc.stderr
    expected = [0, 1, 4, 9]
    got = json.loads(proc.stdout) if fmt == "json" else [json.loads(x) for x in lines(proc.stdout)]
    assert expected == got


def test_run_until_sources_run_out():
    """Without ``-n`` a finite tube runs until its source is exhausted, then stops cleanly."""
    proc = noob("run", SENSOR, "-f", "jsonl")
    assert 0 == proc.returncode, proc.stderr
    results = [json.loads(x) for x in lines(proc.stdout)]
    assert 50 == len(results)
    assert {"sample", "mean", "high"} == set(results[0])
    assert "sources ran out" in proc.stderr


def test_run_zero_epochs():
    """``-n 0`` runs nothing."""
    proc = noob("run", CLI / "basic.yaml", "-n", 0, "-f", "json")
    assert (0, []) == (proc.returncode, json.loads(proc.stdout))


def test_run_quiet():
    """``-q`` leaves stderr empty on success."""
    proc = noob("run", CLI / "basic.yaml", "-n", 2, "-q")
    assert (0, "") == (proc.returncode, proc.stderr)


def test_run_tube_input():
    """``-i start=7`` gives a tube-scoped input; the value is parsed (``0x10`` as a literal)."""
    assert [7, 8, 9] == json.loads(noob("run", CLI / "tube_input.yaml", "-i", "start=7", "-n", 3, "-f", "json").stdout)
    assert [16, 17] == json.loads(noob("run", CLI / "tube_input.yaml", "-i", "start=0x10", "-n", 2, "-f", "json").stdout)


def test_run_tube_input_missing():
    """A required tube input that is not given: one message naming the ``-i`` to add."""
    proc = noob("run", CLI / "tube_input.yaml", "-n", 1)
    assert_clean_error(proc)
    assert "-i start=VALUE" in proc.stderr


def test_run_process_inputs_from_stdin():
    """Process inputs come one JSON object per line (a line may hold an array of them)."""
    stdin = '{"right": 2}\n[{"right": 3}, {"right": 4}]\n\n{"right": 5}\n'
    proc = noob("run", CLI / "process_input.yaml", "-i", "offset=100", "-f", "json", stdin=stdin)
    assert 0 == proc.returncode, proc.stderr
    assert [100, 103, 108, 115] == json.loads(proc.stdout)


def test_run_process_inputs_stop_at_n():
    """``-n`` stops before standard input ends."""
    proc = noob("run", CLI / "process_input.yaml", "-n", 2, "-f", "json", stdin='{"right": 1}\n' * 10)
    assert [0, 1] == json.loads(proc.stdout)


def test_run_process_input_constant():
    """``-i`` for a process-scoped input gives the same value to every epoch."""
    proc = noob("run", CLI / "process_input.yaml", "-i", "right=7", "-n", 3, "-f", "json")
    assert [0, 7, 14] == json.loads(proc.stdout)


def test_run_process_input_missing():
    """A required process input with nothing on stdin: say how to pipe it."""
    proc = noob("run", CLI / "process_input.yaml", "-n", 2)
    assert_clean_error(proc)
    assert "standard input" in proc.stderr and '{"right": 1}' in proc.stderr


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ('{"right": 2}\n{oops\n', "line 2: not valid JSON"),
        ("5\n", "line 1: expected a JSON object"),
        ('["a"]\n', "line 1: expected a JSON object"),
    ],
)
def test_run_bad_json_on_stdin(stdin, expected):
    """Bad JSON on stdin: one message with the line number, exit 1, runner deinitialised."""
    proc = noob("run", CLI / "process_input.yaml", "-f", "jsonl", stdin=stdin)
    assert 1 == proc.returncode
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_missing_file():
    """A tube file that does not exist: one message, exit 1."""
    proc = noob("run", CLI / "no-such-tube.yaml")
    assert_clean_error(proc)
    assert "no-such-tube.yaml" in proc.stderr


def test_run_unknown_id():
    """A noob_id that no config source has: one message, exit 1."""
    proc = noob("run", "no-such-tube-id")
    assert_clean_error(proc)
    assert "no-such-tube-id" in proc.stderr


def test_run_invalid_tube():
    """An invalid tube: every problem with its YAML path, exit 1, no traceback."""
    proc = noob("run", CLI / "invalid.yaml")
    assert_clean_error(proc)
    for path in ("nodes.b.depends[0]", "nodes.c.type", "nodes.d.params.ofset"):
        assert path in proc.stderr


@pytest.mark.parametrize(("value", "expected"), [("foo", "KEY=VALUE"), ("=3", "KEY=VALUE"), ("1x=2", "not an input id")])
def test_run_bad_input_option(value, expected):
    """A malformed ``-i`` is a usage error (exit 2)."""
    proc = noob("run", CLI / "tube_input.yaml", "-i", value)
    assert_clean_error(proc, code=2)
    assert expected in proc.stderr


def test_run_unknown_input_option():
    """``-i`` naming an input the tube does not declare: exit 1, the declared inputs listed."""
    proc = noob("run", CLI / "tube_input.yaml", "-i", "start=1", "-i", "stop=3")
    assert_clean_error(proc)
    assert "no input 'stop'" in proc.stderr and "start (tube scope)" in proc.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", 7), ("-1.5", -1.5), ("[1, 2]", [1, 2]), ('{"a": 1}', {"a": 1}), ("true", True), ("True", True),
        ("null", None), ("None", None), ("'a b'", "a b"), ("(1, 2)", (1, 2)), ("cam0", "cam0"), ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_parse_value(raw, expected):
    """``-i`` values: JSON, else a Python literal, else the string."""
    assert expected == parse_value(raw)


def test_run_node_error():
    """A node that raises: results so far are printed, then one message naming node and epoch."""
    proc = noob("run", CLI / "failing.yaml", "-f", "jsonl")
    assert 1 == proc.returncode
    assert ["0", "1"] == lines(proc.stdout)
    assert "ValueError: value 2 is too large" in proc.stderr
    assert "node 'b'" in proc.stderr and "epoch 2" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_node_error_debug():
    """``--debug`` shows the traceback."""
    proc = noob("run", CLI / "failing.yaml", "--debug")
    assert 1 == proc.returncode
    assert "Traceback" in proc.stderr and "ValueError" in proc.stderr


def test_run_result_not_json():
    """A result JSON cannot encode: one message suggesting ``--format text``; text works."""
    proc = noob("run", CLI / "opaque.yaml", "-n", 2, "-f", "jsonl")
    assert 1 == proc.returncode
    assert "not JSON-serialisable" in proc.stderr and "--format text" in proc.stderr
    assert 0 == noob("run", CLI / "opaque.yaml", "-n", 2).returncode


def test_run_no_progress_bar_when_piped():
    """stderr is a pipe here: no progress bar, only the summary line."""
    proc = noob("run", CLI / "basic.yaml", "-n", 50)
    assert ["noob run: 50 epochs, 50 results"] == [x.split(" of tube")[0] for x in lines(proc.stderr)]
    assert "\r" not in proc.stderr


def test_run_progress_bar_on_terminal():
    """With stderr on a terminal and ``-n`` given, a progress bar is drawn there (tqdm)."""
    pytest.importorskip("tqdm")
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    try:
        proc = subprocess.run([*NOOB, "run", str(CLI / "basic.yaml"), "-n", "3", "-f", "json"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=slave, timeout=120, cwd=ROOT, check=False)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    tty = b"".join(chunks).decode(errors="replace")
    assert 0 == proc.returncode
    assert [0, 1, 4] == json.loads(proc.stdout)
    assert "%|" in tty, tty


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_run_ctrl_c_stops_cleanly(tmp_path, runner):
    """Ctrl-C: the runner is deinitialised (the node's deinit runs), the epochs run are
    reported, partial results stay printed, exit code 130."""
    marker = tmp_path / "deinit"
    proc = subprocess.Popen([*NOOB, "run", str(CLI / "endless.yaml"), "-i", f"marker={marker}", "-f", "jsonl",
                             "--runner", runner],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        seen = [proc.stdout.readline() for _ in range(3)]
        assert all(seen), proc.stderr.read() if proc.poll() is not None else seen
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert 130 == proc.returncode, err
    assert "done" == marker.read_text()
    m = re.search(r"interrupted after (\d+) epochs", err)
    assert m is not None, err
    assert int(m.group(1)) >= 3
    assert "Traceback" not in err
    assert int(m.group(1)) == len(seen) + len(lines(out))


def test_run_async_runner():
    """``--runner async`` gives the same results as the sync runner."""
    proc = noob("run", CLI / "basic.yaml", "-n", 4, "--runner", "async", "-f", "json")
    assert 0 == proc.returncode, proc.stderr
    assert [0, 1, 4, 9] == json.loads(proc.stdout)
    proc = noob("run", CLI / "process_input.yaml", "--runner", "async", "-f", "json", stdin='{"right": 2}\n{"right": 3}\n')
    assert [0, 3] == json.loads(proc.stdout)


# --------------------------------------------------------------------------- noob validate


def test_validate_ok():
    """Valid tubes: exit 0, one ``ok`` line each (required tube inputs need not be given)."""
    proc = noob("validate", SENSOR, CLI / "basic.yaml", CLI / "tube_input.yaml")
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    assert 3 == sum(": ok (" in x for x in lines(proc.stdout))


def test_validate_reports_every_problem():
    """Every problem on its own line: file, YAML path, message, fix; the other files still checked."""
    bad = CLI / "invalid.yaml"
    proc = noob("validate", bad, SENSOR, CLI / "missing.yaml")
    assert 1 == proc.returncode
    out = lines(proc.stdout)
    expected = {
        f"{bad}: nodes.b.depends[0]: 'a.idx': node 'a' has no signal 'idx' (signals: 'index') -- fix: use 'index'",
        (f"{bad}: nodes.d.params.ofset: mul_add has no parameter 'ofset' (parameters: 'left', 'right', 'offset') "
         "-- fix: use 'offset'"),
    }
    assert expected <= set(out)
    assert any(x.startswith(f"{bad}: nodes.c.type: cannot resolve 'cli_nodes.squaree'") and "-- fix:" in x for x in out)
    assert any(x.startswith(f"{SENSOR}: ok") for x in out)
    assert any(x.startswith(f"{CLI / 'missing.yaml'}: no tube file") for x in out)
    assert "Traceback" not in proc.stderr


def test_validate_json():
    """``--format json``: one report per file with its problems as data."""
    proc = noob("validate", "-f", "json", CLI / "invalid.yaml", SENSOR)
    assert 1 == proc.returncode
    reports = json.loads(proc.stdout)
    assert [False, True] == [r["ok"] for r in reports]
    assert ["nodes.b.depends[0]", "nodes.c.type", "nodes.d.params.ofset"] == [p["path"] for p in reports[0]["problems"]]
    assert "use 'offset'" == reports[0]["problems"][2]["fix"]


def test_validate_warnings_and_strict():
    """A warning (RaceWarning) is printed but passes; ``--strict`` makes it fail."""
    proc = noob("validate", CLI / "race.yaml")
    assert 0 == proc.returncode
    assert "warning: " in proc.stdout and "'p' and 'q'" in proc.stdout
    assert 1 == noob("validate", "--strict", CLI / "race.yaml").returncode


def test_validate_needs_a_file():
    """``noob validate`` without a file is a usage error."""
    assert 2 == noob("validate").returncode


# --------------------------------------------------------------------------- noob show


def _node_ids(path: Path) -> list[str]:
    import yaml

    return list(yaml.safe_load(path.read_text())["nodes"])


def test_show_mermaid():
    """mermaid (the default on stdout): every node, input and asset, the round trip as a back edge."""
    proc = noob("show", CLI / "graph.yaml")
    assert 0 == proc.returncode, proc.stderr
    text = proc.stdout
    assert text.startswith("flowchart LR\n")
    for node_id in _node_ids(CLI / "graph.yaml"):
        assert f"  n_{node_id}[" in text
    assert 'i_right[/"<b>right</b><br/>int<br/><i>process-scoped input, default 3</i>"/]' in text
    assert "runner-scoped asset" in text and "node-scoped asset" in text
    assert 'n_push -.->|"window ⟲ next epoch"| a_window' in text
    assert 'n_source -->|"index → left"| n_scaled' in text
    assert "class n_unused disabled" in text


def test_show_dot(tmp_path):
    """dot (chosen by the ``.dot`` suffix): a digraph with ports; Graphviz renders it if installed."""
    out = tmp_path / "graph.dot"
    proc = noob("show", CLI / "graph.yaml", "-o", out)
    assert 0 == proc.returncode, proc.stderr
    text = out.read_text()
    assert text.startswith('digraph "cli-graph" {')
    for node_id in _node_ids(CLI / "graph.yaml"):
        assert f'"node:{node_id}" [label=<' in text
    assert '"node:push":"o1":e -> "asset:window":"i0":w' in text and "constraint=false" in text
    if shutil.which("dot"):
        render = subprocess.run(["dot", "-Tsvg", str(out)], capture_output=True, check=False, text=True, timeout=60)
        assert (0, "") == (render.returncode, render.stderr)


def test_show_html_is_self_contained(tmp_path):
    """html: one file, every node drawn with ``data-node``, nothing fetched from a network."""
    out = tmp_path / "graph.html"
    proc = noob("show", CLI / "graph.yaml", "-o", out)
    assert 0 == proc.returncode, proc.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for node_id in _node_ids(CLI / "graph.yaml"):
        assert f'data-node="{node_id}"' in page
    assert 'data-input="right"' in page and 'data-asset="window"' in page
    assert re.search(r"""(src|href)\s*=|@import|url\(\s*['"]?(https?:)?//""", page) is None
    assert "http" not in page


def test_show_errors(tmp_path):
    """show: missing file, invalid tube, unwritable output — one message, exit 1."""
    assert_clean_error(noob("show", CLI / "missing.yaml"))
    assert_clean_error(noob("show", CLI / "invalid.yaml"))
    assert_clean_error(noob("show", SENSOR, "-o", tmp_path / "no" / "such" / "dir" / "x.html"))
    assert 2 == noob("show", SENSOR, "--format", "gif").returncode


def test_show_unknown_suffix_is_refused(tmp_path):
    """An output suffix noob cannot draw is refused with the known ones, not written as mermaid."""
    out = tmp_path / "graph.jpeg"
    proc = noob("show", SENSOR, "-o", out)
    assert_clean_error(proc)
    assert "'.jpeg'" in proc.stderr and ".png" in proc.stderr and "--format" in proc.stderr
    assert not out.exists()


def _need_dot() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Graphviz's dot (.ci/run installs graphviz)")
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_show_renders_with_graphviz(tmp_path, suffix, magic):
    """``-o graph.png`` / ``.svg`` / ``.pdf`` is drawn by Graphviz: the file is a real image of that kind."""
    _need_dot()
    out = tmp_path / f"graph{suffix}"
    proc = noob("show", CLI / "graph.yaml", "-o", out)
    assert 0 == proc.returncode, proc.stderr
    data = out.read_bytes()
    assert magic == data[: len(magic)]
    if suffix == ".svg":
        assert b"push" in data and b"<svg" in data


def test_show_png_without_graphviz_is_a_clear_error(tmp_path):
    """Without ``dot`` on PATH, drawing a png is one clear error naming Graphviz, exit 1."""
    proc = noob("show", SENSOR, "-o", tmp_path / "g.png", env={"PATH": str(tmp_path)})
    assert_clean_error(proc)
    assert "graphviz" in proc.stderr.lower()


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, check=False, text=True, timeout=180)


@pytest.mark.parametrize("tube", [SENSOR, CLI / "graph.yaml"], ids=["sensor", "graph"])
def test_show_html_in_chromium(tube, tmp_path):
    """The page renders in headless Chromium with every node in the DOM; a screenshot is kept."""
    chromium = _chromium()
    if chromium is None:
        if IN_CI:
            pytest.fail("chromium is not installed; CI must `apt-get install -y chromium`")
        pytest.skip("chromium not installed (apt-get install chromium)")
    page = tmp_path / f"{tube.stem}.html"
    assert 0 == noob("show", tube, "-o", page).returncode
    dom = _run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert 0 == dom.returncode, dom.stderr[-2000:]
    drawn = re.findall(r'<g class="box node[^"]*" data-node="([^"]+)"', dom.stdout)
    assert sorted(_node_ids(tube)) == sorted(drawn)
    assert re.search(r'<button id="fit" type="button"[^>]*>(fit to window|actual size)</button>', dom.stdout)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"show-{tube.stem}.png"
    shot.unlink(missing_ok=True)
    snap = _run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,900",
                         page.as_uri())
    assert 0 == snap.returncode, snap.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


# --------------------------------------------------------------------------- noob bench


def test_bench_text():
    """bench: per-epoch median and p90 and a line per node with its share."""
    proc = noob("bench", SENSOR, "-n", 30)
    assert 0 == proc.returncode, proc.stderr
    out = proc.stdout
    assert "30 timed epochs" in out and "median" in out and "p90" in out
    for node_id in _node_ids(SENSOR):
        assert re.search(rf"^{node_id}\s+\S+\s+30\s", out, re.MULTILINE), out
    assert "%" in out and "(noob dispatch" in out


def test_bench_json():
    """bench --format json: every node timed on every epoch; shares and dispatch add up to 1."""
    proc = noob("bench", SENSOR, "-f", "json", "--warmup", 5)
    assert 0 == proc.returncode, proc.stderr
    rep = json.loads(proc.stdout)
    assert (46, 5, True) == (rep["epochs"], rep["warmup"], rep["exhausted"])
    calls = {r["node"]: r["calls"] for r in rep["nodes"]}
    assert {"source": 46, "smooth": 45, "alarm": 45, "out": 46} == calls  # the last epoch: source exhausted
    total = sum(r["share"] for r in rep["nodes"]) + rep["dispatch"]["share"]
    assert abs(total - 1) < 1e-9
    stats = rep["per_epoch"]
    assert 0 < stats["min_ns"] <= stats["median_ns"] <= stats["p90_ns"] <= stats["max_ns"]


def test_bench_process_inputs():
    """bench reads process inputs from stdin like run."""
    proc = noob("bench", CLI / "process_input.yaml", "-f", "json", stdin='{"right": 1}\n' * 7)
    assert 0 == proc.returncode, proc.stderr
    assert 7 == json.loads(proc.stdout)["epochs"]


def test_bench_errors():
    """bench: missing file, invalid tube, bad stdin — one message, exit 1."""
    assert_clean_error(noob("bench", CLI / "missing.yaml"))
    assert_clean_error(noob("bench", CLI / "invalid.yaml"))
    proc = noob("bench", CLI / "process_input.yaml", stdin="{nope\n")
    assert 1 == proc.returncode and "not valid JSON" in proc.stderr


def test_run_sys_path_from_other_cwd(tmp_path):
    """A tube next to its node module runs from any working directory."""
    proc = noob("run", SENSOR, "-n", 1, "-f", "json", cwd=tmp_path)
    assert 0 == proc.returncode, proc.stderr
    assert 1 == len(json.loads(proc.stdout))

