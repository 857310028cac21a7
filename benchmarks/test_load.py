"""Loading + validating a chain of N nodes from a YAML file (issue 2, Performance).

- ``hand``: ``yaml.load(f, Loader=yaml.CSafeLoader)`` of the same file — the pure parse cost;
- ``compiled`` / ``python``: ``Tube.from_specification(path)`` (parse, validate, resolve the
  callables, check the graph) followed by ``tube.plan(core)`` (the tables that core runs),
  i.e. everything a runner needs before ``init()``.

The 100 000-node case runs a single round (a few seconds per implementation, most of it
YAML parsing). 10 000 and 100 000 are marked ``slow_load`` (deselect with
``-m "not slow_load"``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from noob import Tube

SIZES = (100, 1_000, 10_000, 100_000)
SINGLE_ROUND = 100_000


def write_chain_yaml(path: Path, n: int) -> Path:
    lines = [f"noob_id: chain{n}", "nodes:", "  src:", "    type: benchmarks.nodes.count_source"]
    prev = "src.index"
    for i in range(n):
        lines += [f"  n{i}:", "    type: benchmarks.nodes.plus1", f"    depends: {prev}"]
        prev = f"n{i}.value"
    lines += ["  ret:", "    type: return", f"    depends: {prev}"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory):
    """``chain_file(n)``: path of a YAML chain of ``n`` nodes, written once per module."""
    files: dict[int, Path] = {}
    root = tmp_path_factory.mktemp("load")

    def get(n: int) -> Path:
        if n not in files:
            files[n] = write_chain_yaml(root / f"chain{n}.yaml", n)
        return files[n]

    return get


def _param(n: int):
    marks = [pytest.mark.benchmark(group=f"load-chain{n}")]
    if n >= 10_000:
        marks.append(pytest.mark.slow_load)
    return pytest.param(n, marks=marks, id=str(n))


@pytest.mark.parametrize("n", [_param(n) for n in SIZES])
def test_load_chain(bench, impl, chain_file, n):
    bench.extra_info["N"] = n
    path = chain_file(n)

    if impl == "hand":

        def load():
            with open(path, "rb") as f:
                return yaml.load(f, Loader=yaml.CSafeLoader)

    else:

        def load():
            tube = Tube.from_specification(path)
            tube.plan(impl)
            return tube

    if n >= SINGLE_ROUND:
        result = bench.pedantic(load, rounds=1, iterations=1)
    else:
        result = bench(load)

    if impl == "hand":
        assert len(result["nodes"]) == n + 2
    else:
        plan = result.plan(impl)
        assert len(result.nodes) == n + 2
        assert len(plan.node_ids) == n + 2
