"""Assets on both cores: the seed document's examples, scopes, round trips, lifecycle, race check."""

from __future__ import annotations

import warnings

import pytest
import testnodes

from noob import Tube
from noob.exceptions import AssetDependsWarning, AssetError, RaceWarning, SpecError

LIFE = testnodes.LIFE


def tube(nodes: dict, assets: dict, **extra) -> dict:
    return {"noob_id": "t", "nodes": nodes, "assets": assets, **extra}


# ---------------------------------------------------------------- the seed document, as written


def test_seed_runner_db_round_trip(make_runner):
    """The runner-scope example: the array doubles every epoch and comes back uncopied."""
    runner = make_runner("seed/runner_db.yaml")
    assert [3.0, 6.0, 12.0, 24.0] == [r["sum"] for r in runner.run(4)]
    slot = runner.plan.asset_slot["db"]
    first = runner._values[slot]
    runner.process()
    assert first is runner._values[slot]  # z.result is consumed by nobody: stored without a copy


def test_seed_function_asset(make_runner):
    """asset_func(x=2, y=5) gives a 2x5 array whose [0][0] use_func_asset sets to size + param*event."""
    runner = make_runner("seed/func_asset.yaml")
    result = runner.process()
    assert (2, 5) == result.shape
    assert 12.0 == result[0][0]


def test_seed_class_asset_goes_from_2_to_9(make_runner):
    """use_cls_asset takes AssetCls.x from 2 to 2 + 2 + 1 * 5 = 9, and it carries on next epoch."""
    runner = make_runner("seed/cls_asset.yaml")
    assert [9, 16, 23] == [runner.process().x for _ in range(3)]


@pytest.mark.parametrize("scope", ["process", "node"])
def test_seed_class_asset_rebuilt_per_scope(make_runner, scope):
    """Process- and node-scoped assets are rebuilt, so x is 9 in every epoch."""
    runner = make_runner(f"seed/cls_asset_{scope}.yaml")
    assert [9, 9, 9] == [runner.process().x for _ in range(3)]


# ---------------------------------------------------------------- lifecycle per scope

TWO_USERS = {
    "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
    "b": {"type": "testnodes.read", "depends": [{"box": "a.box"}]},
    "c": {"type": "testnodes.read", "depends": [{"box": "assets.res"}]},
}


def _counted(scope: str) -> dict:
    return {"res": {"type": "testnodes.CountedAsset", "scope": scope, "params": {"size": 1}}}


@pytest.mark.parametrize(
    ("scope", "during", "after"),
    [("runner", (1, 0), (1, 1)), ("process", (3, 3), (3, 3)), ("node", (6, 6), (6, 6))],
)
def test_lifecycle_counts(make_runner, scope, during, after):
    """init/deinit counts over 3 epochs: runner once, process once per epoch, node once per using call."""
    testnodes.reset_life()
    nodes = dict(TWO_USERS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaceWarning)
        runner = make_runner(tube(nodes, _counted(scope)))
    runner.run(3)
    assert during == (LIFE["init"], LIFE["deinit"])
    runner.deinit()
    assert after == (LIFE["init"], LIFE["deinit"])


@pytest.mark.parametrize("scope", ["runner", "process", "node"])
def test_lifecycle_paired_when_node_raises(make_runner, scope):
    """When a node raises, every created asset is still closed (enter/exit stay paired)."""
    testnodes.reset_life()
    runner = make_runner(tube(
        {"a": {"type": "testnodes.bump_fail_on_3", "depends": [{"box": "assets.res"}]}},
        {"res": {"type": "testnodes.counted_cm", "scope": scope, "params": {"start": 2}}},
    ))
    errors = 0
    for _ in range(4):
        try:
            runner.process()
        except RuntimeError as exc:
            assert "box hit 3" in str(exc)
            errors += 1
    assert 1 <= errors
    runner.deinit()
    assert LIFE["enter"] == LIFE["exit"]
    assert {"runner": 1, "process": 4, "node": 4}[scope] == LIFE["enter"]
    # the runner is usable again after deinit (here it fails again), and pairs stay matched
    with pytest.raises(RuntimeError, match="box hit 3"):
        runner.process()
    runner.deinit()
    assert LIFE["enter"] == LIFE["exit"]


