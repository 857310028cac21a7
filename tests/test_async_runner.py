"""AsyncRunner: the same results as SynchronousRunner for every tube of the suite, on both cores;
then what only the async runner has — concurrency, cancellation, async lifecycle.

The parity suite runs each scenario for several epochs through a fresh ``SynchronousRunner``
and a fresh ``AsyncRunner`` (threads for sync nodes, and everything on the loop) and compares
return values, raised errors (type, message, notes), and the events callbacks received.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pytest
import testnodes
from test_core_async import random_tube

from noob import AsyncRunner, Epoch, Name, SynchronousRunner, Tube
from noob.exceptions import AnnotationWarning, AssetError, RaceWarning, SchedulerExhaustedError
from noob.runner import get_runner
from noob.runner.asyncio import on_loop

DATA = Path(__file__).parent / "data"
COUNT = {"type": "noob.testing.count_source"}
LIFE = testnodes.LIFE


def t(nodes: dict, **extra: Any) -> dict:
    return {"noob_id": "t", "nodes": nodes, **extra}


@dataclass
class Scenario:
    id: str
    source: Any
    epochs: int = 5
    input: dict | None = None
    process_inputs: list[dict] = field(default_factory=list)


def _counted(scope: str) -> dict:
    return {"res": {"type": "testnodes.CountedAsset", "scope": scope, "params": {"size": 1}}}


TWO_USERS = {
    "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
    "b": {"type": "testnodes.read", "depends": [{"box": "a.box"}]},
    # ordered after a: unordered users of a shared asset race in worker threads (RaceWarning)
    "c": {"type": "testnodes.read_after", "depends": [{"box": "assets.res"}, {"after": "a.box"}]},
}

# the dict tubes of tests/test_runner.py and tests/test_assets.py, plus a few of our own
SCENARIOS = [
    *[Scenario(f"return-{k}", t({"a": COUNT, "r": {"type": "return", "depends": d}}))
      for k, d in enumerate(["a.index", ["a.index"], ["a.index", "a.index"], [{"x": "a.index"}], ["a.index", {"x": "a.index"}]])],
    Scenario("no-return", t({"a": COUNT, "b": {"type": "testnodes.plus1", "depends": "a.index"}})),
    Scenario("epoch", t({"a": COUNT, "b": {"type": "testnodes.with_epoch", "depends": [{"x": "a.index"}]},
                         "r": {"type": "return", "depends": "b.value"}})),
    Scenario("process-inputs", t({"a": {"type": "testnodes.add", "depends": [{"a": "input.x"}, {"b": "input.y"}]},
                                  "r": {"type": "return", "depends": "a.value"}},
                                 input={"x": {"type": "int", "scope": "process"}, "y": {"type": "int", "scope": "tube"}}),
             input={"y": 10}, process_inputs=[{"x": 1}, {"x": 5}, {"x": -3}, {"x": 0, "y": 100}]),
    Scenario("none-is-a-value", t({"a": COUNT, "b": {"type": "testnodes.returns_none", "depends": "a.index"},
                                   "c": {"type": "testnodes.is_none", "depends": "b.value"},
                                   "r": {"type": "return", "depends": "c.value"}})),
    Scenario("noevent-skips", t({"a": COUNT, "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
                                 "c": {"type": "testnodes.plus1", "depends": "b.value"},
                                 "r": {"type": "return", "depends": "c.value"}})),
    Scenario("optional-slot", t({"a": COUNT, "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
                                 "c": {"type": "testnodes.maybe_sum", "depends": [{"a": "a.index"}, {"b": "b.value"}]},
                                 "r": {"type": "return", "depends": "c.value"}})),
    Scenario("switch", t({"s": {"type": "noob.testing.switch"},
                          "m": {"type": "noob.testing.this_or_that",
                                "depends": [{"this": "s.fruits"}, {"that": "s.vegetables"}, {"the_other": "s.minerals"}]},
                          "r": {"type": "return", "depends": "m.value"}})),
    Scenario("dict-return-partial", t({"a": COUNT, "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
                                       "r": {"type": "return", "depends": [{"a": "a.index"}, {"b": "b.value"}]}})),
    Scenario("tuple-signals", t({"a": COUNT, "b": {"type": "testnodes.two_signals", "depends": "a.index"},
                                 "r": {"type": "return", "depends": [{"d": "b.double"}, {"t": "b.triple"}]}})),
    Scenario("pos-only-star-args", t({"a": COUNT, "p": {"type": "testnodes.pos_only", "depends": ["a.index", "a.index"]},
                                      "s": {"type": "testnodes.star_args", "depends": ["a.index", "p.value", "a.index"]},
                                      "r": {"type": "return", "depends": "s.value"}})),
    Scenario("params", t({"a": COUNT, "k": {"type": "testnodes.add", "params": {"b": 100}, "depends": [{"a": "a.index"}]},
                          "l": {"type": "testnodes.add", "params": [1000], "depends": [{"b": "k.value"}]},
                          "r": {"type": "return", "depends": "l.value"}})),
    Scenario("builtin", t({"a": COUNT, "b": {"type": "testnodes.two_signals", "depends": "a.index"},
                           "l": {"type": "testnodes.star_args", "depends": ["b.double", "b.triple"]},
                           "s": {"type": "sum", "depends": "l.value"}, "r": {"type": "return", "depends": "s.value"}})),
    Scenario("plain-class", t({"a": COUNT, "acc": {"type": "testnodes.Accumulate", "params": {"start": 10}, "depends": "a.index"},
                               "r": {"type": "return", "depends": "acc.total"}})),
    Scenario("process-method", t({"a": COUNT, "v": {"type": "noob.testing.Volume", "params": {"height": 3},
                                                     "depends": [{"width": "a.index"}, {"depth": "a.index"}]},
                                  "r": {"type": "return", "depends": "v.volume"}})),
    Scenario("node-subclass", t({"a": COUNT, "s": {"type": "testnodes.Scale", "params": {"factor": 5}, "depends": "a.index"},
                                 "r": {"type": "return", "depends": "s.scaled"}})),
    Scenario("generator-and-iterator", t({"g": {"type": "noob.testing.CountSourceDecor", "params": {"start": 5}},
                                          "i": {"type": "itertools.count", "params": {"start": 100}},
                                          "r": {"type": "return", "depends": ["g.count", "i.value"]}})),
    Scenario("async-nodes", t({"a": COUNT, "b": {"type": "testnodes.async_double", "depends": "a.index"},
                               "c": {"type": "noob.testing.NumberToLetterCls", "depends": "b.value"},
                               "r": {"type": "return", "depends": ["b.value", "c.value"]}})),
    Scenario("finite-generator", t({"g": {"type": "testnodes.finite", "params": {"n": 3}},
                                    "r": {"type": "return", "depends": "g.item"}})),
    Scenario("exhaustion-none", t({"g": {"type": "noob.testing.count_source", "params": {"limit": 2}},
                                   "r": {"type": "return", "depends": "g.index"}})),
    Scenario("function-stop-iteration", t({"a": COUNT, "b": {"type": "testnodes.stop_at", "depends": "a.index"},
                                           "r": {"type": "return", "depends": "b.value"}})),
    Scenario("node-error", t({"a": COUNT, "b": {"type": "testnodes.boom", "depends": "a.index"},
                              "r": {"type": "return", "depends": "b.value"}})),
    Scenario("async-node-error", t({"a": COUNT, "b": {"type": "testnodes.async_boom", "depends": "a.index"},
                                    "r": {"type": "return", "depends": "b.value"}})),
    Scenario("error-after-lifecycle", t({"a": COUNT, "l": {"type": "testnodes.Lifecycle", "depends": "a.index"},
                                         "b": {"type": "testnodes.boom", "depends": "l.value"}})),
    Scenario("enabled-false", t({"a": COUNT, "b": {"type": "testnodes.plus1", "depends": "a.index", "enabled": False},
                                 "r": {"type": "return", "depends": "b.value"}})),
    Scenario("bad-tuple-return", t({"a": COUNT, "b": {"type": "testnodes.plus1", "depends": "a.index"},
                                    "c": {"type": "testnodes.letter_counts", "depends": "b.value"}})),
    *[Scenario(f"two-users-{scope}", {"noob_id": "t", "nodes": TWO_USERS, "assets": _counted(scope)})
      for scope in ("runner", "process", "node")],
    *[Scenario(f"fail-on-3-{scope}", {"noob_id": "t", "nodes": {"a": {"type": "testnodes.bump_fail_on_3", "depends": [{"box": "assets.res"}]}},
                                      "assets": {"res": {"type": "testnodes.counted_cm", "scope": scope, "params": {"start": 2}}}})
      for scope in ("runner", "process", "node")],
    Scenario("node-scope-selective", {"noob_id": "t", "nodes": {
        "src": COUNT, "x": {"type": "testnodes.plus1", "depends": "src.index"},
        "a": {"type": "testnodes.read", "depends": [{"box": "assets.res"}]}},
        "assets": {"res": {"type": "testnodes.counted_cm", "scope": "node"}}}),
    Scenario("failing-asset-factory", {"noob_id": "t", "nodes": {
        "a": {"type": "testnodes.read", "depends": [{"box": "assets.ok"}]},
        "b": {"type": "testnodes.read", "depends": [{"box": "assets.bad"}]}},
        "assets": {"ok": {"type": "testnodes.counted_cm", "scope": "runner"},
                   "bad": {"type": "testnodes.failing_factory", "scope": "runner"}}}, epochs=2),
    Scenario("failing-node-asset", {"noob_id": "t", "nodes": {
        "a": COUNT, "b": {"type": "testnodes.read", "depends": [{"box": "assets.bad"}]}},
        "assets": {"bad": {"type": "testnodes.failing_factory", "scope": "node"}}}, epochs=2),
    Scenario("no-copy-within-epoch", {"noob_id": "t", "nodes": {
        "a": {"type": "testnodes.ident", "depends": [{"box": "assets.arr"}]},
        "b": {"type": "testnodes.ident", "depends": [{"box": "a.box"}]},
        "r": {"type": "return", "depends": ["a.box", "b.box"]}},
        "assets": {"arr": {"type": "noob.testing.array", "scope": "runner", "depends": "b.box"}}}),
    Scenario("copy-when-consumed", {"noob_id": "t", "nodes": {
        "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
        "b": {"type": "testnodes.bump", "depends": [{"box": "a.box"}]},
        "post": {"type": "testnodes.bump", "depends": [{"box": "b.box"}]},
        "r": {"type": "return", "depends": "post.box"}},
        "assets": {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}}}),
    Scenario("noevent-never-stores", {"noob_id": "t", "nodes": {
        "src": COUNT, "odd": {"type": "testnodes.odd_noevent", "depends": "src.index"},
        "a": {"type": "noob.testing.increment", "depends": [{"iterator": "assets.c"}]},
        "g": {"type": "testnodes.add", "depends": [{"a": "odd.value"}, {"b": "a.value"}]},
        "r": {"type": "return", "depends": [{"v": "a.value"}]}},
        "assets": {"c": {"type": "noob.testing.counter", "scope": "runner"}}}),
    Scenario("round-trip-across-gather", {"noob_id": "t", "nodes": {
        "u": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
        "g": {"type": "gather", "params": {"n": 2}, "depends": [{"value": "u.box"}]},
        "merge": {"type": "testnodes.first_times_ten", "depends": [{"items": "g.value"}]},
        "read": {"type": "testnodes.read", "depends": [{"box": "u.box"}]},
        "r": {"type": "return", "depends": "read.value"}},
        "assets": {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "merge.box"}}}),
    Scenario("async-assets", {"noob_id": "t", "nodes": {
        "a": {"type": "testnodes.bump", "depends": [{"box": "assets.p"}]},
        "b": {"type": "testnodes.bump", "depends": [{"box": "assets.n"}]},
        "r": {"type": "return", "depends": ["a.box", "b.box"]}},
        "assets": {"p": {"type": "testnodes.AsyncCountedAsset", "scope": "process"},
                   "n": {"type": "testnodes.AsyncCountedAsset", "scope": "node"}}}),
    Scenario("fan-out-fan-in", t({"a": COUNT, **{f"s{k}": {"type": "testnodes.sleep_then", "params": {"delay": 0.001 * (5 - k)},
                                                             "depends": [{"x": "a.index"}]} for k in range(5)},
                                  "m": {"type": "testnodes.star_args", "depends": [f"s{k}.value" for k in range(5)]},
                                  "r": {"type": "return", "depends": "m.value"}})),
    *[Scenario(f"random-{seed}", random_tube(seed)) for seed in range(4)],
    *[Scenario(f"random-{seed}-returned", {**random_tube(seed, n=12),
                                            "nodes": {**random_tube(seed, n=12)["nodes"],
                                                      "r": {"type": "return", "depends": [{f"n{k}": f"n{k}.value"} for k in range(12)]}}})
      for seed in range(4, 8)],
]


def _yaml_scenarios() -> list[Scenario]:
    """Every YAML tube under tests/data that loads and needs no process input."""
    found = []
    for path in sorted(DATA.rglob("*.yaml")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tube = Tube.from_specification(path)
        except Exception:  # noqa: BLE001, S112 - tubes that do not load are not scenarios
            continue
        plan = tube.plan("python")
        specs = tube.input_collection.specs
        if any(specs[k].required and not specs[k].has_default for k in plan.process_inputs):
            continue
        found.append(Scenario(f"yaml-{path.relative_to(DATA)}", path))
    return found


SCENARIOS += _yaml_scenarios()


# ---------------------------------------------------------------- comparison helpers


def norm(x: Any) -> Any:
    """A comparable stand-in for a result: arrays as lists, objects as their fields."""
    if isinstance(x, np.ndarray):
        return ("ndarray", x.shape, x.tolist())
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(norm(v) for v in x) if type(x) in (list, tuple) else tuple(norm(v) for v in x)
    if x is None or isinstance(x, (bool, int, float, str, bytes, enum.Enum, Epoch, np.generic)):
        return x
    if hasattr(x, "__dict__"):
        return (type(x).__qualname__, norm(vars(x)))
    if hasattr(type(x), "__slots__"):
        return (type(x).__qualname__, tuple(norm(getattr(x, s, None)) for s in type(x).__slots__))
    return (type(x).__qualname__, repr(x))


def outcome_of_error(exc: BaseException) -> tuple:
    return ("raised", type(exc).__name__, str(exc), tuple(getattr(exc, "__notes__", ())))


def _tube(s: Scenario) -> Tube:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaceWarning)
        warnings.simplefilter("ignore", AnnotationWarning)  # bad-tuple-return wires an int into a str slot
        return Tube.from_specification(s.source, input=s.input)


def _inputs(s: Scenario, k: int) -> dict:
    return s.process_inputs[k] if k < len(s.process_inputs) else (s.process_inputs[-1] if s.process_inputs else {})


def _events(log: list) -> list:
    return sorted(((e["node_id"], e["signal"], norm(e["value"]), norm(e["epoch"])) for e in log), key=lambda x: (x[0], x[1]))


def run_sync(s: Scenario, core: str) -> list:
    random.seed(0)  # word_source and friends draw from the global generators
    np.random.seed(0)
    return drive(SynchronousRunner(_tube(s), core=core), s)


def drive(runner, s: Scenario) -> list:
    """Run scenario ``s`` epoch by epoch on a synchronous-API ``runner``: per epoch its outcome
    (value or error) and the events callbacks received; deinitialises the runner at the end."""
    log: list = []
    runner.add_callback(log.append)
    out = []
    try:
        for k in range(s.epochs):
            log.clear()
            try:
                out.append(norm(runner.process(**_inputs(s, k))))
            except SchedulerExhaustedError as exc:
                out.append(outcome_of_error(exc))
                break
            except Exception as exc:  # noqa: BLE001 - errors are part of the outcome compared
                out.append(outcome_of_error(exc))
            out.append(_events(log))
    finally:
        with contextlib.suppress(Exception):
            runner.deinit()
    return out


async def run_async(s: Scenario, core: str, **kwargs: Any) -> list:
    random.seed(0)
    np.random.seed(0)
    runner = AsyncRunner(_tube(s), core=core, **kwargs)
    log: list = []
    runner.add_callback(log.append)
    out = []
    try:
        for k in range(s.epochs):
            log.clear()
            try:
                out.append(norm(await runner.process(**_inputs(s, k))))
            except SchedulerExhaustedError as exc:
                out.append(outcome_of_error(exc))
                break
            except Exception as exc:  # noqa: BLE001 - errors are part of the outcome compared
                out.append(outcome_of_error(exc))
            out.append(_events(log))
    finally:
        with contextlib.suppress(Exception):
            await runner.deinit()
    return out


@pytest.mark.parametrize("mode", ["threads", "loop"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_same_results_as_sync(core, scenario, mode):
    """Return values, errors and callback events equal the synchronous runner's, epoch by epoch."""
    expected = run_sync(scenario, core)
    actual = asyncio.run(run_async(scenario, core, loop_nodes="all" if mode == "loop" else ()))
    assert expected == actual


