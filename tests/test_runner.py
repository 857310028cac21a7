"""SynchronousRunner behaviour on both cores: return shapes, lifecycle, errors, node kinds."""

from __future__ import annotations

import asyncio

import pytest
import testnodes

from noob import Epoch, MetaSignal, SynchronousRunner, Tube
from noob.event import is_event
from noob.exceptions import SchedulerExhaustedError


def tube(nodes: dict, **extra) -> dict:
    return {"noob_id": "t", "nodes": nodes, **extra}


COUNT = {"type": "noob.testing.count_source"}


# ---------------------------------------------------------------- return shapes


@pytest.mark.parametrize(
    ("depends", "expected"),
    [
        ("a.index", [0, 1]),
        (["a.index"], [(0,), (1,)]),
        (["a.index", "a.index"], [(0, 0), (1, 1)]),
        ([{"x": "a.index"}], [{"x": 0}, {"x": 1}]),
        (["a.index", {"x": "a.index"}], [((0,), {"x": 0}), ((1,), {"x": 1})]),
    ],
)
def test_return_shapes(make_runner, depends, expected):
    """The return node packs values as the original does: scalar, tuple, dict, (tuple, dict)."""
    runner = make_runner(tube({"a": COUNT, "r": {"type": "return", "depends": depends}}))
    assert expected == [runner.process(), runner.process()]


def test_no_return_node_gives_none(make_runner):
    """Without a return node, process() returns None and run() returns None."""
    runner = make_runner(tube({"a": COUNT, "b": {"type": "testnodes.plus1", "depends": "a.index"}}))
    assert runner.process() is None
    assert runner.run(3) is None


def test_basic_tube_from_file(make_runner):
    """The original's basic tube runs unchanged from a file."""
    runner = make_runner("basic.yaml")
    assert [0, 2, 4, 6, 8] == runner.run(5)


# ---------------------------------------------------------------- run / iter / process


def test_iter_yields_n_and_deinits(make_runner):
    """iter(n) yields n results and deinitialises the runner afterwards."""
    runner = make_runner("basic.yaml")
    assert [0, 2, 4] == list(runner.iter(3))
    assert not runner.running


def test_context_manager(make_runner):
    """`with runner:` initialises on entry and deinitialises on exit."""
    runner = make_runner("basic.yaml")
    with runner as r:
        assert r is runner and runner.running
        assert 0 == runner.process()
    assert not runner.running


def test_epoch_counts_up(make_runner):
    """Each process() call is the next epoch; the epoch is injected where asked for."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.with_epoch", "depends": [{"x": "a.index"}]},
        "r": {"type": "return", "depends": "b.value"},
    }))
    assert [(0, 0), (1, 1), (2, 2)] == runner.run(3)
    assert 3 == runner.epoch


def test_process_inputs(make_runner):
    """Process-scoped inputs are dependencies given to each process() call."""
    runner = make_runner(tube(
        {"a": {"type": "testnodes.add", "depends": [{"a": "input.x"}, {"b": "input.y"}]},
         "r": {"type": "return", "depends": "a.value"}},
        input={"x": {"type": "int", "scope": "process"}, "y": {"type": "int", "scope": "tube"}},
    ), input={"y": 10})
    assert 11 == runner.process(x=1)
    assert 15 == runner.process(x=5)


# ---------------------------------------------------------------- NoEvent, None, optional slots


def test_none_is_a_value(make_runner):
    """A node returning None emits None; dependents run and receive it."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.returns_none", "depends": "a.index"},
        "c": {"type": "testnodes.is_none", "depends": "b.value"},
        "r": {"type": "return", "depends": "c.value"},
    }))
    assert [True, True] == runner.run(2)


def test_noevent_skips_required_dependents(make_runner):
    """NoEvent skips nodes that require the signal, transitively; process() returns None."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
        "c": {"type": "testnodes.plus1", "depends": "b.value"},
        "r": {"type": "return", "depends": "c.value"},
    }))
    assert [None, 2, None, 4] == [runner.process() for _ in range(4)]


def test_optional_slot_left_out_when_missing(make_runner):
    """An Optional[...] = None slot whose signal did not fire is left out; the node still runs."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
        "c": {"type": "testnodes.maybe_sum", "depends": [{"a": "a.index"}, {"b": "b.value"}]},
        "r": {"type": "return", "depends": "c.value"},
    }))
    assert [0, 2, 2, 6] == [runner.process() for _ in range(4)]


