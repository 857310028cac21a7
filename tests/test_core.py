"""The core's kernels: both implementations agree, results are deterministic, bad ids and
tables raise the same exceptions on both, and a node's return value must fit its signals."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import textwrap
from typing import Annotated

import numpy as np
import pytest

from noob import AsyncRunner, Name, SynchronousRunner, Tube, _core
from noob.exceptions import NotAddedError, SignalMismatchError
from noob.types import MetaSignal


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
def test_kernels_match_the_oracle(cores, seed):
    """csr, toposort, find_cycle and reachable: compiled gives the pure-Python oracle's results."""
    impl, oracle = cores
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
    starts = [3, 17, 41]
    assert oracle.reachable(n, oip, oix, starts).tolist() == impl.reachable(n, ip, ix, starts).tolist()
    rip, rix = impl.csr(n, dst, src)  # reversed: who reaches the starts
    orip, orix = oracle.csr(n, dst, src)
    assert oracle.reachable(n, orip, orix, starts).tolist() == impl.reachable(n, rip, rix, starts).tolist()


def test_reachable_from_several_starts(core):
    """reachable takes one id or several; on the reversed graph it gives the ancestors."""
    impl = _core.get(core)
    ip, ix = impl.csr(5, [0, 1, 3], [1, 2, 4])  # 0 -> 1 -> 2, 3 -> 4
    assert [0, 1, 1, 0, 0] == impl.reachable(5, ip, ix, 1).tolist()
    assert [0, 1, 1, 1, 1] == impl.reachable(5, ip, ix, [1, 3]).tolist()
    rip, rix = impl.csr(5, [1, 2, 4], [0, 1, 3])
    assert [1, 1, 1, 0, 0] == impl.reachable(5, rip, rix, [2]).tolist()
    assert [0, 0, 0, 0, 0] == impl.reachable(5, ip, ix, []).tolist()


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


def test_dispatcher_tables_match(cores):
    """A plan's tables are identical whichever core built them."""
    t = Tube.from_specification({"noob_id": "x", "nodes": {
        "a": {"type": "noob.testing.count_source"},
        "b": {"type": "noob.testing.multiply", "depends": [{"left": "a.index"}]},
        "r": {"type": "return", "depends": [{"v": "b.value"}, {"w": "a.index"}]},
    }})
    mine, oracle = t.plan("compiled").tables, t.plan("python").tables
    for key in mine:
        a, b = mine[key], oracle[key]
        assert (list(b) if not isinstance(b, np.ndarray) else b.tolist()) == (list(a) if not isinstance(a, np.ndarray) else a.tolist())


# ---------------------------------------------------------------- bad ids and tables: same error on both


def _dispatcher(impl, n_signals: int = 1):
    """A one-node dispatcher (``fns[0]`` returns its argument) over a slot table of 2 + n_signals."""
    return impl.Dispatcher(
        [lambda x: x], [0], np.array([impl.F_ENABLED], np.uint8), [0, 1], [0], [1], [1], [None],
        [0, n_signals], list(range(1, 1 + n_signals)), [0, 0], [], [], [], lambda v: v,
    )


def _raised(call) -> tuple[type, str]:
    try:
        call()
    except Exception as exc:
        return type(exc), str(exc)
    return type(None), ""


