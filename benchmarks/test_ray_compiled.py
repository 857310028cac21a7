"""RayRunner on Ray Compiled Graphs (issue 19): three tubes, every runner, beside Ray itself.

Workloads (the node functions below; each hand-written program makes the same calls):

- ``chain3``: a counter source and three ``plus1`` nodes (``benchmarks.test_dispatch.chain_spec(3)``).
- ``frame8``: a source making an 8 MB float64 frame, a reader summing it (only the sum comes back).
- ``stages3``: an 8 MB source, then two numpy stages of ~30 ms each (one in the next), one
  group per node: two CPU-bound stages that can overlap on two cores.

Variants, measured in one run:

- ``sync``: ``SynchronousRunner`` in this process;
- ``fused-classic`` / ``fused``: ``RayRunner`` with the default placement (the tube in one
  actor), on classic actor calls (``compiled=False``: the path before this change) and on
  a compiled graph (the default);
- ``node-classic`` / ``node``: ``placement="node"`` (an actor per node), both paths;
- ``node-k3``: ``placement="node"``, ``max_epochs_in_flight=3``, ``run(n)``;
- ``hand-cg`` / ``hand-cg-k3``: a hand-written Ray Compiled Graph of one actor per node
  making the same calls, one epoch at a time and with three in flight.

``test_table`` measures every variant interleaved (medians of several rounds, so they share
the machine's load) and prints per-epoch times, epochs/s, and ratios to ``hand-cg`` (the
same graph written by hand) and to ``sync``. Under ``--benchmark-disable`` it runs each
variant for a few epochs only and asserts nothing about time. The per-variant
``test_<workload>`` benchmarks give pytest-benchmark's own statistics.

    pytest benchmarks/test_ray_compiled.py -k table -s -p no:cacheprovider

``NOOB_RAY_VARIANTS`` (comma-separated names) measures only some variants, ``NOOB_RAY_ROUNDS``
sets the rounds (5), e.g. the pipelined stages3 beside the synchronous runner and Ray's own:

    NOOB_RAY_VARIANTS=sync,node-k3,hand-cg-k3 NOOB_RAY_ROUNDS=7 \
        pytest benchmarks/test_ray_compiled.py -k "table and stages3" -s -p no:cacheprovider
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from benchmarks.nodes import count_source, plus1  # noqa: E402
from benchmarks.test_dispatch import chain_spec  # noqa: E402
from benchmarks.test_ray import cores, local_ray  # noqa: E402
from noob import SynchronousRunner, Tube  # noqa: E402
from noob.runner.ray import RayRunner  # noqa: E402

MB = 1024 * 1024
FRAME = 8 * MB
STAGE_REPS = 12  # numpy passes over 8 MB per stage: ~30 ms on the 2-core machine of issue 19
VARIANTS = ("sync", "fused-classic", "fused", "node-classic", "node", "node-k3", "hand-cg", "hand-cg-k3")
PIPELINED = ("node-k3", "hand-cg-k3")


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    """A local Ray on loopback for this module (kept if the session had one already)."""
    yield from local_ray(8)


# ---------------------------------------------------------------- node functions


def frame() -> np.ndarray:
    """A fresh 8 MB float64 frame."""
    return np.arange(FRAME // 8, dtype=np.float64)


def frame_sum(x: np.ndarray) -> float:
    return float(x.sum())


def stage(x: np.ndarray, reps: int = STAGE_REPS) -> np.ndarray:
    """A CPU-bound numpy stage: ``reps`` passes over the frame, a new 8 MB frame out."""
    y = x
    for _ in range(reps):
        y = np.sqrt(y * 1.0000001 + 1.0)
    return y


def stage_sum(x: np.ndarray, reps: int = STAGE_REPS) -> float:
    """The second stage: the same work, then only the sum goes on."""
    return float(stage(x, reps).sum())


def frame8_spec() -> dict:
    return {"noob_id": "frame8", "nodes": {
        "src": {"type": "benchmarks.test_ray_compiled.frame"},
        "read": {"type": "benchmarks.test_ray_compiled.frame_sum", "depends": "src.value"},
        "ret": {"type": "return", "depends": "read.value"},
    }}


def stages3_spec() -> dict:
    return {"noob_id": "stages3", "nodes": {
        "src": {"type": "benchmarks.test_ray_compiled.frame"},
        "s1": {"type": "benchmarks.test_ray_compiled.stage", "depends": "src.value"},
        "s2": {"type": "benchmarks.test_ray_compiled.stage_sum", "depends": "s1.value"},
        "ret": {"type": "return", "depends": "s2.value"},
    }}


SPECS: dict[str, Callable[[], dict]] = {"chain3": lambda: chain_spec(3), "frame8": frame8_spec, "stages3": stages3_spec}
# the hand-written graphs: one actor per node, the same calls
HAND: dict[str, list[str]] = {"chain3": ["source", "plus1", "plus1", "plus1"], "frame8": ["frame", "frame_sum"],
                              "stages3": ["frame", "stage", "stage_sum"]}


class _Call:
    """One node of a hand-written graph: ``call(x)`` makes that node's call."""

    def __init__(self, kind: str):
        self.kind = kind
        self.src = count_source()

    def call(self, x: Any) -> Any:
        kind = self.kind
        if kind == "source":
            return next(self.src)
        if kind == "plus1":
            return plus1(x)
        if kind == "frame":
            return frame()
        if kind == "frame_sum":
            return frame_sum(x)
        if kind == "stage":
            return stage(x)
        if kind == "stage_sum":
            return stage_sum(x)
        raise ValueError(kind)


Call = ray.remote(_Call)