def test_switch_branches(make_runner):
    """Per-slot optional semantics: one branch of three fires per epoch, the merge runs every epoch."""
    runner = make_runner(tube({
        "s": {"type": "noob.testing.switch"},
        "m": {"type": "noob.testing.this_or_that",
              "depends": [{"this": "s.fruits"}, {"that": "s.vegetables"}, {"the_other": "s.minerals"}]},
        "r": {"type": "return", "depends": "m.value"},
    }))
    assert [{"this": "apple"}, {"that": "carrot"}, {"the_other": "quartz"}] == runner.run(3)


def test_dict_return_partial(make_runner):
    """A dict-form return leaves out keys whose signals did not fire."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
        "r": {"type": "return", "depends": [{"a": "a.index"}, {"b": "b.value"}]},
    }))
    assert [{"a": 0}, {"a": 1, "b": 1}] == runner.run(2)


def test_tuple_signals(make_runner):
    """A tuple return feeds several named signals."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.two_signals", "depends": "a.index"},
        "r": {"type": "return", "depends": [{"d": "b.double"}, {"t": "b.triple"}]},
    }))
    assert [{"d": 0, "t": 0}, {"d": 2, "t": 3}] == runner.run(2)


# ---------------------------------------------------------------- slots and params


def test_positional_only_and_star_args(make_runner):
    """Positional-only parameters and *args are fed from positional depends."""
    runner = make_runner(tube({
        "a": COUNT,
        "p": {"type": "testnodes.pos_only", "depends": ["a.index", "a.index"]},
        "s": {"type": "testnodes.star_args", "depends": ["a.index", "p.value", "a.index"]},
        "r": {"type": "return", "depends": "s.value"},
    }))
    assert [(0, 0, 0), (1, 0, 1)] == runner.run(2)


def test_params_dict_and_list(make_runner):
    """Function params are passed on every call, as keywords (dict) or positionally (list)."""
    runner = make_runner(tube({
        "a": COUNT,
        "k": {"type": "testnodes.add", "params": {"b": 100}, "depends": [{"a": "a.index"}]},
        "l": {"type": "testnodes.add", "params": [1000], "depends": [{"b": "k.value"}]},
        "r": {"type": "return", "depends": "l.value"},
    }))
    assert [1100, 1101] == runner.run(2)


def test_builtin_node(make_runner):
    """Builtins are nodes too (`type: sum`)."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.two_signals", "depends": "a.index"},
        "l": {"type": "testnodes.star_args", "depends": ["b.double", "b.triple"]},
        "s": {"type": "sum", "depends": "l.value"},
        "r": {"type": "return", "depends": "s.value"},
    }))
    assert [0, 5, 10] == runner.run(3)


# ---------------------------------------------------------------- node kinds


def test_plain_class_node(make_runner):
    """A plain class is instantiated with params on init; its state persists across epochs."""
    runner = make_runner(tube({
        "a": COUNT,
        "acc": {"type": "testnodes.Accumulate", "params": {"start": 10}, "depends": "a.index"},
        "r": {"type": "return", "depends": "acc.total"},
    }))
    assert [10, 11, 13, 16] == runner.run(4)
    assert runner.nodes["acc"].instance.inited


def test_process_method_decorator(make_runner):
    """@process_method picks the method called each epoch."""
    runner = make_runner(tube({
        "a": COUNT,
        "v": {"type": "noob.testing.Volume", "params": {"height": 3}, "depends": [{"width": "a.index"}, {"depth": "a.index"}]},
        "r": {"type": "return", "depends": "v.volume"},
    }))
    assert [0, 3, 12] == runner.run(3)


def test_node_subclass_lifecycle(make_runner):
    """Node subclass params come from annotated class attributes; init/deinit run once each."""
    testnodes.Scale.inits = testnodes.Scale.deinits = 0
    runner = make_runner(tube({
        "a": COUNT,
        "s": {"type": "testnodes.Scale", "params": {"factor": 5}, "depends": "a.index"},
        "r": {"type": "return", "depends": "s.scaled"},
    }))
    with runner:
        assert [0, 5, 10] == runner.run(3)
        runner.init()  # idempotent
    runner.deinit()  # idempotent
    assert (1, 1) == (testnodes.Scale.inits, testnodes.Scale.deinits)


def test_generator_class_and_iterator_sources(make_runner):
    """A @process_method generator and an iterator class (itertools.count) are sources."""
    runner = make_runner(tube({
        "g": {"type": "noob.testing.CountSourceDecor", "params": {"start": 5}},
        "i": {"type": "itertools.count", "params": {"start": 100}},
        "r": {"type": "return", "depends": ["g.count", "i.value"]},
    }))
    assert [(5, 100), (6, 101)] == runner.run(2)


def test_async_function_node(make_runner):
    """async def nodes run from the synchronous runner."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.async_double", "depends": "a.index"},
        "c": {"type": "noob.testing.NumberToLetterCls", "depends": "b.value"},
        "r": {"type": "return", "depends": ["b.value", "c.value"]},
    }))
    assert [(0, "a"), (2, "c")] == runner.run(2)


