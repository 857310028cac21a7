"""Lifecycle faults: hooks that raise, Ctrl-C mid-epoch, cancellation — on both runners and cores.

Contract under test (documented in ``noob.runner.base``): every other hook still runs; the
first error (in teardown order: nodes in spec order, then assets, newest first) is raised
and every later one is attached to it as a note ``[noob] also raised ...``; the runner is
usable afterwards (``process()`` again, or ``deinit()``/``init()``).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
import relnodes
from drivers import RUNNERS, Driver
from relnodes import LOG, Boom

from noob import SynchronousRunner, Tube
from noob.exceptions import AssetError
from noob.runner.asyncio import AsyncRunner

TUBE = {
    "noob_id": "rel-life",
    "assets": {
        "rbox": {"type": "relnodes.CountedAsset", "scope": "runner"},
        "rcm": {"type": "relnodes.counted_cm", "scope": "runner", "params": {"name": "rcm"}},
        "pbox": {"type": "relnodes.CountedAsset", "scope": "process"},
        "pcm": {"type": "relnodes.counted_cm", "scope": "process", "params": {"name": "pcm"}},
        "ncm": {"type": "relnodes.counted_cm", "scope": "node", "params": {"name": "ncm"}},
    },
    "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "k1": {"type": "relnodes.Tracked", "depends": [{"x": "a.index"}, {"box": "assets.rbox"}, {"pbox": "assets.pbox"}]},
        "k2": {"type": "relnodes.Tracked", "depends": [{"x": "k1.value"}, {"box": "assets.rcm"}, {"pbox": "assets.pcm"}]},
        "k3": {"type": "relnodes.Tracked", "depends": [{"x": "k2.value"}, {"box": "assets.ncm"}]},
        "r": {"type": "return", "depends": "k3.value"},
    },
}
RUNNER_LIFETIME = {"k1": (1, 0), "k2": (1, 0), "k3": (1, 0), "rbox": (1, 0), "rcm": (1, 0)}


@pytest.fixture(autouse=True)
def _clean() -> Any:
    gc.collect()  # a runner an earlier test left running closes its generator assets when collected
    relnodes.reset()
    yield
    relnodes.reset()


@pytest.fixture(params=RUNNERS)
def driver(request: pytest.FixtureRequest, core: str) -> Any:
    d = Driver(request.param, Tube.from_specification(TUBE), core)
    yield d
    d.close()


def also(exc: BaseException) -> list[str]:
    """The notes attaching later errors to ``exc``."""
    return [n for n in getattr(exc, "__notes__", []) if n.startswith("[noob] also raised")]


# ---------------------------------------------------------------------------- init / deinit
@pytest.mark.parametrize("hook", ["init k2", "open rbox", "open rcm"])
def test_init_fault_undoes_everything(driver: Driver, hook: str) -> None:
    """A node init or asset constructor that raises: what was started is stopped, the runner restarts."""
    relnodes.FAULTS[hook] = Boom(hook)
    with pytest.raises((Boom, AssetError)) as info:
        driver.init()
    if hook.startswith("open"):
        assert (AssetError, Boom) == (type(info.value), type(info.value.__cause__))
    else:
        assert "[noob] raised while initialising node 'k2' of tube 'rel-life'" in info.value.__notes__
    assert {} == relnodes.balanced()
    assert False is driver.runner.running
    relnodes.FAULTS.clear()
    assert [0, 1] == [driver.process(), driver.process()]
    driver.deinit()
    assert {} == relnodes.balanced()


def test_init_fault_with_teardown_fault_attached(driver: Driver) -> None:
    """Init fails, and undoing it fails too: the init error is raised, the undo error attached."""
    relnodes.FAULTS["open rcm"] = Boom("rcm constructor")
    relnodes.FAULTS["deinit k1"] = Boom("k1 deinit")
    with pytest.raises(AssetError) as info:
        driver.init()
    assert ["[noob] also raised while stopping: Boom: k1 deinit"] == [n.split(" (")[0] for n in also(info.value)]
    assert 1 == LOG["deinit k2"] == LOG["deinit k3"] == LOG["close rbox"]
    relnodes.FAULTS.clear()
    assert 0 == driver.process()


def test_deinit_faults_all_hooks_run_first_raised(driver: Driver) -> None:
    """Two node deinits and a context manager's __exit__ raise: every hook runs; the first is raised, the rest attached."""
    assert 0 == driver.process()
    relnodes.FAULTS["deinit k1"] = Boom("k1 deinit")
    relnodes.FAULTS["deinit k3"] = ValueError("k3 deinit")
    relnodes.FAULTS["close rcm"] = OSError("rcm exit")
    with pytest.raises(Boom) as info:
        driver.deinit()
    assert "k1 deinit" == str(info.value)
    assert [
        "[noob] also raised while stopping: ValueError: k3 deinit",
        "[noob] also raised while stopping: OSError: rcm exit",
    ] == [n.split(" (")[0] for n in also(info.value)]
    assert {} == relnodes.balanced()
    assert 1 == LOG["deinit k2"] == LOG["close rbox"] == LOG["close rcm"]
    assert False is driver.runner.running
    driver.deinit()  # idempotent: nothing is closed twice
    assert 1 == LOG["deinit k1"] == LOG["close rcm"]
    relnodes.FAULTS.clear()
    assert 0 == driver.process()  # starts again
    assert 2 == LOG["init k1"]