BAD_CALLS = {
    "set_flag node -1": lambda c: _dispatcher(c).set_flag(-1, c.F_ENABLED, True),
    "set_flag node 1": lambda c: _dispatcher(c).set_flag(1, c.F_ENABLED, True),
    "set_flag bit 256": lambda c: _dispatcher(c).set_flag(0, 256, True),
    "set_flag bit 0": lambda c: _dispatcher(c).set_flag(0, 0, True),
    "prepare_call node 5": lambda c: _dispatcher(c).prepare_call(5, [1, None, None]),
    "finish node -2": lambda c: _dispatcher(c).finish(-2, [1, None, None], 3),
    "run short slot table": lambda c: _dispatcher(c).run([1]),
    "prepare_call short slot table": lambda c: _dispatcher(c).prepare_call(0, []),
    "finish short slot table": lambda c: _dispatcher(c).finish(0, [1], 2),
    "set_native node 3": lambda c: _dispatcher(c).set_native(3, c.NATIVE_RET_SCALAR),
    "set_native kind 99": lambda c: _dispatcher(c).set_native(0, 99),
    "set_native gather without list": lambda c: _dispatcher(c).set_native(0, c.NATIVE_GATHER, None, 2),
    "set_native gather positional": lambda c: _dispatcher(c).set_native(0, c.NATIVE_GATHER, [], 2),
    "set_native gather_n -1": lambda c: _dispatcher(c).set_native(0, c.NATIVE_RET_SCALAR, None, -1),
    "set_native source with args": lambda c: _dispatcher(c).set_native(0, c.NATIVE_NEXT, iter(())),
    "set_native map of other core": lambda c: _dispatcher(c).set_native(0, c.NATIVE_MAP, object()),
    "run_each value slot": lambda c: _dispatcher(c).run_each([1, None], [1], 9, -1, 0),
    "run_each ret node": lambda c: _dispatcher(c).run_each([1, None], [1], 0, 4, 1),
    "dispatcher order": lambda c: c.Dispatcher(
        [len], [3], np.ones(1, np.uint8), [0, 0], [], [], [0], [None], [0, 0], [], [0, 0], [], [], [], None),
    "dispatcher arg_ptr": lambda c: c.Dispatcher(
        [len], [0], np.ones(1, np.uint8), [0, 2], [0], [1], [1], [None], [0, 0], [], [0, 0], [], [], [], None),
    "dispatcher kwnames": lambda c: c.Dispatcher(
        [len], [0], np.ones(1, np.uint8), [0, 1], [0], [1], [0], [None], [0, 0], [], [0, 0], [], [], [], None),
    "reachable start": lambda c: c.reachable(3, [0, 1, 2, 2], [1, 2], 3),
    "reachable starts": lambda c: c.reachable(3, [0, 1, 2, 2], [1, 2], [0, -1]),
    "reachable indptr": lambda c: c.reachable(3, [0, 1, 2], [1, 2], 0),
    "reachable indices": lambda c: c.reachable(3, [0, 1, 2, 2], [1, 7], 0),
    "toposort indptr": lambda c: c.toposort(2, [0, 2, 1], [1, 0]),
    "find_cycle indices": lambda c: c.find_cycle(2, [0, 1, 1], [-1]),
    "csr dst": lambda c: c.csr(2, [0], [2]),
    "csr lengths": lambda c: c.csr(2, [0, 1], [1]),
    "scheduler done": lambda c: c.Scheduler(2, [0, 1, 1], [1]).done(2),
    "scheduler indices": lambda c: c.Scheduler(2, [0, 1, 1], [5]),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_arguments_raise_the_same_on_both_cores(cores, case):
    """Every public entry checks its ids and tables: compiled raises what the twin raises."""
    compiled, python = (_raised(lambda c=c: BAD_CALLS[case](c)) for c in cores)
    assert python == compiled
    assert compiled[0] is not type(None)


@pytest.mark.parametrize("case", [k for k in BAD_CALLS if "node" in k or "start" in k or "done" in k])
def test_bad_node_id_is_not_added_error(core, case):
    """A node id outside the graph is a NotAddedError, which is an IndexError and a ValueError."""
    with pytest.raises(NotAddedError) as info:
        BAD_CALLS[case](_core.get(core))
    assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)
    assert "is not in the graph" in str(info.value)


def test_good_flag_and_run_still_work(core):
    """The checks let valid calls through: disable, run (skipped), enable, run (called)."""
    impl = _core.get(core)
    d = _dispatcher(impl)
    values = [5, None, None]
    d.set_flag(0, impl.F_ENABLED, False)
    d.run(values)
    assert MetaSignal.NoEvent == values[1]
    d.set_flag(0, impl.F_ENABLED, True)
    d.run(values)
    assert 5 == values[1]


