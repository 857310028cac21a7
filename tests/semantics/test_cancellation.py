"""Cancelling ``AsyncRunner.process()`` from outside (``asyncio.wait_for``, ``task.cancel()``)
leaks nothing: every asset entered is exited, on every async configuration and both cores.

Only the asyncio runner has a ``process()`` that can be cancelled, so this file runs on its
configurations (``conftest.CONFIGS``' async ones) only.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from sem_support import CONFIGS, tubeof
from semantic_nodes import counts

from noob.runner.asyncio import AsyncRunner

ASYNC = [name for name, (kind, _) in CONFIGS.items() if kind == "async"]


@pytest.mark.parametrize("config", ASYNC)
def test_cancelled_process_leaks_no_asset(core, config, tmp_path):
    """200 cancellations at random moments of epochs with node- and process-scoped assets:
    entered == exited for each, and the runner still works afterwards."""
    log = str(tmp_path / "log")
    nodes = {
        "s": {"type": "semantic_nodes.source"},
        "a": {"type": "semantic_nodes.slow", "depends": [{"x": "s.value"}, {"res": "assets.per_node"}]},
        "b": {"type": "semantic_nodes.add", "depends": [{"x": "a.value"}, {"k": "assets.one"}]},
        "r": {"type": "return", "depends": [{"b": "b.value"}, {"p": "assets.per_epoch"}]},
    }
    assets = {
        "per_node": {"type": "semantic_nodes.slow_logged", "scope": "node", "params": {"log": log, "name": "node"}},
        "per_epoch": {"type": "semantic_nodes.slow_logged", "scope": "process", "params": {"log": log, "name": "process"}},
        "one": {"type": "semantic_nodes.add", "scope": "runner", "params": {"x": 0, "k": 1}},
    }
    runner = AsyncRunner(tubeof(nodes, assets=assets), core=core, **CONFIGS[config][1])
    rng = random.Random(17)

    async def main() -> dict:
        await runner.init()
        for _ in range(200):
            try:
                await asyncio.wait_for(runner.process(), timeout=rng.uniform(0, 0.004))
            except TimeoutError:
                pass
        out = await runner.process()
        await runner.deinit()
        return out

    out = asyncio.run(main())
    assert "process" == out["p"]
    c = counts(log)
    assert c["enter:node"] == c["exit:node"]
    assert c["enter:process"] == c["exit:process"]