# ---------------------------------------------------------------------------- per-epoch assets
@pytest.mark.parametrize("hook", ["open pbox", "open pcm", "open ncm"])
def test_epoch_asset_constructor_fault(driver: Driver, hook: str) -> None:
    """A process- or node-scoped asset constructor that raises: the epoch fails, what opened is closed."""
    assert 0 == driver.process()
    relnodes.FAULTS[hook] = Boom(hook)
    with pytest.raises(AssetError) as info:
        driver.process()
    assert Boom is type(info.value.__cause__)
    assert RUNNER_LIFETIME == relnodes.balanced()
    relnodes.FAULTS.clear()
    # a node-scoped asset fails after the source ran in that epoch; a process-scoped one before
    assert (2 if hook == "open ncm" else 1) == driver.process()


@pytest.mark.parametrize("hook", ["close pcm", "close ncm", "close pbox"])
def test_epoch_asset_exit_fault(driver: Driver, hook: str) -> None:
    """A per-epoch asset's __exit__/deinit raising fails that epoch; the others close; the next epoch runs."""
    relnodes.FAULTS[hook] = OSError(hook)
    with pytest.raises(OSError, match=hook):
        driver.process()
    assert RUNNER_LIFETIME == relnodes.balanced()
    relnodes.FAULTS.clear()
    assert 1 == driver.process()


def test_node_fault_and_exit_fault_both_reported(driver: Driver) -> None:
    """A node raises and a process asset's __exit__ raises too: the node's error, the exit error attached."""
    relnodes.FAULTS["close pcm"] = OSError("pcm exit")
    tube = Tube.from_specification(
        {**TUBE, "nodes": {**TUBE["nodes"], "k3": {"type": "relnodes.fail_at", "params": {"at": 0}, "depends": [{"x": "k2.value"}, {"box": "assets.ncm"}]}}}
    )
    d = Driver(driver.kind, tube, driver.core)
    try:
        with pytest.raises(Boom) as info:
            d.process()
        assert ["[noob] also raised while closing assets: OSError: pcm exit"] == [n.split(" (")[0] for n in also(info.value)]
        relnodes.FAULTS.clear()
        assert 1 == d.process()
    finally:
        d.close()
    assert {} == relnodes.balanced()


# ---------------------------------------------------------------------------- Ctrl-C
INTERRUPT = {
    "noob_id": "rel-interrupt",
    "assets": {"pcm": {"type": "relnodes.counted_cm", "scope": "process", "params": {"name": "pcm"}},
               "rcm": {"type": "relnodes.counted_cm", "scope": "runner", "params": {"name": "rcm"}}},
    "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "k": {"type": "relnodes.Tracked", "depends": [{"x": "a.index"}, {"box": "assets.rcm"}, {"pbox": "assets.pcm"}]},
        "i": {"type": "relnodes.interrupt_at", "params": {"at": 2}, "depends": [{"x": "k.value"}]},
        "r": {"type": "return", "depends": "i.value"},
    },
}