def test_yaml_scenarios_found():
    """The parity suite really covers the YAML tubes (basic, seed, map, nested, ...)."""
    ids = {s.id for s in SCENARIOS}
    for name in ("yaml-basic.yaml", "yaml-seed/runner_db.yaml", "yaml-map/map_nested.yaml", "yaml-nested/parent.yaml"):
        assert name in ids


@pytest.mark.parametrize("method", ["run", "iter"])
def test_run_and_iter_same_as_sync(core, method):
    """run(n) and iter(n) give the sync runner's lists; run() is None when nothing returned."""
    for source in ("basic.yaml", "map/map_gather.yaml", "nested/parent.yaml"):
        random.seed(0)
        expected = list(getattr(SynchronousRunner(Tube.from_specification(DATA / source), core=core), method)(4))
        runner = AsyncRunner(Tube.from_specification(DATA / source), core=core)
        random.seed(0)

        async def main(runner=runner):
            if method == "run":
                out = await runner.run(4)
                await runner.deinit()
                return out
            return [x async for x in runner.iter(4)]

        assert norm(list(expected)) == norm(asyncio.run(main()))
    no_return = t({"a": COUNT, "b": {"type": "testnodes.plus1", "depends": "a.index"}})
    assert asyncio.run(AsyncRunner(Tube.from_specification(no_return), core=core).run(3)) is None