class HandGraph:
    """A hand-written Ray Compiled Graph of ``kinds``, one actor each, ``k`` epochs in flight."""

    def __init__(self, kinds: list[str], k: int):
        from ray.dag import InputNode, MultiOutputNode

        self.actors = [Call.remote(kind) for kind in kinds]
        ray.get([a.call.remote(0) if kind == "source" else a.__ray_ready__.remote() for a, kind in zip(self.actors, kinds)])
        with InputNode() as inp:
            node = self.actors[0].call.bind(inp)
            for actor in self.actors[1:]:
                node = actor.call.bind(node)
            dag = MultiOutputNode([node])
        self.graph = dag.experimental_compile(_max_inflight_executions=k)
        self.k = k

    def epoch(self) -> Any:
        return self.graph.execute(0)[0].get(timeout=60)

    def run(self, n: int) -> list:
        pending: list = []
        out = []
        for _ in range(n):
            if len(pending) >= self.k:
                out.append(pending.pop(0).get(timeout=60))
            pending.append(self.graph.execute(0)[0])
        out.extend(ref.get(timeout=60) for ref in pending)
        return out

    def close(self) -> None:
        for actor in self.actors:  # first: a loop still waiting on a channel then ends at once
            ray.kill(actor)
        self.graph.teardown(kill_actors=True)


class Variant:
    """One runner for one workload: ``epoch()`` runs one epoch, ``run(n)`` n of them."""

    def __init__(self, workload: str, name: str):
        self.name = name
        self.closer: Callable[[], None] = lambda: None
        if name == "sync":
            runner = SynchronousRunner(Tube.from_specification(SPECS[workload]()))
            runner.init()
            self.epoch, self.run, self.closer = runner.process, runner.run, runner.deinit
        elif name.startswith("hand-cg"):
            hand = HandGraph(HAND[workload], 3 if name.endswith("k3") else 1)
            self.epoch, self.run, self.closer = hand.epoch, hand.run, hand.close
        else:
            kwargs: dict[str, Any] = {"timeout": 120}
            if name.startswith("node"):
                kwargs["placement"] = "node"
            if name.endswith("classic"):
                kwargs["compiled"] = False
            if name.endswith("k3"):
                kwargs["max_epochs_in_flight"] = 3
            ray_runner = RayRunner(Tube.from_specification(SPECS[workload]()), **kwargs)
            ray_runner.init()
            self.epoch, self.run, self.closer = ray_runner.process, ray_runner.run, ray_runner.deinit
        self.run(3)  # warm up: actors started, channels sized for the frames

    def close(self) -> None:
        self.closer()

    def seconds_per_epoch(self, epochs: int) -> float:
        start = time.perf_counter()
        if self.name in PIPELINED:
            self.run(epochs)
        else:
            for _ in range(epochs):
                self.epoch()
        return (time.perf_counter() - start) / epochs


EPOCHS = {"chain3": 300, "frame8": 60, "stages3": 12}


@pytest.mark.parametrize("workload", list(SPECS))
def test_table(benchmark, workload):
    """Every variant of one workload, interleaved: per-epoch medians, ratios to hand-cg and sync."""
    quick = benchmark.disabled
    epochs, rounds = (3, 1) if quick else (EPOCHS[workload], int(os.environ.get("NOOB_RAY_ROUNDS", "5")))
    chosen = [name for name in os.environ.get("NOOB_RAY_VARIANTS", "").split(",") if name] or list(VARIANTS)
    unknown = set(chosen) - set(VARIANTS)
    assert not unknown, f"NOOB_RAY_VARIANTS names {sorted(unknown)}; the variants are {', '.join(VARIANTS)}"
    variants = {name: Variant(workload, name) for name in VARIANTS if name in chosen}
    try:
        expected = SynchronousRunner(Tube.from_specification(SPECS[workload]())).run(7)[3:]  # after the warm-up
        fresh = {name: Variant(workload, name) for name in ("fused", "node", "node-k3")}
        try:
            for name, v in fresh.items():  # the compiled path gives the sync runner's results
                assert expected == v.run(4), name
        finally:
            for v in fresh.values():
                v.close()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, v in variants.items():
                times[name].append(v.seconds_per_epoch(epochs))
        med = {name: float(np.median(ts)) for name, ts in times.items()}
        benchmark.extra_info.update({f"{name}_ms": med[name] * 1e3 for name in variants}, cores=cores(), epochs=epochs)
        first = next(iter(variants.values()))
        benchmark.pedantic(first.run if first.name in PIPELINED else first.epoch, rounds=1, iterations=1)
    finally:
        for v in variants.values():
            v.close()
    lines = [f"\n{workload} ({cores()} cores, {epochs} epochs x {rounds} rounds, medians):",
             f"  {'variant':14} {'ms/epoch':>9} {'epochs/s':>9} {'/hand-cg':>9} {'/sync':>8}"]
    nan = float("nan")
    for name in variants:
        hand = med.get("hand-cg-k3" if name in PIPELINED else "hand-cg", nan)
        lines.append(f"  {name:14} {med[name] * 1e3:9.3f} {1 / med[name]:9.0f} {med[name] / hand:9.2f} "
                     f"{med[name] / med.get('sync', nan):8.2f}")
    print("\n".join(lines))


# ---------------------------------------------------------------- pytest-benchmark statistics


@pytest.mark.parametrize("name", ["fused", "node", "hand-cg"])
@pytest.mark.parametrize("workload", ["chain3", "frame8"])
def test_epoch(benchmark, workload, name):
    """One epoch (process()) of a workload: pytest-benchmark statistics per variant."""
    benchmark.group = f"ray-cg-{workload}"
    v = Variant(workload, name)
    try:
        benchmark.extra_info.update(variant=name, cores=cores())
        assert benchmark(v.epoch) is not None
    finally:
        v.close()