def test_keyboard_interrupt_in_process(driver: Driver) -> None:
    """Ctrl-C inside a node: KeyboardInterrupt with the node's note; the epoch's assets closed; the runner goes on."""
    d = Driver(driver.kind, Tube.from_specification(INTERRUPT), driver.core)
    try:
        assert [0, 1] == [d.process(), d.process()]
        with pytest.raises(KeyboardInterrupt) as info:
            d.process()
        assert "[noob] raised by node 'i' in epoch 2 of tube 'rel-interrupt'" in info.value.__notes__
        assert {"k": (1, 0), "rcm": (1, 0)} == relnodes.balanced()
        assert 3 == d.process()
    finally:
        d.close()
    assert {} == relnodes.balanced()


def test_keyboard_interrupt_in_run_reraised_after_deinit(core: str) -> None:
    """SynchronousRunner.run(): Ctrl-C deinitialises everything, then re-raises (no partial result)."""
    runner = SynchronousRunner(Tube.from_specification(INTERRUPT), core=core)
    with pytest.raises(KeyboardInterrupt):
        runner.run(n=5)
    assert (False, {}) == (runner.running, relnodes.balanced())
    assert 1 == LOG["deinit k"] == LOG["close rcm"]
    assert [0, 1] == runner.run(n=2)  # usable afterwards: started again, with a fresh source
    runner.deinit()


def test_keyboard_interrupt_in_run_with_failing_deinit(core: str) -> None:
    """Ctrl-C in run() and a deinit that raises: the KeyboardInterrupt is raised, the deinit error attached."""
    runner = SynchronousRunner(Tube.from_specification(INTERRUPT), core=core)
    relnodes.FAULTS["deinit k"] = Boom("k deinit")
    with pytest.raises(KeyboardInterrupt) as info:
        runner.run(n=5)
    assert ["[noob] also raised while stopping: Boom: k deinit"] == [n.split(" (")[0] for n in also(info.value)]
    assert (False, {}) == (runner.running, relnodes.balanced())
    assert 1 == LOG["close rcm"]


# ---------------------------------------------------------------------------- cancellation
CANCEL = {
    "noob_id": "rel-cancel",
    "input": {"delay": {"type": "float", "scope": "process", "default": 0.0}},
    "assets": {"pcm": {"type": "relnodes.counted_cm", "scope": "process", "params": {"name": "pcm"}},
               "ncm": {"type": "relnodes.counted_cm", "scope": "node", "params": {"name": "ncm"}}},
    "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "k": {"type": "relnodes.Tracked", "depends": [{"x": "a.index"}, {"pbox": "assets.pcm"}]},
        "s": {"type": "relnodes.aslow", "depends": [{"x": "k.value"}, {"delay": "input.delay"}]},
        "t": {"type": "relnodes.slow", "depends": [{"x": "k.value"}, {"delay": "input.delay"}]},
        "u": {"type": "relnodes.fail_at", "depends": [{"x": "t.value"}, {"box": "assets.ncm"}]},
        "r": {"type": "return", "depends": [{"s": "s.value"}, {"u": "u.value"}]},
    },
}


def test_wait_for_cancels_async_process(core: str) -> None:
    """asyncio.wait_for times out a slow process(): assets closed, the lock released, the runner goes on."""

    async def main() -> tuple:
        runner = AsyncRunner(Tube.from_specification(CANCEL), core=core)
        first = await runner.process()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(runner.process(delay=0.3), timeout=0.05)
        open_after_cancel = relnodes.balanced()
        second = await asyncio.wait_for(runner.process(), timeout=5)
        await runner.deinit()
        return first, open_after_cancel, second

    first, open_after_cancel, second = asyncio.run(main())
    assert {"s": 0, "u": 0} == first
    assert {"k": (1, 0)} == open_after_cancel
    assert {"s": 2, "u": 2} == second
    assert {} == relnodes.balanced()


def test_cancel_task_mid_epoch_then_deinit(core: str) -> None:
    """A task running process() is cancelled: CancelledError reaches the caller; deinit still closes everything."""

    async def main() -> bool:
        runner = AsyncRunner(Tube.from_specification(CANCEL), core=core)
        task = asyncio.ensure_future(runner.process(delay=0.3))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await runner.deinit()
        return runner.running

    assert False is asyncio.run(main())
    assert {} == relnodes.balanced()
