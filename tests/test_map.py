"""map: one sub-epoch per element, gathered back; on both cores."""

from __future__ import annotations

import pytest

from noob import Tube
from noob.exceptions import SpecError


def test_map_then_gather(make_runner):
    """Mapped letters are upper-cased one by one and gathered back into the parent epoch."""
    runner = make_runner("map/map_gather.yaml")
    for result in runner.run(3):
        assert result["word"].upper() == result["joined"]


def test_return_inside_map_gives_lists(make_runner):
    """A return fed per element gets a list per key (also for one element); a parent key stays scalar."""
    runner = make_runner("map/map_return.yaml")
    assert [{"each": [1], "count": 1}, {"each": [1, 2], "count": 2}, {"each": [1, 2, 3], "count": 3}] == runner.run(3)


def test_parent_signal_repeated_per_element(make_runner):
    """A node fed by a mapped signal and a parent signal runs per element with the parent value repeated."""
    runner = make_runner("map/map_depends.yaml")
    assert [[["w0", 0], ["w1", 0]], [["w1", 1], ["w2", 1]]] == [[list(p) for p in g] for g in runner.run(2)]


def test_nested_maps(make_runner):
    """A map inside a map: letters of each word, of each list, gathered twice."""
    runner = make_runner("map/map_nested.yaml")
    assert [["W0", "W1"], ["W1", "W2"]] == runner.run(2)


def test_empty_list_gathers_empty(make_runner):
    """Mapping an empty list runs nothing per element; the gather after the map emits []."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "src": {"type": "testnodes.sized", "params": {"n": 0}},
        "m": {"type": "map", "depends": "src.items"},
        "p": {"type": "testnodes.plus1", "depends": "m.value"},
        "g": {"type": "gather", "depends": [{"value": "p.value"}, {"n": "m.n"}]},
        "r": {"type": "return", "depends": "g.value"},
    }})
    assert [[], [1], [1, 2]] == runner.run(3)


def test_empty_list_into_nested_map(make_runner):
    """An empty inner list gathers to [] inside the outer element; the outer gather still collects it."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "src": {"type": "testnodes.nested_lists"},
        "outer": {"type": "map", "depends": "src.lists"},
        "inner": {"type": "map", "depends": "outer.value"},
        "p": {"type": "testnodes.plus1", "depends": "inner.value"},
        "gi": {"type": "gather", "depends": [{"value": "p.value"}, {"n": "inner.n"}]},
        "go": {"type": "gather", "depends": [{"value": "gi.value"}, {"n": "outer.n"}]},
        "r": {"type": "return", "depends": "go.value"},
    }})
    assert [[[], [1], [1, 2]], [[1], []]] == runner.run(2)


def test_map_failure_leaves_no_partial_gather(make_runner):
    """After an element fails, the next epoch's gather fires with that epoch's values only."""
    runner = make_runner("map/map_fail_once.yaml")
    runner.init()
    with pytest.raises(ValueError, match="failing once on 1"):
        runner.process()
    assert {"u": 1, "f": [10, 11, 12]} == runner.process()
    assert {"u": 2, "f": [10, 11, 12]} == runner.process()


def test_map_gather_return_after_gather(make_runner):
    """A return fed before the map, inside it and after its gather gets all three keys."""
    runner = make_runner("map/map_gather_return.yaml")
    for out in runner.run(3):
        word = out["word"]
        assert [c + "!" for c in word] == out["letter"]
        assert "".join(c + "!" for c in word) == out["reconstructed"]
        assert ["word", "letter", "reconstructed"] == list(out)


def test_map_gather_return_empty_word(make_runner):
    """An empty word: no letters, the gather emits [] and the join after it still reaches the return."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "a": {"type": "testnodes.sized", "params": {"n": 0}},
        "b": {"type": "map", "depends": "a.items"},
        "c": {"type": "testnodes.plus1", "depends": "b.value"},
        "d": {"type": "gather", "depends": [{"value": "c.value"}, {"n": "b.n"}]},
        "e": {"type": "testnodes.sum_list", "depends": "d.value"},
        "r": {"type": "return", "depends": [{"items": "a.items"}, {"each": "c.value"}, {"total": "e.value"}]},
    }})
    assert [{"items": [], "total": 0}, {"items": [0], "each": [1], "total": 1}] == runner.run(2)


def test_nested_map_return_per_level(make_runner):
    """Nested maps: a key fed by the outer map has one value per word, one fed inside has one per letter."""
    runner = make_runner("map/map_nested_return.yaml")
    for out in runner.run(3):
        assert out["words"] == out["word"]
        assert [c + "!" for c in "".join(out["words"])] == out["letter"]


def test_map_over_non_iterable(make_runner):
    """Mapping a non-iterable raises TypeError naming the map node."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "src": {"type": "noob.testing.count_source"},
        "m": {"type": "map", "depends": "src.index"},
        "p": {"type": "testnodes.plus1", "depends": "m.value"},
    }})
    with pytest.raises(TypeError, match="map node 'm' needs an iterable value, got int"):
        runner.process()