def test_run_stops_at_exhaustion(core):
    """run() ends cleanly when the source runs out; process() then raises; re-init restarts it."""
    spec = t({"g": {"type": "testnodes.finite", "params": {"n": 3}}, "r": {"type": "return", "depends": "g.item"}})
    runner = AsyncRunner(Tube.from_specification(spec), core=core)

    async def main():
        assert [0, 1, 2] == await runner.run(10)
        with pytest.raises(SchedulerExhaustedError):
            await runner.process()
        await runner.deinit()
        return [x async for x in runner.iter()]

    assert [0, 1, 2] == asyncio.run(main())


# ---------------------------------------------------------------- concurrency


def _sleepers(n: int, delay: float, node: str = "testnodes.sleep_then") -> dict:
    nodes: dict = {"a": COUNT}
    for k in range(n):
        nodes[f"s{k}"] = {"type": node, "params": {"delay": delay}, "depends": [{"x": "a.index"}]}
    nodes["r"] = {"type": "return", "depends": [f"s{k}.value" for k in range(n)]}
    return t(nodes)


def test_async_nodes_run_concurrently(core):
    """Ten nodes that each sleep 50 ms finish in about one sleep, not ten."""
    runner = AsyncRunner(Tube.from_specification(_sleepers(10, 0.05)), core=core)

    async def main():
        await runner.process()  # warm up: init, thread pool
        start = time.perf_counter()
        result = await runner.process()
        elapsed = time.perf_counter() - start
        await runner.deinit()
        return result, elapsed

    result, elapsed = asyncio.run(main())
    assert (1,) * 10 == result
    assert elapsed < 0.3