def test_async_node_inside_running_loop(make_runner):
    """A sync runner with async nodes works when called from inside a running event loop."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.async_double", "depends": "a.index"},
        "r": {"type": "return", "depends": "b.value"},
    }))

    async def main():
        return runner.run(3)

    assert [0, 2, 4] == asyncio.run(main())


# ---------------------------------------------------------------- exhaustion


def test_finite_generator_ends_run_and_iter(make_runner):
    """A generator that runs out ends run() and iter() cleanly; process() then raises."""
    spec = tube({"g": {"type": "testnodes.finite", "params": {"n": 3}}, "r": {"type": "return", "depends": "g.item"}})
    runner = make_runner(spec)
    assert [0, 1, 2] == runner.run(10)
    with pytest.raises(SchedulerExhaustedError):
        runner.process()
    runner.deinit()
    runner.init()  # re-initialising restarts the generator
    assert [0, 1, 2] == list(runner.iter())


def test_exhaustion_call_returns_none(make_runner):
    """The call in which the source runs out returns None (as in 1003.0.2)."""
    runner = make_runner(tube({"g": {"type": "noob.testing.count_source", "params": {"limit": 2}},
                               "r": {"type": "return", "depends": "g.index"}}))
    assert [0, 1, None] == [runner.process() for _ in range(3)]


# ---------------------------------------------------------------- errors


def test_node_error_keeps_type_and_gains_note(make_runner):
    """A failing node's exception keeps its type, gains a note naming node, epoch and tube."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.boom", "depends": "a.index"},
        "r": {"type": "return", "depends": "b.value"},
    }))
    assert [0, 1] == [runner.process(), runner.process()]
    with pytest.raises(ValueError, match="two is not allowed") as info:
        runner.process()
    assert ["[noob] raised by node 'b' in epoch 2 of tube 't'"] == info.value.__notes__
    # the runner stays usable: the next epoch runs
    assert 3 == runner.process()


def test_node_error_then_deinit_runs_every_deinit(make_runner):
    """After a node raises, deinit() still deinitialises every node."""
    testnodes.CALLS.clear()
    runner = make_runner(tube({
        "a": COUNT,
        "l": {"type": "testnodes.Lifecycle", "depends": "a.index"},
        "b": {"type": "testnodes.boom", "depends": "l.value"},
    }))
    runner.run(2)
    with pytest.raises(ValueError):
        runner.process()
    runner.deinit()
    assert ["init l", "deinit l"] == testnodes.CALLS


# ---------------------------------------------------------------- callbacks and store


def test_callbacks_and_store(make_runner):
    """Callbacks get every emitted event then EpochEnded; the store holds the last epoch."""
    runner = make_runner("basic.yaml")
    events = []
    runner.add_callback(events.append)
    runner.process()
    assert [("a", "index"), ("b", "value"), ("c", "value"), ("meta", "EpochEnded")] == [
        (e["node_id"], e["signal"]) for e in events
    ]
    assert all(is_event(e) for e in events)
    runner.process()
    store = runner.store
    assert 1 == store.get("a", "index")["value"]
    assert 2 == store.events[Epoch(1)]["b"]["value"][0]["value"]
    assert 2 == store.get("b", "value", epoch=1)["value"]


