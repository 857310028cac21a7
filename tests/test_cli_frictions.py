"""The command line as a newcomer meets it: node modules in the current directory, copy warnings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = shutil.which("noob")

TUBE = """\
noob_id: cwd-nodes
nodes:
  a:
    type: noob.testing.count_source
  b:
    type: mynodes.triple
    depends: a.index
  r:
    type: return
    depends: b.value
"""


def _env() -> dict[str, str]:
    # noob itself importable (a source tree); the current directory deliberately not on the path
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("how", ["script", "module"])
def test_node_modules_in_the_current_directory(tmp_path: Path, how: str) -> None:
    """``noob run`` and ``python -m noob run`` both import ``mynodes`` from the current directory."""
    if how == "script" and SCRIPT is None:
        pytest.fail("the `noob` console script is not installed (pip install -e .)")
    (tmp_path / "mynodes.py").write_text("def triple(x: int) -> int:\n    return 3 * x\n")
    (tmp_path / "tubes").mkdir()
    (tmp_path / "tubes" / "t.yaml").write_text(TUBE)  # not beside the module: only the cwd has it
    cmd = [SCRIPT] if how == "script" else [sys.executable, "-m", "noob"]
    proc = subprocess.run([*cmd, "run", "tubes/t.yaml", "-n", "3"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert 0 == proc.returncode, proc.stderr
    assert ["0", "3", "6"] == [line.split()[-1] for line in proc.stdout.splitlines()]  # "<epoch> <value>"


def test_validate_warns_about_copied_runner_asset(tmp_path: Path) -> None:
    """``noob validate`` shows the AssetCopyWarning with the YAML path; ``--strict`` fails on it."""
    (tmp_path / "conn.yaml").write_text(textwrap.dedent("""\
        noob_id: conn
        assets:
          box:
            type: builtins.dict
            scope: runner
            depends: b.value
        nodes:
          a: {type: noob.testing.count_source}
          b: {type: conn_nodes.put, depends: [{box: assets.box}, {index: a.index}]}
          c: {type: conn_nodes.size, depends: [b.value]}
        """))
    (tmp_path / "conn_nodes.py").write_text(
        "def put(box: dict, index: int) -> dict:\n    box[index] = index\n    return box\n\n"
        "def size(box: dict) -> int:\n    return len(box)\n"
    )
    cmd = [sys.executable, "-m", "noob", "validate"]
    proc = subprocess.run([*cmd, "conn.yaml"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    assert ("conn.yaml: assets.box.depends: warning: runner asset 'box' is stored back from 'b.value', which node 'c' "
            "(nodes.c.depends[0]) also reads, so noob deep-copies the value into the asset every epoch") in proc.stdout
    as_json = subprocess.run([*cmd, "-f", "json", "conn.yaml"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=120)
    (problem,) = json.loads(as_json.stdout)[0]["problems"]
    assert ("warning", "AssetCopyWarning", "assets.box.depends") == (problem["severity"], problem["kind"], problem["path"])
    strict = subprocess.run([*cmd, "--strict", "conn.yaml"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert 1 == strict.returncode