def test_sync_nodes_run_in_threads(core):
    """Blocking nodes run in the thread pool: four 50 ms sleeps take about one."""
    runner = AsyncRunner(Tube.from_specification(_sleepers(4, 0.05, "testnodes.block_then")), core=core, max_workers=4)

    async def main():
        await runner.process()
        start = time.perf_counter()
        await runner.process()
        elapsed = time.perf_counter() - start
        await runner.deinit()
        return elapsed

    assert asyncio.run(main()) < 0.15


def test_loop_nodes_run_on_the_loop(core):
    """With loop_nodes, blocking nodes run one after the other on the loop thread."""
    runner = AsyncRunner(Tube.from_specification(_sleepers(3, 0.03, "testnodes.block_then")), core=core, loop_nodes={"s0", "s1", "s2"})

    async def main():
        await runner.process()
        start = time.perf_counter()
        await runner.process()
        return time.perf_counter() - start

    assert asyncio.run(main()) >= 0.09


def test_on_loop_decorator_and_unknown_loop_node(core):
    """on_loop marks a function; loop_nodes with an unknown id is a KeyError naming it."""

    def f(x):
        return x

    assert on_loop(f) is f and f.__noob_on_loop__
    with pytest.raises(KeyError, match="'nope'"):
        AsyncRunner(Tube.from_specification(_sleepers(1, 0)), core=core, loop_nodes={"nope"})


def test_max_in_flight_bounds_concurrency(core):
    """No more than max_in_flight node calls run at once."""
    testnodes.reset_async_life()
    runner = AsyncRunner(Tube.from_specification(_sleepers(8, 0.01)), core=core, max_in_flight=3)
    assert (0,) * 8 == asyncio.run(runner.process())
    assert 3 == testnodes.ASYNC_LIFE["peak"]


def test_node_scoped_assets_isolated_between_concurrent_calls(core):
    """Concurrent nodes taking the same node-scoped asset each get their own object."""
    nodes: dict = {"a": COUNT}
    for k in range(5):
        nodes[f"h{k}"] = {"type": "testnodes.hold", "params": {"x": k}, "depends": [{"box": "assets.res"}]}
    nodes["r"] = {"type": "return", "depends": [f"h{k}.seen" for k in range(5)]}
    spec = {"noob_id": "iso", "nodes": nodes, "assets": {"res": {"type": "testnodes.counted_cm", "scope": "node"}}}
    testnodes.reset_life()
    runner = AsyncRunner(Tube.from_specification(spec), core=core)
    assert (True,) * 5 == asyncio.run(runner.run(2))[1]
    assert (10, 10) == (LIFE["enter"], LIFE["exit"])


def test_race_warning_fires_for_the_async_runner(core):
    """The load-time race check warns about unordered users of a shared asset here too."""
    spec = {"noob_id": "t", "nodes": {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
                                      "b": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]}},
            "assets": {"res": {"type": "testnodes.counted_cm", "scope": "process"}}}
    with pytest.warns(RaceWarning, match="'a' and 'b'"):
        AsyncRunner(Tube.from_specification(spec), core=core)


# ---------------------------------------------------------------- errors and cancellation


