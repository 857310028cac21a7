"""The core's kernels: both implementations agree, results are deterministic."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from noob import _core


def random_dag(seed: int, n: int = 60, m: int = 150) -> tuple[int, list[int], list[int]]:
    rng = random.Random(seed)
    src, dst = [], []
    for _ in range(m):
        a, b = sorted(rng.sample(range(n), 2))
        src.append(a)
        dst.append(b)
    perm = list(range(n))
    rng.shuffle(perm)  # so ids are not already in topological order
    return n, [perm[s] for s in src], [perm[d] for d in dst]


@pytest.mark.parametrize("seed", range(20))
def test_kernels_match_the_oracle(core, seed):
    """csr, toposort, find_cycle and reachable give the pure-Python oracle's results."""
    impl, oracle = _core.get(core), _core.get("python")
    n, src, dst = random_dag(seed)
    ip, ix = impl.csr(n, src, dst)
    oip, oix = oracle.csr(n, src, dst)
    assert oip.tolist() == ip.tolist() and oix.tolist() == ix.tolist()
    order, gen, ok = impl.toposort(n, ip, ix)
    oorder, ogen, ook = oracle.toposort(n, oip, oix)
    assert (oorder.tolist(), ogen.tolist(), ook) == (order.tolist(), gen.tolist(), ok)
    position = {int(v): k for k, v in enumerate(order)}
    assert all(position[s] < position[d] for s, d in zip(src, dst))
    assert [] == impl.find_cycle(n, ip, ix)
    assert oracle.reachable(n, oip, oix, 0).tolist() == impl.reachable(n, ip, ix, 0).tolist()


def test_cycle_found(core):
    """find_cycle spells out a cycle; toposort reports it is not ok."""
    impl = _core.get(core)
    ip, ix = impl.csr(4, [0, 1, 2, 3], [1, 2, 1, 0])
    assert [1, 2, 1] == impl.find_cycle(4, ip, ix)
    assert False is impl.toposort(4, ip, ix)[2]


def test_generations_of_a_diamond(core):
    """A -> B, A -> C, B -> D, C -> D sorts as A; B, C; D."""
    impl = _core.get(core)
    ip, ix = impl.csr(4, [0, 0, 1, 2], [1, 2, 3, 3])
    order, gen, ok = impl.toposort(4, ip, ix)
    assert ([0, 1, 2, 3], [0, 1, 1, 2], True) == (order.tolist(), gen.tolist(), ok)


def test_order_independent_of_hash_seed():
    """The execution order of a tube is the same under different PYTHONHASHSEED values."""
    script = textwrap.dedent(
        """
        from noob import Tube
        nodes = {"src": {"type": "noob.testing.count_source"}}
        for i in range(30):
            deps = ["src.index"] + [f"n{j}.value" for j in range(max(0, i - 3), i) if (i * j) % 3]
            nodes[f"n{i}"] = {"type": "noob.testing.zip_iter", "depends": deps}
        tube = Tube.from_specification({"noob_id": "h", "nodes": nodes})
        print(tube.plan("python").order.tolist())
        """
    )
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout)
    assert 1 == len(outs)


def test_implementation_switch():
    """IMPLEMENTATION names the active core; get() returns either twin."""
    assert _core.IMPLEMENTATION in ("compiled", "python")
    assert "python" == _core.get("python").IMPLEMENTATION
    with pytest.raises(ValueError):
        _core.get("rust")


def test_pure_python_env_switch():
    """NOOB_PUREPYTHON=1 selects the pure-Python core."""
    out = subprocess.run(
        [sys.executable, "-c", "import noob._core as c; print(c.IMPLEMENTATION)"],
        capture_output=True, text=True, env={**os.environ, "NOOB_PUREPYTHON": "1"}, check=True,
    ).stdout.strip()
    assert "python" == out


def test_require_compiled_reports_missing_extension(tmp_path):
    """NOOB_REQUIRE_COMPILED=1 turns a missing extension into an ImportError, not a fallback."""
    import shutil
    from pathlib import Path

    import noob

    pkg = Path(noob.__file__).parent
    shutil.copytree(pkg, tmp_path / "noob", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    result = subprocess.run(
        [sys.executable, "-c", "import noob._core"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "NOOB_REQUIRE_COMPILED": "1", "NOOB_PUREPYTHON": "", "PYTHONPATH": str(tmp_path)},
    )
    assert 0 != result.returncode
    assert "NOOB_REQUIRE_COMPILED" in result.stderr


def test_dispatcher_tables_match(core):
    """A plan's tables are identical whichever core built them."""
    from noob import Tube

    t = Tube.from_specification({"noob_id": "x", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "b": {"type": "noob.testing.multiply", "depends": [{"left": "a.index"}]},
        "r": {"type": "return", "depends": [{"v": "b.value"}, {"w": "a.index"}]},
    }})
    mine, oracle = t.plan(core).tables, t.plan("python").tables
    for key in mine:
        a, b = mine[key], oracle[key]
        assert (list(b) if not isinstance(b, np.ndarray) else b.tolist()) == (list(a) if not isinstance(a, np.ndarray) else a.tolist())