# ---------------------------------------------------------------- a return value that does not fit the signals


def two_signals_returns(x: int, shape: str = "tuple") -> tuple[Annotated[int, Name("a")], Annotated[int, Name("b")]]:
    """A node with signals ``a`` and ``b`` that returns what ``shape`` says."""
    return {"tuple": (x, x), "list": [x, x], "three": (x, x, x), "one": (x,), "int": x, "none": None}[shape]  # type: ignore[return-value]


def _mismatch_tube(shape: str) -> Tube:
    return Tube.from_specification({"noob_id": "fit", "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "b": {"type": "test_core.two_signals_returns", "params": {"shape": shape}, "depends": "src.index"},
        "ret": {"type": "return", "depends": [{"a": "b.a"}, {"b": "b.b"}]},
    }})


@pytest.mark.parametrize("shape", ["tuple", "list"])
def test_tuple_or_list_of_the_right_length_fits(core, shape):
    """Two values for two signals, as a tuple or a list, reach both signals."""
    runner = SynchronousRunner(_mismatch_tube(shape), core=core)
    assert [{"a": 0, "b": 0}, {"a": 1, "b": 1}] == runner.run(2)


@pytest.mark.parametrize(
    ("shape", "found", "builtin"),
    [("three", "a tuple of 3 values", ValueError), ("one", "a tuple of 1 value", ValueError),
     ("int", "a value of type int", TypeError), ("none", "a value of type NoneType", TypeError)],
)
@pytest.mark.parametrize("runner_kind", ["sync", "async"])
def test_wrong_shape_names_node_epoch_expected_found(core, shape, found, builtin, runner_kind):
    """A 2-signal node returning 3 values, 1 value or a non-tuple: SignalMismatchError naming all."""
    tube = _mismatch_tube(shape)
    if runner_kind == "sync":
        runner = SynchronousRunner(tube, core=core)
        with pytest.raises(SignalMismatchError) as info:
            runner.run(2)
    else:
        runner = AsyncRunner(tube, core=core)
        with pytest.raises(SignalMismatchError) as info:
            asyncio.run(runner.run(2))
    err = info.value
    assert ("b", ("a", "b"), "fit") == (err.node, err.expected, err.tube)
    assert 0 == int(err.epoch)
    assert found == err.found
    assert isinstance(err, builtin)
    text = str(err)
    assert f"node 'b' of tube 'fit' returned {found} in epoch 0" in text
    assert "2 signals ('a', 'b')" in text


def test_mismatch_from_the_core_carries_integers_only(core):
    """The core raises with ids and counts; names come from the runner (locate)."""
    d = _dispatcher(_core.get(core), n_signals=2)
    with pytest.raises(SignalMismatchError) as info:
        d.finish(0, [1, None, None], (1, 2, 3))
    assert (0, 2, 3, "tuple", None) == (info.value.node_index, info.value.expected, info.value.found_len,
                                         info.value.found_type, info.value.node)
    assert "node 0 returned a tuple of 3 values for its 2 signals" == str(info.value)


def test_sibling_dispatchers_share_flags(core, data_dir):
    """A map region's dispatcher shares its parent's flags: a flag set on one is seen by the other
    (callbacks and enable/disable reach nodes inside map regions on both cores)."""
    from noob import SynchronousRunner, Tube

    runner = SynchronousRunner(Tube.from_specification(data_dir / "map" / "map_gather.yaml"), core=core)
    sub = next(iter(runner._subs.values()))
    i = runner.plan.index["up"]
    runner._dispatcher.set_flag(i, runner.core.F_HOOK_AFTER, True)
    assert bool(sub.flags[i] & runner.core.F_HOOK_AFTER)
    sub.set_flag(i, runner.core.F_ENABLED, False)
    assert not runner._dispatcher.flags[i] & runner.core.F_ENABLED