def test_error_cancels_the_rest_of_the_epoch(core):
    """A failing node cancels slow async siblings at once; the error keeps its type and gains the note."""
    testnodes.reset_async_life()
    runner = AsyncRunner(Tube.from_specification(t({
        "a": COUNT,
        "slow": {"type": "testnodes.sleep_then", "params": {"delay": 5.0}, "depends": [{"x": "a.index"}]},
        "b": {"type": "testnodes.async_boom", "depends": "a.index"},
        "r": {"type": "return", "depends": ["b.value"]},
    })), core=core, loop_nodes="all")

    async def main():
        runner.disable_node("slow")
        assert [(0,), (1,)] == [await runner.process(), await runner.process()]
        await runner.enable_node("slow")
        start = time.perf_counter()
        with pytest.raises(ValueError, match="async two") as info:
            await runner.process()
        elapsed = time.perf_counter() - start
        runner.disable_node("slow")
        after = await runner.process()
        await runner.deinit()
        return info.value, elapsed, after

    exc, elapsed, after = asyncio.run(main())
    assert ["[noob] raised by node 'b' in epoch 2 of tube 't'"] == exc.__notes__
    assert elapsed < 1.0
    assert 1 == testnodes.ASYNC_LIFE["cancelled"]
    assert (3,) == after


def test_error_drains_threads_within_timeout(core):
    """Thread nodes cannot be cancelled: the epoch waits for them, at most exception_timeout."""
    runner = AsyncRunner(Tube.from_specification(t({
        "a": COUNT,
        "slow": {"type": "testnodes.block_then", "params": {"delay": 0.5}, "depends": [{"x": "a.index"}]},
        "b": {"type": "testnodes.boom", "depends": "a.index"},
    })), core=core, exception_timeout=0.05)

    async def main():
        await runner.process()
        await runner.process()
        start = time.perf_counter()
        with pytest.raises(ValueError, match="two is not allowed"):
            await runner.process()
        return time.perf_counter() - start

    assert asyncio.run(main()) < 0.4


RECORDED: list = []


def record(x: int) -> int:
    """``x + 1``, noting ``x`` in RECORDED."""
    RECORDED.append(x)
    return x + 1


def test_error_stops_a_worker_chain_after_its_current_node(core):
    """A sibling fails: the worker chain finishes the node it runs, skips the rest; the next epoch is whole."""
    RECORDED.clear()
    runner = AsyncRunner(Tube.from_specification(t({
        "a": COUNT,
        "slow": {"type": "testnodes.block_then", "params": {"delay": 0.2}, "depends": [{"x": "a.index"}]},
        "after": {"type": "test_async_runner.record", "depends": "slow.value"},
        "b": {"type": "testnodes.async_boom", "depends": "a.index"},
        "r": {"type": "return", "depends": ["after.value", "b.value"]},
    })), core=core)

    async def main() -> list:
        out = [await runner.process(), await runner.process()]
        with pytest.raises(ValueError, match="async two"):
            await runner.process()
        out.append(await runner.process())
        await runner.deinit()
        return out

    assert [(1, 0), (2, 1), (4, 3)] == asyncio.run(main())
    assert [0, 1, 3] == RECORDED


def test_cancelling_process_cancels_nodes_and_closes_assets(core):
    """process() cancelled from outside cancels running nodes, closes node/process assets, stays usable."""
    testnodes.reset_async_life()
    testnodes.reset_life()
    runner = AsyncRunner(Tube.from_specification({"noob_id": "c", "nodes": {
        "a": COUNT,
        "slow": {"type": "testnodes.sleep_then", "params": {"delay": 5.0}, "depends": [{"x": "a.index"}]},
        "h": {"type": "testnodes.hold", "params": {"delay": 5.0}, "depends": [{"box": "assets.n"}]},
        "p": {"type": "testnodes.read", "depends": [{"box": "assets.p"}]},
    }, "assets": {"n": {"type": "testnodes.counted_cm", "scope": "node"},
                  "p": {"type": "testnodes.counted_cm", "scope": "process"}}}), core=core)

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(runner.process(), 0.1)
        assert (LIFE["enter"], LIFE["exit"]) == (2, 2)
        runner.disable_node("slow")
        await runner.disable_node("h")
        assert await runner.process() is None  # usable again
        await runner.deinit()

    asyncio.run(main())
    assert 1 == testnodes.ASYNC_LIFE["cancelled"]  # `slow`; `h` was cancelled too, and its asset closed
    assert LIFE["enter"] == LIFE["exit"] == 3


@pytest.mark.parametrize("scope", ["process", "node"])
def test_assets_closed_when_a_node_raises(core, scope):
    """A node raising closes the node- and process-scoped assets it used; enter/exit stay paired."""
    testnodes.reset_life()
    runner = AsyncRunner(Tube.from_specification({"noob_id": "t", "nodes": {
        "a": {"type": "testnodes.bump_fail_on_3", "depends": [{"box": "assets.res"}]}},
        "assets": {"res": {"type": "testnodes.counted_cm", "scope": scope, "params": {"start": 2}}}}), core=core)

    async def main():
        for _ in range(3):
            with pytest.raises(RuntimeError, match="box hit 3") as info:
                await runner.process()
            assert ["[noob] raised by node 'a' in epoch" in n for n in info.value.__notes__] == [True]
            assert LIFE["enter"] == LIFE["exit"]
        await runner.deinit()

    asyncio.run(main())
    assert 3 == LIFE["enter"] == LIFE["exit"]


def test_failing_asset_factory_at_init(core):
    """A failing runner-scoped factory is an AssetError from init(); created assets are closed."""
    testnodes.reset_life()
    runner = AsyncRunner(Tube.from_specification({"noob_id": "t", "nodes": {
        "a": {"type": "testnodes.read", "depends": [{"box": "assets.ok"}]},
        "b": {"type": "testnodes.read", "depends": [{"box": "assets.bad"}]}},
        "assets": {"ok": {"type": "testnodes.counted_cm", "scope": "runner"},
                   "bad": {"type": "testnodes.failing_factory", "scope": "runner"}}}), core=core)
    with pytest.raises(AssetError, match="asset 'bad'"):
        asyncio.run(runner.init())
    assert (1, 1) == (LIFE["enter"], LIFE["exit"])
    assert not runner.running


# ---------------------------------------------------------------- lifecycle