def test_error_inside_map_names_subepoch(make_runner):
    """A node failing inside a map is named with its sub-epoch."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "src": {"type": "testnodes.sized", "params": {"n": 4}},
        "m": {"type": "map", "depends": "src.items"},
        "b": {"type": "testnodes.boom", "depends": "m.value"},
    }})
    with pytest.raises(ValueError) as info:
        runner.process()
    assert ["[noob] raised by node 'b' in epoch (0, ('m', 2)) of tube 'e'"] == info.value.__notes__


def test_two_unrelated_maps_rejected(core, data_dir):
    """A node downstream of two unrelated maps is an error naming both."""
    with pytest.raises(SpecError, match="two unrelated maps, 'm1' and 'm2'"):
        Tube.from_specification(data_dir / "map" / "map_two_unrelated.yaml")


def test_store_keeps_subepochs_once_read(make_runner):
    """Map sub-epochs are kept from the first epoch after runner.store was first read."""
    from noob import Epoch

    runner = make_runner("map/map_gather.yaml")
    runner.process()
    assert [Epoch(0)] == list(runner.store.events)  # nothing was asked for yet: the parent epoch only
    out = runner.process()
    store = runner.store
    letters = list(out["word"])
    assert [Epoch(1) / ("m", k) for k in range(len(letters))] == sorted(e for e in store.events if e != Epoch(1))
    assert [c.upper() for c in letters] == [store.events[Epoch(1) / ("m", k)]["up"]["value"][0]["value"] for k in range(len(letters))]


def test_nested_map_return_inside(make_runner):
    """A return fed from inside a nested map gets every inner element, in order."""
    runner = make_runner({"noob_id": "n", "nodes": {
        "w": {"type": "testnodes.words", "params": {"n": 2}},
        "outer": {"type": "map", "depends": "w.words"},
        "inner": {"type": "map", "depends": "outer.value"},
        "up": {"type": "testnodes.upper", "depends": "inner.value"},
        "r": {"type": "return", "depends": [{"x": "up.value"}]},
    }})
    assert [{"x": list("W0W1")}, {"x": list("W1W2")}] == runner.run(2)


def test_error_inside_nested_map_names_both_levels(make_runner):
    """A node failing inside a nested map is named with both element indices; no gather keeps a partial list."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "w": {"type": "testnodes.lists_with_two"},
        "outer": {"type": "map", "depends": "w.lists"},
        "inner": {"type": "map", "depends": "outer.value"},
        "b": {"type": "testnodes.boom", "depends": "inner.value"},
        "g": {"type": "gather", "depends": [{"value": "b.value"}, {"n": "inner.n"}]},
        "g2": {"type": "gather", "depends": [{"value": "g.value"}, {"n": "outer.n"}]},
    }})
    runner.init()
    with pytest.raises(ValueError) as info:
        runner.process()
    assert ["[noob] raised by node 'b' in epoch (0, ('outer', 1), ('inner', 1)) of tube 'e'"] == info.value.__notes__
    assert [[], []] == [runner.nodes[k].instance._items for k in ("g", "g2")]


def test_map_over_tuple_and_string(make_runner):
    """A tuple and a string are mapped like lists (the string letter by letter)."""
    runner = make_runner({"noob_id": "e", "nodes": {
        "src": {"type": "testnodes.sized", "params": {"n": 2}},
        "t": {"type": "testnodes.to_tuple", "depends": "src.items"},
        "m": {"type": "map", "depends": "t.value"},
        "p": {"type": "testnodes.plus1", "depends": "m.value"},
        "g": {"type": "gather", "depends": [{"value": "p.value"}, {"n": "m.n"}]},
        "r": {"type": "return", "depends": "g.value"},
    }})
    assert [[1, 2], [1, 2, 3]] == runner.run(2)
    letters = make_runner({"noob_id": "s", "nodes": {
        "w": {"type": "testnodes.words", "params": {"n": 1}},
        "j": {"type": "testnodes.join", "depends": "w.words"},
        "m": {"type": "map", "depends": "j.value"},
        "u": {"type": "testnodes.upper", "depends": "m.value"},
        "g": {"type": "gather", "depends": [{"value": "u.value"}, {"n": "m.n"}]},
        "r": {"type": "return", "depends": "g.value"},
    }})
    assert [["W", "0"], ["W", "1"]] == letters.run(2)
