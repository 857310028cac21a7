"""Runners own what lives: many runners on one Tube never see each other (issue 10)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import isolation_nodes
import pytest

from noob import SynchronousRunner, Tube
from noob.runner.asyncio import AsyncRunner

EPOCHS = 40


def _lone(data_dir, core: str) -> list:
    """What one runner on its own tube returns."""
    with SynchronousRunner(Tube.from_specification(data_dir / "isolation.yaml"), core=core) as runner:
        return runner.run(EPOCHS)


def _check_lifecycle(expected_instances: int) -> None:
    by_kind: dict[str, list] = {}
    for (kind, _), (inits, deinits, _obj) in isolation_nodes.LIFE.items():
        by_kind.setdefault(kind, []).append((inits, deinits))
    for kind in ("Scale", "Accumulator"):
        assert [(1, 1)] * expected_instances == by_kind.get(kind), kind


def test_sync_runners_on_one_tube(core, data_dir):
    """Four sync runners on one Tube, two stepping epoch by epoch in this thread and two in threads,
    each get exactly a lone runner's results; every instance is initialised and deinitialised once."""
    expected = _lone(data_dir, core)
    isolation_nodes.LIFE.clear()
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    runners = [SynchronousRunner(tube, core=core) for _ in range(4)]
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def in_thread(k: int) -> None:
        try:
            with runners[k]:
                results[k] = runners[k].run(EPOCHS)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=in_thread, args=(k,)) for k in (2, 3)]
    for t in threads:
        t.start()
    for r in runners[:2]:
        r.init()
    stepped: list[list] = [[], []]
    for _ in range(EPOCHS):
        for k in (0, 1):
            out = runners[k].process()
            if out is not None:
                stepped[k].append(out)
    for r in runners[:2]:
        r.deinit()
    for t in threads:
        t.join(timeout=60)
    assert [] == errors
    assert [expected] * 4 == [stepped[0], stepped[1], results[2], results[3]]
    _check_lifecycle(4)


def test_async_runners_on_one_tube(core, data_dir):
    """Four AsyncRunners on one Tube, two concurrently on this loop and two on loops of their own
    threads, each get exactly a lone runner's results; every instance lives once."""
    expected = _lone(data_dir, core)
    isolation_nodes.LIFE.clear()
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    runners = [AsyncRunner(tube, core=core) for _ in range(4)]
    results: dict[int, list] = {}

    async def drive(k: int) -> None:
        async with runners[k]:
            results[k] = await runners[k].run(EPOCHS)

    threads = [threading.Thread(target=lambda k=k: asyncio.run(drive(k))) for k in (2, 3)]
    for t in threads:
        t.start()

    async def main() -> None:
        await asyncio.gather(drive(0), drive(1))

    asyncio.run(main())
    for t in threads:
        t.join(timeout=60)
    assert [expected] * 4 == [results.get(k) for k in range(4)]
    _check_lifecycle(4)


def test_mixed_runners_on_one_tube(core, data_dir):
    """A sync and an async runner on one Tube, interleaved, do not disturb each other."""
    expected = _lone(data_dir, core)
    tube = Tube.from_specification(data_dir / "isolation.yaml")

    async def main() -> list:
        async with AsyncRunner(tube, core=core) as a:
            with SynchronousRunner(tube, core=core) as s:
                got_a, got_s = [], []
                for _ in range(EPOCHS):
                    x = await a.process()
                    y = s.process()
                    got_a += [x] if x is not None else []
                    got_s += [y] if y is not None else []
        return [got_a, got_s]

    assert [expected, expected] == asyncio.run(main())


def test_deinit_tears_down_its_own_instances(core, data_dir):
    """``a.deinit()`` deinitialises a's instances only; b keeps running on its own."""
    isolation_nodes.LIFE.clear()
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    a, b = SynchronousRunner(tube, core=core), SynchronousRunner(tube, core=core)
    a.init()
    b.init()
    a.deinit()
    assert [0] == [v[1] for (kind, _), v in isolation_nodes.LIFE.items() if kind == "Scale" and v[2] is b.nodes["scale"].instance]
    assert {"total": 0} == b.process()
    b.deinit()
    _check_lifecycle(2)


def test_runner_enable_node_is_its_own(core, data_dir):
    """A runner's ``disable_node`` changes that runner only; runners made later are unaffected."""
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    with SynchronousRunner(tube, core=core) as a:
        a.disable_node("pairs")
        with SynchronousRunner(tube, core=core) as b:
            assert [{"total": 0}, {"total": 10, "pairs": [0, 10]}] == b.run(2)
        assert [{"total": 0}, {"total": 10}] == a.run(2)


def test_tube_enable_node_reaches_live_runners(core, data_dir):
    """``Tube.disable_node`` / ``enable_node`` reach the live runners made from the tube (as in
    the original) and set the definition for runners made afterwards."""
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    before = SynchronousRunner(tube, core=core)
    with before:
        tube.disable_node("pairs")
        after = SynchronousRunner(tube, core=core)
        with after:
            assert [{"total": 0}, {"total": 10}] == before.run(2)
            assert [{"total": 0}, {"total": 10}] == after.run(2)
            tube.enable_node("pairs")
            assert [{"total": 30}, {"total": 60, "pairs": [20, 30]}] == before.run(2)
            assert [{"total": 30}, {"total": 60, "pairs": [20, 30]}] == after.run(2)
    tube.disable_node("pairs")  # a runner that is not running only changes its flags
    assert [{"total": 0}, {"total": 10}] == SynchronousRunner(tube, core=core).run(2)


def test_tube_holds_no_runtime_state(core, data_dir):
    """After runners start and stop, the Tube's node and asset definitions hold nothing live."""
    tube = Tube.from_specification(data_dir / "isolation.yaml")
    with SynchronousRunner(tube, core=core) as runner:
        runner.run(3)
    assert (None, None) == (tube.nodes["scale"].instance, tube.nodes["pairs"].instance)
    assert None is tube.nodes["src"]._gen
    assert None is tube.assets["acc"]._handle


@pytest.mark.parametrize("module", ["noob.tube", "noob.plan", "noob.spec", "noob.node"])
def test_definition_modules_import_no_runner(module):
    """Importing a definition layer loads no ``noob.runner`` module (checked in a fresh interpreter)."""
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('noob.runner')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert "[]" == out


def test_tube_pickles_as_a_definition(core, data_dir):
    """A Tube pickles (to worker processes, actors) and the copy runs like the original."""
    import pickle

    tube = Tube.from_specification(data_dir / "isolation.yaml")
    with SynchronousRunner(tube, core=core) as runner:
        expected = runner.run(4)
    copy = pickle.loads(pickle.dumps(tube))
    with SynchronousRunner(copy, core=core) as runner:
        assert expected == runner.run(4)