def test_lifecycle_counts(core):
    """init/deinit once each, also through async with, run(), iter() and repeated init()."""
    testnodes.Scale.inits = testnodes.Scale.deinits = 0
    runner = AsyncRunner(Tube.from_specification(t({
        "a": COUNT, "s": {"type": "testnodes.Scale", "params": {"factor": 5}, "depends": "a.index"},
        "r": {"type": "return", "depends": "s.scaled"}})), core=core)

    async def main():
        async with runner as r:
            assert r is runner and runner.running
            assert [0, 5, 10] == await runner.run(3)
            await runner.init()  # idempotent
        await runner.deinit()  # idempotent
        assert (1, 1) == (testnodes.Scale.inits, testnodes.Scale.deinits)
        assert [0, 5] == [x async for x in runner.iter(2)]
        assert (2, 2) == (testnodes.Scale.inits, testnodes.Scale.deinits)
        assert 0 == await runner.process()  # implicit init
        assert (3, 2) == (testnodes.Scale.inits, testnodes.Scale.deinits)
        await runner.deinit()

    asyncio.run(main())
    assert (3, 3) == (testnodes.Scale.inits, testnodes.Scale.deinits)


def test_async_init_and_deinit_are_awaited_on_the_running_loop(core):
    """async def init/deinit of nodes and assets are awaited, on the loop the runner runs on."""
    testnodes.reset_async_life()
    testnodes.reset_life()
    runner = AsyncRunner(Tube.from_specification({"noob_id": "t", "nodes": {
        "a": COUNT, "l": {"type": "testnodes.AsyncLifecycle", "depends": "a.index"},
        "b": {"type": "testnodes.bump", "depends": [{"box": "assets.r"}]}},
        "assets": {"r": {"type": "testnodes.AsyncCountedAsset", "scope": "runner"}}}), core=core)

    async def main():
        await runner.run(3)
        await runner.deinit()
        return asyncio.get_running_loop()

    loop = asyncio.run(main())
    assert (1, 1) == (testnodes.ASYNC_LIFE["init"], testnodes.ASYNC_LIFE["deinit"])
    assert all(x is loop for x in testnodes.ASYNC_LIFE["loops"])
    assert (1, 1) == (LIFE["init"], LIFE["deinit"])


def test_enable_and_disable_node(core):
    """disable_node skips a node and deinitialises it; enable_node brings it back (awaitable or not)."""
    testnodes.CALLS.clear()
    runner = AsyncRunner(Tube.from_specification(t({
        "a": COUNT, "l": {"type": "testnodes.Lifecycle", "depends": "a.index"},
        "r": {"type": "return", "depends": [{"a": "a.index"}, {"l": "l.value"}]}})), core=core)

    async def main():
        out = [await runner.process()]
        await runner.disable_node("l")
        out.append(await runner.process())
        runner.enable_node("l")  # not awaited: the next process() waits for its init
        out.append(await runner.process())
        await runner.deinit()
        return out

    assert [{"a": 0, "l": 0}, {"a": 1}, {"a": 2, "l": 2}] == asyncio.run(main())
    assert ["init l", "deinit l", "init l", "deinit l"] == testnodes.CALLS
    with pytest.raises(KeyError, match="has no node 'zz'"):
        runner.disable_node("zz")


def test_runner_usable_across_event_loops(core):
    """A runner deinitialised on one loop can be started again on the next asyncio.run()."""
    runner = AsyncRunner(Tube.from_specification(DATA / "basic.yaml"), core=core)
    assert [0, 2] == asyncio.run(runner.run(2))
    asyncio.run(runner.deinit())
    assert [0, 2] == asyncio.run(runner.run(2))


def test_sync_runner_with_async_nodes_inside_running_loop(core):
    """The synchronous runner with async nodes, called from a coroutine, does not deadlock."""
    runner = SynchronousRunner(Tube.from_specification(t({
        "a": COUNT, "b": {"type": "testnodes.async_double", "depends": "a.index"},
        "r": {"type": "return", "depends": "b.value"}})), core=core)

    async def main():
        return runner.run(3)

    assert [0, 2, 4] == asyncio.run(main())


# ---------------------------------------------------------------- pipelined epochs

PIPE_LOG: list = []


async def staged(x: int, name: str = "s", delay: float = 0.0, stagger: float = 0.0) -> int:
    """``x`` after ``delay - stagger * (x % 3)`` seconds (so a later epoch can overtake), logged."""
    PIPE_LOG.append(("start", name, x))
    await asyncio.sleep(max(0.0, delay - stagger * (x % 3)))
    PIPE_LOG.append(("end", name, x))
    return x


class Ordered:
    """A stateful node: logs every call and returns how many calls it has had."""

    def __init__(self) -> None:
        self.calls = 0

    def process(self, x: int) -> int:
        PIPE_LOG.append(("ordered", x))
        self.calls += 1
        return self.calls


def add_to(box: list, x: int) -> Annotated[list, Name("box")]:
    """A new one-item list: ``box[0] + x`` (the runner asset's round trip stores it)."""
    return [box[0] + x]


def _staged(name: str, dep: str, delay: float = 0.03, stagger: float = 0.01) -> dict:
    return {"type": "test_async_runner.staged", "params": {"name": name, "delay": delay, "stagger": stagger},
            "depends": [{"x": dep}]}


def _pipelinable(s: Scenario) -> bool:
    tube = _tube(s)
    return not s.process_inputs and not tube.plan("python").regions


def _run_outcome(out: Any, log: list | None, epoch: int) -> tuple:
    return (out, None if log is None else sorted(_events(log), key=repr), epoch)


