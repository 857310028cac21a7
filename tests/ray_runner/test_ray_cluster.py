"""RayRunner on a two-node Ray cluster started on this machine (``pytest -m cluster``).

The test starts a head node (``ray start --head``, custom resource ``first``) and a second
node joining it (``ray start --address=...``, custom resource ``second``), each with one CPU,
bound to 127.0.0.1 and with their own temporary directory and ports; places one group on
each node through ``resources=``; and compares a driver's ``RayRunner(tube, address="auto")``
results with ``SynchronousRunner``'s ("auto" finds the cluster through ``RAY_ADDRESS``, as
it does on a machine where ``ray start`` ran). The driver is a separate process (this session already
has its own local Ray). Both nodes are stopped at the end, also when the test fails: their
``ray start --block`` processes are signalled by id, then their process groups killed.

Ray refuses a second node on one machine unless it believes it may form a cluster, and then
binds to the machine's network address: the second node is started with that check allowed
for the ``ray start`` command alone, so every server of both nodes stays on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
STARTUP_S = 90.0

# ``ray start`` with the one-machine check allowed for the CLI only (see the module docstring)
START_SECOND_NODE = """
import sys, types
import ray._private.ray_constants as real
import ray.scripts.scripts as scripts

class _Allowed(types.ModuleType):
    def __getattr__(self, name):
        return getattr(real, name)

allowed = _Allowed("ray_constants")
allowed.ENABLE_RAY_CLUSTER = True
scripts.ray_constants = allowed
sys.argv = ["ray", "start", *sys.argv[1:]]
scripts.main()
"""

DRIVER = """
import json, sys, warnings
import ray
from noob import SynchronousRunner, Tube
from noob.runner.ray import RayRunner

address, spec = sys.argv[1], json.loads(sys.argv[2])
expected = SynchronousRunner(Tube.from_specification(spec)).run(8)
runner = RayRunner(Tube.from_specification(spec), address=address, timeout=60,
                   resources={"one": {"resources": {"first": 1}}, "two": {"resources": {"second": 1}}})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    runner.init()
compiled = runner._graph is not None
actual = runner.run(8)
nodes = {g: ray.get(a.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id()), timeout=60)
         for g, a in runner.actors.items()}
runner.deinit()
print("RESULT " + json.dumps({"expected": expected, "actual": actual, "nodes": nodes, "compiled": compiled,
                              "warnings": [str(w.message) for w in caught], "cluster": len(ray.nodes())}))
"""

SPEC = {
    "noob_id": "two-nodes",
    "nodes": {
        "a": {"type": "raynodes.count", "ray": {"group": "one"}},
        "b": {"type": "raynodes.add1", "depends": "a.value", "ray": {"group": "one"}},
        "c": {"type": "raynodes.ramp", "params": {"n": 1000}, "depends": "b.value", "ray": {"group": "two"}},
        "d": {"type": "raynodes.total", "depends": "c.value", "ray": {"group": "two"}},
        "r": {"type": "return", "depends": [{"start": "b.value"}, {"summary": "d.value"}]},
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ports() -> list[str]:
    """Every port a node opens, chosen free, so this cluster meets no other Ray on the machine."""
    names = ("node-manager-port", "object-manager-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
             "metrics-export-port", "runtime-env-agent-port")
    return [f"--{name}={_free_port()}" for name in names]


def _stop(proc: subprocess.Popen) -> None:
    """Stop one ``ray start --block`` (it stops its node), then kill what is left of its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test created for the node
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path) -> Iterator[str]:
    """A head node and a second node on 127.0.0.1; yields the head's address."""
    temp_dir = tempfile.mkdtemp(prefix="noobray")  # in the system temp dir: Ray's socket paths must stay short
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(HERE), os.environ.get("PYTHONPATH", "")])}
    common = ["--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    procs: list[subprocess.Popen] = []
    logs = [tmp_path / "head.log", tmp_path / "second.log"]
    try:
        with logs[0].open("w") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", f"--port={port}", f"--temp-dir={temp_dir}",
                "--include-dashboard=false", '--resources={"first": 1}', *common, *_ports()],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        _wait_for_port(port, procs[0], logs[0])
        with logs[1].open("w") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-c", START_SECOND_NODE, f"--address={address}", '--resources={"second": 1}', *common, *_ports()],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ray start --head exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the head node did not listen on 127.0.0.1:{port} within {STARTUP_S:g} s:\n{log.read_text()[-3000:]}")


def _run_driver(address: str, tmp_path: Path) -> dict:
    """Run the driver until both nodes are in the cluster (a fresh node may take a while to join)."""
    env = {**os.environ, "RAY_ADDRESS": address,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", DRIVER, "auto", json.dumps(SPEC)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the driver failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_groups_on_two_nodes_give_the_sync_results(cluster, tmp_path):
    """Groups placed on two nodes by custom resources give SynchronousRunner's results, on a compiled graph."""
    out = _run_driver(cluster, tmp_path)
    assert 2 == out["cluster"]
    assert out["expected"] == out["actual"]
    assert 8 == len(out["actual"])
    assert out["nodes"]["one"] != out["nodes"]["two"]
    assert (True, []) == (out["compiled"], out["warnings"])
