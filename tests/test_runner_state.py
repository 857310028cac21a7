"""Issue 10's no-silent-failure rules for the runner, and modules found beside a tube file."""

from __future__ import annotations

import sys
import textwrap

import isolation_nodes
import pytest

from noob import SynchronousRunner, Tube

INTERRUPTING = {
    "noob_id": "interrupting",
    "assets": {"acc": {"type": "isolation_nodes.Accumulator", "scope": "runner"}},
    "nodes": {
        "src": {"type": "isolation_nodes.counter"},
        "scale": {"type": "isolation_nodes.Scale", "depends": [{"x": "src.value"}]},
        "stop": {"type": "testnodes.interrupt_at", "params": {"at": 3}, "depends": [{"x": "scale.value"}]},
        "add": {"type": "isolation_nodes.add_to", "depends": [{"acc": "assets.acc"}, {"x": "stop.value"}]},
        "return": {"type": "return", "depends": "add.total"},
    },
}


def test_run_reraises_keyboard_interrupt_after_deinit(core):
    """``run()`` hit by Ctrl-C deinitialises nodes and assets, then raises ``KeyboardInterrupt``
    (with a note on how far it got) instead of returning partial results."""
    isolation_nodes.LIFE.clear()
    runner = SynchronousRunner(Tube.from_specification(INTERRUPTING), core=core)
    with pytest.raises(KeyboardInterrupt) as info:
        runner.run(10)
    assert any("interrupted in epoch 3" in n and "3 results so far" in n for n in info.value.__notes__)
    assert not runner.running
    assert [[1, 1], [1, 1]] == sorted(v[:2] for v in isolation_nodes.LIFE.values())
    with runner:  # usable again: a fresh start
        assert [0, 1, 3] == runner.run(3)


def test_tube_finds_modules_beside_its_file(tmp_path, monkeypatch):
    """``Tube.from_specification(path)`` imports node modules next to the file, from any working
    directory, and leaves ``sys.path`` as it was."""
    (tmp_path / "beside_mod_7f3a.py").write_text(textwrap.dedent('''
        def double(x: int) -> int:
            return 2 * x
    '''))
    (tmp_path / "beside.yaml").write_text(textwrap.dedent('''
        noob_id: beside
        nodes:
          src: {type: itertools.count}
          d: {type: beside_mod_7f3a.double, depends: [{x: src.value}]}
          return: {type: return, depends: d.value}
    '''))
    monkeypatch.chdir("/")
    before = list(sys.path)
    tube = Tube.from_specification(tmp_path / "beside.yaml")
    assert before == sys.path
    with SynchronousRunner(tube) as runner:
        assert [0, 2, 4] == runner.run(3)


def test_async_run_reraises_keyboard_interrupt_after_deinit(core):
    """``AsyncRunner.run()`` hit by Ctrl-C deinitialises, then raises ``KeyboardInterrupt`` with a note."""
    import asyncio

    from noob.runner.asyncio import AsyncRunner

    isolation_nodes.LIFE.clear()
    runner = AsyncRunner(Tube.from_specification(INTERRUPTING), core=core)

    async def go() -> None:
        await runner.run(10)

    with pytest.raises(KeyboardInterrupt) as info:
        asyncio.run(go())
    assert any("interrupted in epoch 3" in n for n in getattr(info.value, "__notes__", []))
    assert not runner.running
    assert [[1, 1], [1, 1]] == sorted(v[:2] for v in isolation_nodes.LIFE.values())