def test_node_scope_not_created_for_other_nodes(make_runner):
    """A node-scoped asset is created only for the nodes that take it, once per call."""
    testnodes.reset_life()
    runner = make_runner(tube(
        {"src": {"type": "noob.testing.count_source"},
         "x": {"type": "testnodes.plus1", "depends": "src.index"},
         "a": {"type": "testnodes.read", "depends": [{"box": "assets.res"}]}},
        {"res": {"type": "testnodes.counted_cm", "scope": "node"}},
    ))
    runner.run(5)
    assert (5, 5) == (LIFE["enter"], LIFE["exit"])


def test_failing_asset_factory_reports_and_closes_others(make_runner):
    """A failing factory is reported with asset id and scope; assets already created are closed."""
    testnodes.reset_life()
    runner = make_runner(tube(
        {"a": {"type": "testnodes.read", "depends": [{"box": "assets.ok"}]},
         "b": {"type": "testnodes.read", "depends": [{"box": "assets.bad"}]}},
        {"ok": {"type": "testnodes.counted_cm", "scope": "runner"},
         "bad": {"type": "testnodes.failing_factory", "scope": "runner"}},
    ))
    with pytest.raises(AssetError, match="asset 'bad' \\(runner scope\\)") as info:
        runner.init()
    assert ("bad", "runner") == (info.value.asset, info.value.scope)
    assert isinstance(info.value.__cause__, OSError)
    assert (1, 1) == (LIFE["enter"], LIFE["exit"])
    assert not runner.running


# ---------------------------------------------------------------- the depends round trip


def test_no_copy_within_epoch(make_runner):
    """Within an epoch every node receives the very same object."""
    runner = make_runner(tube(
        {"a": {"type": "testnodes.ident", "depends": [{"box": "assets.arr"}]},
         "b": {"type": "testnodes.ident", "depends": [{"box": "a.box"}]},
         "r": {"type": "return", "depends": ["a.box", "b.box"]}},
        {"arr": {"type": "noob.testing.array", "scope": "runner", "depends": "b.box"}},
    ))
    a, b = runner.process()
    assert a is b


def test_copy_only_when_consumed_after_store(make_runner):
    """The stored value is a copy when a later node consumes the signal, so the counter moves by 2, not 3."""
    runner = make_runner(tube(
        {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
         "b": {"type": "testnodes.bump", "depends": [{"box": "a.box"}]},
         "post": {"type": "testnodes.bump", "depends": [{"box": "b.box"}]},
         "r": {"type": "return", "depends": "post.box"}},
        {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}},
    ))
    assert [[3], [5], [7]] == runner.run(3)


def test_noevent_never_updates_asset(make_runner):
    """An epoch where the depended signal does not fire leaves the asset as it was."""
    runner = make_runner(tube(
        {"src": {"type": "noob.testing.count_source"},
         "odd": {"type": "testnodes.odd_noevent", "depends": "src.index"},
         "a": {"type": "noob.testing.increment", "depends": [{"iterator": "assets.c"}]},
         "g": {"type": "testnodes.add", "depends": [{"a": "odd.value"}, {"b": "a.value"}]},
         "r": {"type": "return", "depends": [{"v": "a.value"}]}},
        {"c": {"type": "noob.testing.counter", "scope": "runner"}},
    ))
    assert [{"v": 0}, {"v": 1}, {"v": 2}] == runner.run(3)


def test_round_trip_across_gather(make_runner):
    """Through a gather, the asset is replaced only in epochs where the gather (and so `depends`) fires."""
    runner = make_runner(tube(
        {"u": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
         "g": {"type": "gather", "params": {"n": 2}, "depends": [{"value": "u.box"}]},
         "merge": {"type": "testnodes.first_times_ten", "depends": [{"items": "g.value"}]},
         "read": {"type": "testnodes.read", "depends": [{"box": "u.box"}]},
         "r": {"type": "return", "depends": "read.value"}},
        {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "merge.box"}},
    ))
    assert [1, 2, 21, 22, 221] == runner.run(5)


# ---------------------------------------------------------------- the race check

DIAMOND = {
    "A": {"type": "testnodes.ident", "depends": [{"box": "assets.res"}]},
    "B": {"type": "testnodes.bump", "depends": [{"box": "A.box"}]},
    "C": {"type": "testnodes.bump", "depends": [{"box": "A.box"}]},
    "D": {"type": "testnodes.star_args", "depends": ["B.box", "C.box"]},
}


def test_race_warning_on_diamond(core):
    """B and C both receive the runner asset with no order between them: a RaceWarning names both."""
    with pytest.warns(RaceWarning, match="'B' and 'C'") as record:
        Tube.from_specification(tube(DIAMOND, {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "D.value"}}))
    assert ("res", ("B", "C")) == (record[0].message.asset, record[0].message.nodes)