# ---------------------------------------------------------------- enable / disable


def test_disable_and_enable_node(make_runner):
    """A disabled node is skipped with its dependents; epoch numbering goes on; enabling restores it."""
    testnodes.CALLS.clear()
    runner = make_runner(tube({
        "a": COUNT,
        "l": {"type": "testnodes.Lifecycle", "depends": "a.index"},
        "r": {"type": "return", "depends": [{"a": "a.index"}, {"l": "l.value"}]},
    }))
    assert {"a": 0, "l": 0} == runner.process()
    runner.disable_node("l")
    assert {"a": 1} == runner.process()
    runner.enable_node("l")
    assert {"a": 2, "l": 2} == runner.process()
    assert 3 == runner.epoch
    assert ["init l", "deinit l", "init l"] == testnodes.CALLS


def test_enabled_false_in_spec(make_runner):
    """`enabled: false` keeps a node (and what requires it) from running."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.plus1", "depends": "a.index", "enabled": False},
        "r": {"type": "return", "depends": "b.value"},
    }))
    assert runner.run(2) is None


def test_unknown_node_id_for_disable(make_runner):
    """disable_node with an unknown id names the nodes that exist."""
    runner = make_runner("basic.yaml")
    with pytest.raises(KeyError, match="has no node 'zz'"):
        runner.disable_node("zz")


def test_max_iter_loops(make_runner):
    """iter() gives up after max_iter_loops epochs without a result."""
    runner = make_runner(tube({
        "a": COUNT,
        "b": {"type": "testnodes.odd_noevent", "depends": "a.index"},
        "c": {"type": "testnodes.returns_none", "depends": "b.value"},
        "r": {"type": "return", "depends": "b.value"},
    }), max_iter_loops=1)
    with pytest.raises(RuntimeError, match="maximum process calls"):
        list(runner.iter(2))


def test_metasignal_is_a_str_enum():
    """MetaSignal.NoEvent keeps the original's string value."""
    assert "__META__NoEvent" == MetaSignal.NoEvent.value


def test_runner_positional_tube_argument(core):
    """SynchronousRunner(tube) works positionally, as in the original."""
    runner = SynchronousRunner(Tube.from_specification(tube({"a": COUNT, "r": {"type": "return", "depends": "a.index"}})), core=core)
    assert [0, 1] == runner.run(2)


def test_name_is_hashable_and_compares_by_value():
    """Name can sit in unions and sets (the original's cannot on Python 3.11)."""
    from typing import Annotated, Optional

    from noob import Name

    assert {Name("x")} == {Name("x")}
    Optional[Annotated[int, Name("x")]]  # building the union needs a hashable Name


def test_statefulness_defaults_and_override(core):
    """Classes and generators are stateful, plain functions not; the spec's `stateful` overrides."""
    t = Tube.from_specification(tube({
        "g": COUNT,
        "f": {"type": "testnodes.plus1", "depends": "g.index"},
        "c": {"type": "testnodes.Accumulate", "depends": "f.value"},
        "s": {"type": "testnodes.Scale", "depends": "f.value"},
        "o": {"type": "testnodes.plus1", "depends": "f.value", "stateful": True},
    }))
    assert {"g": True, "f": False, "c": True, "s": True, "o": True} == {k: n.stateful for k, n in t.nodes.items()}


def test_documented_depends_forms_run(make_runner):
    """Integer keys for positional slots and a plain mapping run, as the original's docs show them."""
    runner = make_runner(tube({
        "a": COUNT,
        "p": {"type": "testnodes.pos_only", "depends": [{1: "a.index"}, {0: "c.value"}]},
        "c": {"type": "testnodes.plus1", "depends": "a.index"},
        "m": {"type": "testnodes.add", "depends": {"a": "p.value", "b": "c.value"}},
        "r": {"type": "return", "depends": "m.value"},
    }))
    # p = (index + 1) - index = 1; m = 1 + (index + 1)
    assert [2, 3, 4] == runner.run(3)