# a node other than a source ends the run: the next epochs have started by then (pipelined),
# so only the results are the sync runner's, not the events and epoch count
STOPS_MIDWAY = {"function-stop-iteration"}


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if _pipelinable(s)], ids=lambda s: s.id)
def test_pipelined_run_same_as_sync(core, scenario):
    """run(n) with three epochs in flight gives the sync runner's results, events and epoch count."""
    random.seed(0)
    np.random.seed(0)
    sync = SynchronousRunner(_tube(scenario), core=core)
    log: list = []
    sync.add_callback(log.append)
    try:
        expected = _run_outcome(norm(sync.run(scenario.epochs)), log, sync.epoch)
    except Exception as exc:  # noqa: BLE001 - errors are part of the outcome compared
        expected = _run_outcome(outcome_of_error(exc), None, -1)
    finally:
        with contextlib.suppress(Exception):
            sync.deinit()

    async def main() -> tuple:
        random.seed(0)
        np.random.seed(0)
        runner = AsyncRunner(_tube(scenario), core=core, max_epochs_in_flight=3)
        log: list = []
        runner.add_callback(log.append)
        try:
            return _run_outcome(norm(await runner.run(scenario.epochs)), log, runner.epoch)
        except Exception as exc:  # noqa: BLE001
            return _run_outcome(outcome_of_error(exc), None, -1)
        finally:
            with contextlib.suppress(Exception):
                await runner.deinit()

    actual = asyncio.run(main())
    if scenario.id in STOPS_MIDWAY:
        assert expected[0] == actual[0] and expected[2] <= actual[2]
    else:
        assert expected == actual


def test_pipelined_stateful_node_keeps_epoch_order(core):
    """Later epochs overtake in a stateless stage, yet the stateful node after it sees epochs in order."""
    PIPE_LOG.clear()
    spec = t({"a": COUNT, "s": _staged("s", "a.index"), "o": {"type": "test_async_runner.Ordered", "depends": "s.value"},
              "r": {"type": "return", "depends": ["s.value", "o.value"]}})
    runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=3)
    results = asyncio.run(runner.run(6))
    assert [(k, k + 1) for k in range(6)] == results
    assert list(range(6)) == [x for kind, *rest in PIPE_LOG if kind == "ordered" for x in rest]
    ends = [x for kind, name, *rest in (e for e in PIPE_LOG if len(e) == 3) if kind == "end" for x in rest]
    assert ends != sorted(ends)  # the stateless stage really ran epochs side by side, out of order


def test_pipelined_epochs_overlap_up_to_the_bound(core):
    """With max_epochs_in_flight=k, exactly k epochs' stages run at once, never more."""
    for k in (2, 3):
        PIPE_LOG.clear()
        spec = t({"a": COUNT, "s": _staged("s", "a.index", 0.02, 0.0), "u": _staged("u", "s.value", 0.02, 0.0),
                  "r": {"type": "return", "depends": "u.value"}})
        runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=k)
        assert list(range(8)) == asyncio.run(runner.run(8))
        active, peak = set(), 0
        for kind, _name, x in PIPE_LOG:
            (active.add if kind == "start" else active.discard)(x)
            peak = max(peak, len(active))
        assert k == peak


def test_pipelined_runner_asset_round_trip_serialises_its_users(core):
    """A runner asset with a depends round trip: its reader and writer see epochs in sync order."""
    PIPE_LOG.clear()
    spec = {"noob_id": "acc", "nodes": {
        "a": COUNT, "s": _staged("s", "a.index"),
        "rd": {"type": "testnodes.read", "depends": [{"box": "assets.acc"}]},
        "sum": {"type": "testnodes.add", "depends": [{"a": "s.value"}, {"b": "rd.value"}]},
        "w": {"type": "test_async_runner.add_to", "depends": [{"box": "assets.acc"}, {"x": "sum.value"}]},
        "r": {"type": "return", "depends": ["w.box", "rd.value"]}},
        "assets": {"acc": {"type": "testnodes.counted_cm", "scope": "runner", "params": {"start": 100}, "depends": "w.box"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaceWarning)
        expected = norm(SynchronousRunner(Tube.from_specification(spec), core=core).run(6))
        runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=3)
    assert [([200], 100), ([401], 200), ([804], 401)] == expected[:3]
    assert expected == norm(asyncio.run(runner.run(6)))


def test_pipelined_process_calls_return_their_own_epochs_in_order(core):
    """Concurrent process() calls run pipelined; each returns its epoch's result; EpochEnded in order."""
    PIPE_LOG.clear()
    spec = t({"a": COUNT, "s": _staged("s", "a.index"), "r": {"type": "return", "depends": "s.value"}})
    runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=4)
    ended: list = []
    finished: list = []
    runner.add_callback(lambda e: ended.append(e["epoch"]) if e["node_id"] == "meta" else None)

    async def one(k: int) -> Any:
        out = await runner.process()
        finished.append(k)
        return out

    async def main() -> list:
        out = await asyncio.gather(*(one(k) for k in range(6)))
        await runner.deinit()
        return out

    assert list(range(6)) == asyncio.run(main())
    assert [Epoch(k) for k in range(6)] == ended
    assert list(range(6)) == finished


def test_pipelined_process_inputs_stay_with_their_epoch(core):
    """Pipelined process(x=...) calls: each epoch computes with its own inputs; a tube-input override does not leak."""
    spec = t({"a": {"type": "testnodes.add", "depends": [{"a": "input.x"}, {"b": "input.y"}]},
              "s": _staged("s", "a.value", 0.02, 0.005), "r": {"type": "return", "depends": "s.value"}},
             input={"x": {"type": "int", "scope": "process"}, "y": {"type": "int", "scope": "tube"}})
    runner = AsyncRunner(Tube.from_specification(spec, input={"y": 10}), core=core, max_epochs_in_flight=3)

    async def main() -> list:
        calls = [runner.process(x=k) for k in range(4)] + [runner.process(x=4, y=1000), runner.process(x=5)]
        out = await asyncio.gather(*calls)
        await runner.deinit()
        return out

    assert [10, 11, 12, 13, 1004, 15] == asyncio.run(main())