def test_race_warning_direct_unordered_users(core):
    """Two unordered nodes taking a process-scoped asset directly are warned about."""
    with pytest.warns(RaceWarning, match="'a' and 'b'"):
        Tube.from_specification(tube(
            {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
             "b": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]}},
            {"res": {"type": "testnodes.counted_cm", "scope": "process"}},
        ))


def test_race_check_silent_when_ordered(core):
    """A chain that passes the asset along in order raises no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Tube.from_specification(_data("seed/runner_db.yaml"))
        Tube.from_specification(tube(
            {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
             "b": {"type": "testnodes.bump", "depends": [{"box": "a.box"}]}},
            {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}},
        ))


def test_node_scope_never_races(core):
    """Node-scoped assets are separate per call, so unordered users are fine."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Tube.from_specification(tube(
            {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
             "b": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]}},
            {"res": {"type": "testnodes.counted_cm", "scope": "node"}},
        ))


def _data(path: str):
    from pathlib import Path

    return Path(__file__).parent / "data" / path


STORE_THEN_USE = {
    "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
    "b": {"type": "testnodes.bump", "depends": [{"box": "a.box"}]},
    "late": {"type": "testnodes.star_args", "depends": ["b.box", "assets.res"]},
}


def test_store_then_use_is_an_error(core):
    """A node that takes the asset directly after the node `depends` stores it from is an error."""
    with pytest.raises(SpecError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", RaceWarning)  # `b` and `beside` race: not the point here
        Tube.from_specification(tube(
            {**STORE_THEN_USE, "beside": {"type": "testnodes.read", "depends": [{"box": "a.box"}]}},
            {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}},
        ))
    text = str(info.value)
    assert "nodes.late.depends[1]" in text and "after node 'b'" in text and "fix:" in text


def test_store_then_use_the_original_accepts_warns(core):
    """With the storing node alone in its generation the original misses a later direct user: a warning here."""
    with pytest.warns(RaceWarning) as record:
        Tube.from_specification(tube(STORE_THEN_USE, {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}}))
    races = [w.message for w in record if isinstance(w.message, RaceWarning)]  # (and an AssetCopyWarning)
    assert [("nodes.late.depends[1]", ("late", "b"))] == [(w.path, w.nodes) for w in races]
    assert "The original noob accepted this only because 'b' is alone in its topological generation" in str(races[0])


def test_store_then_use_unordered_warns(core):
    """A direct user with no order relative to the storing node loads (as in the original) with a RaceWarning."""
    with pytest.warns(RaceWarning) as record:
        Tube.from_specification(tube(
            {"src": {"type": "noob.testing.count_source"},
             "a": {"type": "testnodes.bump", "depends": [{"box": "assets.res"}]},
             "b": {"type": "testnodes.bump", "depends": [{"box": "a.box"}]},
             "c": {"type": "testnodes.plus1", "depends": "src.index"},
             "d": {"type": "testnodes.plus1", "depends": "c.value"},
             "side": {"type": "testnodes.read", "depends": [{"box": "assets.res"}]}},
            {"res": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "b.box"}},
        ))
    store = [w.message for w in record if "no order relative to node 'b'" in str(w.message)]
    assert [("nodes.side.depends[0]", ("side", "b"))] == [(w.path, w.nodes) for w in store]
    assert str(store[0]).startswith("nodes.side.depends[0]: ")


# ---------------------------------------------------------------- asset errors at load time


def test_asset_errors_collected(core):
    """Unknown type and bad params are reported together; a depends on a missing signal warns meanwhile."""
    with pytest.raises(SpecError) as info, pytest.warns(AssetDependsWarning, match="assets.three.depends: 'a.missing'"):
        Tube.from_specification(tube(
            {"a": {"type": "testnodes.bump", "depends": [{"box": "assets.one"}]},
             "b": {"type": "testnodes.read", "depends": [{"box": "assets.two"}]},
             "c": {"type": "testnodes.read", "depends": [{"box": "assets.three"}]}},
            {"one": {"type": "testnodes.nope", "scope": "runner"},
             "two": {"type": "testnodes.counted_cm", "scope": "runner", "params": {"stop": 3}},
             "three": {"type": "testnodes.counted_cm", "scope": "runner", "depends": "a.missing"}},
        ))
    paths = [p.path for p in info.value.problems]
    assert ["assets.one.type", "assets.two.params.stop"] == sorted(paths)  # a missing depends signal only warns
