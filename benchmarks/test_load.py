"""Loading + validating a chain of N nodes from a YAML file (issue 2, Performance).

- ``hand``: ``yaml.load(f, Loader=yaml.CSafeLoader)`` of the same file — the pure parse cost;
- ``compiled`` / ``python``: ``Tube.from_specification(path)`` (parse, validate, resolve the
  callables, check the graph) followed by ``tube.plan(core)`` (the tables that core runs),
  i.e. everything a runner needs before ``init()``.

The 100 000-node case runs a single round (a few seconds per implementation, most of it
YAML parsing). 10 000 and 100 000 are marked ``slow_load`` (deselect with
``-m "not slow_load"``).

``test_load_round_trip`` loads the same chain with a runner-scoped asset at its head and the
asset's ``depends`` round trip at its tail: every node of the chain then carries the asset, so
the asset checks (store order, race check) see N receivers. Those checks must stay linear in N
(issue 10: 6000 nodes took 4.8 s where the plain chain took 0.19 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from noob import Tube

SIZES = (100, 1_000, 10_000, 100_000)
ROUND_TRIP_SIZES = (100, 1_000, 10_000)
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


def write_round_trip_yaml(path: Path, n: int) -> Path:
    """A chain of ``n`` ``plus1`` nodes whose head takes runner asset ``total`` (``int()``, 0)
    and whose tail's value is stored back into it: ``total`` grows by ``n`` per epoch."""
    lines = [
        f"noob_id: roundtrip{n}",
        "assets:",
        "  total:",
        "    type: int",
        "    scope: runner",
        f"    depends: n{n - 1}.value",
        "nodes:",
    ]
    prev = "assets.total"
    for i in range(n):
        lines += [f"  n{i}:", "    type: benchmarks.nodes.plus1", f"    depends: {prev}"]
        prev = f"n{i}.value"
    lines += ["  ret:", "    type: return", f"    depends: {prev}"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory):
    """``chain_file(n, kind="chain")``: path of a YAML tube of ``n`` nodes, written once per module."""
    files: dict[tuple[int, str], Path] = {}
    root = tmp_path_factory.mktemp("load")
    writers = {"chain": write_chain_yaml, "roundtrip": write_round_trip_yaml}

    def get(n: int, kind: str = "chain") -> Path:
        if (n, kind) not in files:
            files[n, kind] = writers[kind](root / f"{kind}{n}.yaml", n)
        return files[n, kind]

    return get


def _param(n: int, group: str = "load-chain"):
    marks = [pytest.mark.benchmark(group=f"{group}{n}")]
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


@pytest.mark.parametrize("n", [_param(n, "load-roundtrip") for n in ROUND_TRIP_SIZES])
def test_load_round_trip(bench, impl, chain_file, n):
    bench.extra_info["N"] = n
    path = chain_file(n, "roundtrip")

    if impl == "hand":

        def load():
            with open(path, "rb") as f:
                return yaml.load(f, Loader=yaml.CSafeLoader)

    else:

        def load():
            tube = Tube.from_specification(path)
            tube.plan(impl)
            return tube

    result = bench.pedantic(load, rounds=3, iterations=1) if n >= 10_000 else bench(load)

    if impl == "hand":
        assert n + 1 == len(result["nodes"])
    else:
        assert n + 1 == len(result.plan(impl).node_ids)
        assert f"n{n - 1}" == result.assets["total"].spec.dependency.node