def test_pipelined_failure_abandons_later_epochs_and_recovers(core):
    """A node failing in epoch 2 raises there; epoch 3, already running, is abandoned; the runner goes on."""
    spec = t({"a": COUNT, "s": _staged("s", "a.index", 0.01, 0.0), "b": {"type": "testnodes.async_boom", "depends": "s.value"},
              "r": {"type": "return", "depends": "b.value"}})
    runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=4)

    async def main() -> tuple:
        outs = await asyncio.gather(*(runner.process() for _ in range(4)), return_exceptions=True)
        after = await runner.run(2)
        with pytest.raises(ValueError, match="async two"):
            await AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=3).run(5)
        await runner.deinit()
        return outs, after

    outs, after = asyncio.run(main())
    assert [0, 1] == outs[:2]
    assert isinstance(outs[2], ValueError)
    assert ["[noob] raised by node 'b' in epoch 2 of tube 't'"] == outs[2].__notes__
    assert isinstance(outs[3], RuntimeError) and "epoch 3 of tube 't' was abandoned because epoch 2 failed" == str(outs[3])
    assert [4, 5] == after


def test_pipelined_exhaustion_starts_no_extra_epoch(core):
    """A finite source stops the pipeline where the sync runner stops: same results, same epoch count."""
    spec = t({"g": {"type": "testnodes.finite", "params": {"n": 3}}, "s": _staged("s", "g.item", 0.01, 0.0),
              "r": {"type": "return", "depends": "s.value"}})
    sync = SynchronousRunner(Tube.from_specification(spec), core=core)
    runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=3)
    assert [0, 1, 2] == sync.run(10) == asyncio.run(runner.run(10))
    assert 4 == sync.epoch == runner.epoch
    with pytest.raises(SchedulerExhaustedError):
        asyncio.run(runner.process())


def test_pipelined_iter_yields_in_order(core):
    """iter(n) with pipelined epochs yields the sync runner's first n results and deinitialises."""
    spec = t({"a": COUNT, "s": _staged("s", "a.index"), "o": {"type": "test_async_runner.Ordered", "depends": "s.value"},
              "r": {"type": "return", "depends": ["s.value", "o.value"]}})
    runner = AsyncRunner(Tube.from_specification(spec), core=core, max_epochs_in_flight=3)

    async def main() -> list:
        return [x async for x in runner.iter(4)]

    assert [(k, k + 1) for k in range(4)] == asyncio.run(main())
    assert not runner.running


def test_pipelined_refuses_map_nodes_and_bad_bounds(core):
    """Map nodes cannot be pipelined (a clear ValueError naming them); the bound must be >= 1."""
    tube = Tube.from_specification(DATA / "map" / "map_gather.yaml")
    maps = [k for k, nd in tube.nodes.items() if type(nd).__name__ == "MapNodeAdapter"]
    with pytest.raises(ValueError, match=f"map nodes \\({maps[0]!r}.*max_epochs_in_flight=1"):
        AsyncRunner(tube, core=core, max_epochs_in_flight=2)
    with pytest.raises(ValueError, match="max_epochs_in_flight must be at least 1, got 0"):
        AsyncRunner(Tube.from_specification(DATA / "basic.yaml"), core=core, max_epochs_in_flight=0)


def test_async_chain_awaits_without_tasks(core):
    """A chain of async nodes, nothing to overlap, is awaited in the caller's task: no task per node."""
    nodes: dict = {"a": COUNT}
    prev = "a.index"
    for k in range(5):
        nodes[f"c{k}"] = {"type": "test_async_runner.task_of", "depends": [{"x": prev}]}
        prev = f"c{k}.value"
    nodes["r"] = {"type": "return", "depends": prev}
    runner = AsyncRunner(Tube.from_specification(t(nodes)), core=core, loop_nodes={"a"})

    async def main() -> tuple:
        me = asyncio.current_task()
        out = [await runner.process() for _ in range(3)]
        await runner.deinit()
        return me, out

    me, out = asyncio.run(main())
    assert [[me] * 5] * 3 == out


async def task_of(x: Any) -> Any:
    """The task this node runs in (a list of them, one per node of a chain)."""
    await asyncio.sleep(0)
    return [*(x if isinstance(x, list) else []), asyncio.current_task()]


def test_sync_chain_runs_in_one_worker_hop(core):
    """Default mode: a chain of sync nodes runs in one worker thread, off the loop thread."""
    nodes: dict = {"a": COUNT}
    prev = "a.index"
    for k in range(5):
        nodes[f"c{k}"] = {"type": "test_async_runner.thread_of", "depends": [{"x": prev}]}
        prev = f"c{k}.value"
    nodes["r"] = {"type": "return", "depends": prev}
    runner = AsyncRunner(Tube.from_specification(t(nodes)), core=core)
    out = asyncio.run(runner.run(3))
    assert all(1 == len(set(threads)) and threading.get_ident() not in threads for threads in out)


def test_blocking_chain_never_blocks_the_loop(core):
    """While a worker runs a chain of blocking nodes, other coroutines on the loop keep running."""
    nodes: dict = {"a": COUNT}
    prev = "a.index"
    for k in range(3):
        nodes[f"c{k}"] = {"type": "testnodes.block_then", "params": {"delay": 0.05}, "depends": [{"x": prev}]}
        prev = f"c{k}.value"
    nodes["r"] = {"type": "return", "depends": prev}
    runner = AsyncRunner(Tube.from_specification(t(nodes)), core=core)

    async def main() -> tuple:
        await runner.init()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.create_task(ticker())
        out = await runner.process()
        task.cancel()
        await runner.deinit()
        return out, ticks

    out, ticks = asyncio.run(main())
    assert 0 == out
    assert ticks >= 5  # 150 ms of blocking nodes, a tick per 5 ms: a blocked loop gives 0


def thread_of(x: Any) -> list:
    """The threads the chain's nodes ran in."""
    return [*(x if isinstance(x, list) else []), threading.get_ident()]


def test_exports():
    """AsyncRunner is importable from noob and noob.runner, and get_runner('async') returns it."""
    import noob
    import noob.runner

    assert noob.AsyncRunner is noob.runner.AsyncRunner is get_runner("async")
