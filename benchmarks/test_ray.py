"""RayRunner on a local Ray (issue 12, Performance): overhead, data, pipelining.

Workloads, each against a hand-written Ray program making the same calls, in the same run:

- ``ray-chain10``: one epoch of the chain of 10 ``plus1`` nodes after a counter source
  (``benchmarks.test_dispatch.chain_spec(10)``). ``hand-actor``: one actor whose method makes
  the 11 calls; ``fused``: ``RayRunner`` with the default placement (the whole tube in one
  actor); ``hand-chain``: 11 actors, one call each, chained by object refs; ``node``:
  ``RayRunner(placement="node")``, one actor per node. ``test_chain10_ratio`` times
  ``fused`` against ``hand-actor`` interleaved and asserts <= 1.5x (when benchmarks run).
- ``ray-array8mb``: an 8 MB float64 array made in one actor, passed through a second, summed
  in a third; only a small tuple comes back to the driver. MB/s in ``extra_info``.
- ``ray-pipeline3``: three 20 ms CPU-bound stages in three actors: ``run(12)`` lock-step
  (``max_epochs_in_flight=1``) against ``max_epochs_in_flight=3``. The throughput ratio needs
  three free cores: it is asserted (>= 2.5x) only when the machine has them; the run and the
  report always happen.

Ray is started once for the module (or reused if the test session started it).
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
from noob import Tube  # noqa: E402
from noob.runner.ray import RayRunner, connect  # noqa: E402

MB = 1024 * 1024
ARRAY_BYTES = 8 * MB
STAGE_SECONDS = 0.02
PIPE_EPOCHS = 12


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def local_ray(min_cpus: int):
    """A local Ray on loopback while the generator is open, with at least ``min_cpus`` CPUs
    (kept as it is if the session had one already); a module fixture's body."""
    started = not ray.is_initialized()
    if started:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        connect(None, num_cpus=max(min_cpus, cores()), log_to_driver=False, configure_logging=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    """A local Ray on loopback for this module (kept if the session had one already)."""
    yield from local_ray(4)


# ---------------------------------------------------------------- hand-written Ray programs


class _ChainActor:
    """The chain in one actor: next(source), then ``n`` times ``plus1``."""

    def __init__(self, n: int):
        self.src = count_source()
        self.n = n

    def epoch(self) -> int:
        x = next(self.src)
        for _ in range(self.n):
            x = plus1(x)
        return x


class _Stage:
    """One call per epoch: ``fn(x)``, or ``next(source)`` for the first stage."""

    def __init__(self, kind: str, seconds: float = 0.0):
        self.kind = kind
        self.src = count_source()
        self.seconds = seconds

    def call(self, x: Any = None) -> Any:
        if self.kind == "source":
            return next(self.src)
        if self.kind == "plus1":
            return plus1(x)
        if self.kind == "big":
            return np.arange(ARRAY_BYTES // 8, dtype=np.float64)
        if self.kind == "pass":
            return x
        if self.kind == "sum":
            return (float(x.sum()), int(x.nbytes))
        raise ValueError(self.kind)


ChainActor = ray.remote(_ChainActor)
Stage = ray.remote(_Stage)


def hand_actor(n: int) -> Callable[[], Any]:
    actor = ChainActor.remote(n)
    return lambda: ray.get(actor.epoch.remote(), timeout=60)


def hand_chain(kinds: list[str]) -> Callable[[], Any]:
    actors = [Stage.remote(k) for k in kinds]

    def epoch() -> Any:
        ref = actors[0].call.remote()
        for actor in actors[1:]:
            ref = actor.call.remote(ref)
        return ray.get(ref, timeout=60)

    return epoch


# ---------------------------------------------------------------- tubes


def array_spec() -> dict:
    return {"noob_id": "array8mb", "nodes": {
        "src": {"type": "benchmarks.test_ray.big", "ray": {"group": "one"}},
        "mid": {"type": "benchmarks.test_ray.passthrough", "depends": "src.value", "ray": {"group": "two"}},
        "end": {"type": "benchmarks.test_ray.summary", "depends": "mid.value", "ray": {"group": "three"}},
        "ret": {"type": "return", "depends": "end.value"},
    }}


def pipeline_spec() -> dict:
    nodes: dict = {"src": {"type": "benchmarks.nodes.count_source", "ray": {"group": "s1"}}}
    prev = "src.index"
    for k in (1, 2, 3):
        nodes[f"s{k}"] = {"type": "benchmarks.test_ray.spin", "params": {"seconds": STAGE_SECONDS},
                          "depends": prev, "ray": {"group": f"s{k}"}}
        prev = f"s{k}.value"
    nodes["ret"] = {"type": "return", "depends": prev}
    return {"noob_id": "pipeline3", "nodes": nodes}


def big() -> np.ndarray:
    return np.arange(ARRAY_BYTES // 8, dtype=np.float64)


def passthrough(x: Any) -> Any:
    return x


def summary(x: np.ndarray) -> tuple[float, int]:
    return (float(x.sum()), int(x.nbytes))


def spin(x: Any, seconds: float = STAGE_SECONDS) -> Any:
    """Hold a core for ``seconds`` (a busy loop, like a numpy stage), then pass ``x`` on."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return x


@pytest.fixture
def runners():
    made: list[RayRunner] = []

    def make(spec: dict, **kwargs: Any) -> RayRunner:
        runner = RayRunner(Tube.from_specification(spec), **kwargs)
        runner.init()
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.deinit()


def _median_epoch(fn: Callable[[], Any], epochs: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(epochs):
            fn()
        times.append((time.perf_counter() - start) / epochs)
    return float(np.median(times))


# ---------------------------------------------------------------- benchmarks


@pytest.mark.benchmark(group="ray-chain10")
@pytest.mark.parametrize("variant", ["hand-actor", "fused", "hand-chain", "node"])
def test_chain10(benchmark, runners, variant):
    """One epoch of chain10: hand-written actor(s) vs RayRunner, fused and one actor per node."""
    if variant == "hand-actor":
        epoch = hand_actor(10)
    elif variant == "hand-chain":
        epoch = hand_chain(["source"] + ["plus1"] * 10)
    else:
        epoch = runners(chain_spec(10), placement=variant).process
    epoch()  # warm up: actors started, functions imported
    benchmark.extra_info.update(variant=variant, cores=cores())
    assert 10 <= benchmark(epoch)


def test_chain10_ratio(benchmark, runners):
    """RayRunner's chain10 epoch costs at most 1.5x the hand-written one-actor program (same run)."""
    hand = hand_actor(10)
    runner = runners(chain_spec(10))
    hand(), runner.process()
    epochs, repeats = (20, 1) if benchmark.disabled else (200, 7)
    t_hand = t_noob = 0.0
    for _ in range(2):  # interleaved, so both see the same machine load
        t_hand = _median_epoch(hand, epochs, repeats)
        t_noob = _median_epoch(runner.process, epochs, repeats)
    ratio = t_noob / t_hand
    benchmark.extra_info.update(hand_ms=t_hand * 1e3, noob_ms=t_noob * 1e3, ratio=ratio, cores=cores())
    benchmark.pedantic(runner.process, rounds=1, iterations=1)
    print(f"\nray-chain10: hand-actor {t_hand * 1e3:.3f} ms, RayRunner {t_noob * 1e3:.3f} ms per epoch: {ratio:.2f}x")
    if not benchmark.disabled:
        assert ratio <= 1.5


@pytest.mark.benchmark(group="ray-array8mb")
@pytest.mark.parametrize("variant", ["hand-chain", "noob"])
def test_array_8mb_through_3_actors(benchmark, runners, variant):
    """An 8 MB array through three actors per epoch; the driver only receives the summary."""
    if variant == "hand-chain":
        epoch = hand_chain(["big", "pass", "sum"])
    else:
        epoch = runners(array_spec()).process
    n = ARRAY_BYTES // 8
    assert (float(n * (n - 1) // 2), ARRAY_BYTES) == epoch()
    result = benchmark(epoch)
    assert isinstance(result, tuple)  # a summary, not the array: no copy to the driver
    stats = getattr(benchmark, "stats", None)
    seconds = stats.stats.median if stats else _median_epoch(epoch, 3, 1)
    benchmark.extra_info.update(variant=variant, mb_per_s=ARRAY_BYTES / MB / seconds, cores=cores())
    print(f"\nray-array8mb {variant}: {seconds * 1e3:.2f} ms per epoch, {ARRAY_BYTES / MB / seconds:.0f} MB/s")


def test_pipeline_3_stages(benchmark, runners):
    """Three 20 ms CPU-bound stages in three actors: max_epochs_in_flight=3 vs lock-step."""
    lock = runners(pipeline_spec())
    piped = runners(pipeline_spec(), max_epochs_in_flight=3)
    lock.run(2), piped.run(2)  # warm up
    start = time.perf_counter()
    expected = lock.run(PIPE_EPOCHS)
    t_lock = time.perf_counter() - start
    start = time.perf_counter()
    actual = benchmark.pedantic(piped.run, args=(PIPE_EPOCHS,), rounds=1, iterations=1)
    t_piped = time.perf_counter() - start
    assert [e - PIPE_EPOCHS - 2 for e in expected] == [e - PIPE_EPOCHS - 2 for e in actual]  # same epochs, in order
    ratio = t_lock / t_piped
    n = cores()
    benchmark.extra_info.update(lock_step_s=t_lock, pipelined_s=t_piped, throughput_ratio=ratio, cores=n)
    print(f"\nray-pipeline3 on {n} cores: lock-step {PIPE_EPOCHS / t_lock:.1f} epochs/s, "
          f"max_epochs_in_flight=3 {PIPE_EPOCHS / t_piped:.1f} epochs/s: {ratio:.2f}x")
    if n >= 3:
        assert ratio >= 2.5
