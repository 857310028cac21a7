"""What a newcomer from the original noob hit on day one: each friction, fixed, on both runners
and both cores where it runs a tube."""

from __future__ import annotations

import pickle
import warnings

import pytest

from noob import Tube
from noob.exceptions import ExtraInputWarning, InputMissingError, SpecError

PROCESS_PARAMS = {
    "noob_id": "process-params",
    "input": {"limit": {"type": "int", "scope": "process"}},
    "nodes": {
        "a": {"type": "noob.testing.count_source", "params": {"limit": "input.limit"}},
        "r": {"type": "return", "depends": "a.index"},
    },
}


def test_process_input_in_params_is_input_missing(core):
    """A process-scoped input used in ``params`` raises one error that is a SpecError and an InputMissingError."""
    with pytest.raises(InputMissingError) as info:
        Tube.from_specification(PROCESS_PARAMS)
    err = info.value
    assert isinstance(err, SpecError)
    assert ("limit", "process") == (err.input, err.scope)
    assert ["nodes.a.params"] == [p.path for p in err.problems]
    assert "process-scoped input 'limit', which only exists during process(); use it in `depends`" in str(err)
    assert "Tube.from_specification(..., input=" not in str(err)  # that fix is for tube-scoped inputs
    again = pickle.loads(pickle.dumps(err))
    assert (True, "limit", str(err)) == (isinstance(again, InputMissingError), again.input, str(again))


def test_process_input_in_asset_params_is_input_missing(core):
    """The same for an asset's ``params``."""
    spec = {
        "noob_id": "process-asset-params",
        "input": {"n": {"type": "int", "scope": "process"}},
        "assets": {"buf": {"type": "builtins.list", "params": ["input.n"], "scope": "runner"}},
        "nodes": {"a": {"type": "noob.testing.count_source"}},
    }
    with pytest.raises(InputMissingError) as info:
        Tube.from_specification(spec)
    assert ["assets.buf.params"] == [p.path for p in info.value.problems]


def test_process_input_given_to_tube_warns_and_is_ignored(drive):
    """A value for a process-scoped input given at tube level warns ExtraInputWarning and is not used."""
    with pytest.warns(ExtraInputWarning, match=r"^Ignoring extra input .*'multiply_process'.*process\(multiply_process=\.\.\.\)"):
        tube = drive.tube("input_mixed", input={"start": 1, "multiply_process": 100})
    with pytest.raises(InputMissingError, match="multiply_process"):
        drive.process(tube, [{}])
    assert [1 * 7 * 2, 2 * 7 * 3] == drive.process(tube, [{"multiply_process": 2}, {"multiply_process": 3}])


def test_tube_input_given_to_tube_does_not_warn(drive):
    """Only tube-scoped values at tube level: no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube("input_mixed", input={"start": 1})
    assert [14] == drive.process(tube, [{"multiply_process": 2}])


# --------------------------------------------------------------------------- generator annotations

def _generator_tube(source: str, signal: str = "value") -> dict:
    return {
        "noob_id": f"gen-{source}",
        "nodes": {
            "int_source": {"type": f"compat.friction_nodes.{source}"},
            "multiply_by_2": {"type": "compat.friction_nodes.multiply", "depends": [{"left": f"int_source.{signal}"}],
                              "params": {"right": 2}},
            "d": {"type": "compat.friction_nodes.double", "depends": [f"int_source.{signal}"]},
            "r": {"type": "return", "depends": [{"m": "multiply_by_2.value"}, {"d": "d.value"}]},
        },
    }


@pytest.mark.parametrize(("source", "signal"), [
    ("gen_source", "value"), ("iter_source", "value"), ("named_source", "count"), ("annotated_source", "value"),
])
def test_generator_source_annotations_do_not_warn(drive, source, signal):
    """A source annotated Generator[int, None, None] / Iterator[int] / Annotated[...] emits int: no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube(_generator_tube(source, signal))
    assert [{"m": 0, "d": 0}, {"m": 2, "d": 2}, {"m": 4, "d": 4}] == drive.run(tube, 3)


def test_generator_source_of_the_wrong_type_still_warns(core):
    """The check still works through the generator: a Generator[int, ...] into a ``list`` slot warns."""
    from noob.exceptions import AnnotationWarning

    spec = {"noob_id": "gen-wrong", "nodes": {
        "s": {"type": "compat.friction_nodes.gen_source"},
        "b": {"type": "builtins.sorted", "depends": ["s.value"]},
        "c": {"type": "compat.friction_nodes.count_sent", "depends": [{"conn": "s.value"}]},
    }}
    with pytest.warns(AnnotationWarning, match=r"nodes\.c\.depends\[0\]: signal 's\.value' is annotated int, .* Connection"):
        Tube.from_specification(spec)


@pytest.mark.parametrize("annotation", [
    "Generator[int, None, None]", "Iterator[int]", "Iterable[int]", "AsyncGenerator[int, None]",
    "AsyncIterator[int]", "Annotated[Generator[int, None, None], 'x']",
])
def test_yielded_type(annotation):
    """Every generator annotation form yields ``int``."""
    import collections.abc as abc
    from typing import Annotated

    from noob.tube import _yielded

    namespace = {"Annotated": Annotated, **{k: getattr(abc, k) for k in (
        "Generator", "Iterator", "Iterable", "AsyncGenerator", "AsyncIterator")}}
    assert int is _yielded(eval(annotation, namespace))


def test_docs_params_as_list_of_mappings_says_how_to_fix(core):
    """The original docs' ``params: [{right: 2}]`` is refused with the mapping to write instead."""
    spec = _generator_tube("gen_source")
    spec["nodes"]["multiply_by_2"]["params"] = [{"right": 2}]
    with pytest.raises(SpecError, match=r"write `params: \{right: 2\}`"):
        Tube.from_specification(spec)


# --------------------------------------------------------------------------- copied runner assets

def _connection_tube(readers: int = 1) -> dict:
    """A runner asset holding a lock, stored back from ``s.conn``; ``readers`` nodes also read ``s.conn``."""
    nodes = {
        "src": {"type": "noob.testing.count_source"},
        "s": {"type": "compat.friction_nodes.send", "depends": [{"conn": "assets.conn"}, {"value": "src.index"}]},
    }
    for i in range(readers):
        nodes[f"n{i}"] = {"type": "compat.friction_nodes.count_sent", "depends": [{"conn": "s.conn"}]}
    nodes["r"] = {"type": "return", "depends": [{"src": "src.index"}] + [{f"n{i}": f"n{i}.value"} for i in range(readers)]}
    return {"noob_id": "connection",
            "assets": {"conn": {"type": "compat.friction_nodes.connect", "scope": "runner", "depends": "s.conn"}},
            "nodes": nodes}


def test_copied_runner_asset_warns_at_load(core):
    """Loading warns AssetCopyWarning with the YAML path, the stored signal and the nodes that read it."""
    from noob.exceptions import AssetCopyWarning, NoobWarning

    with pytest.warns(AssetCopyWarning) as record:
        Tube.from_specification(_connection_tube(readers=2))
    copies = [w.message for w in record if isinstance(w.message, AssetCopyWarning)]
    assert 1 == len(copies)
    w = copies[0]
    assert isinstance(w, NoobWarning)
    assert ("assets.conn.depends", "conn", "s.conn", ("n0", "n1")) == (w.path, w.asset, w.source, w.readers)
    assert str(w).startswith("assets.conn.depends: runner asset 'conn' is stored back from 's.conn', which nodes "
                             "'n0' (nodes.n0.depends[0]), 'n1' (nodes.n1.depends[0]) also read")


def test_uncopied_runner_asset_does_not_warn(drive):
    """Nothing else reads the stored signal: no copy, no warning, and the lock-holding asset runs."""
    spec = _connection_tube(readers=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube(spec)
    assert [{"src": 0}, {"src": 1}] == drive.run(tube, 2)


def test_uncopyable_runner_asset_names_asset_readers_and_fix(drive):
    """An asset holding a lock that must be copied: AssetCopyError naming it, why, and how to avoid the copy."""
    from noob.exceptions import AssetCopyError, AssetError

    with pytest.warns(Warning):
        tube = drive.tube(_connection_tube(readers=1))
    with pytest.raises(TypeError) as info:
        drive.run(tube, 2)
    err = info.value
    assert isinstance(err, AssetCopyError) and isinstance(err, AssetError)
    assert ("conn", "s.conn", ("n0",), "assets.conn.depends") == (err.asset, err.source, err.readers, err.path)
    assert isinstance(err.__cause__, TypeError) and "_thread.lock" in str(err.__cause__)
    text = str(err)
    assert text.startswith("assets.conn.depends: runner asset 'conn' is stored back from 's.conn', which node 'n0' "
                           "(nodes.n0.depends[0]) also reads, so noob stores a deep copy")
    assert "compat.friction_nodes.Connection cannot be copied (TypeError: cannot pickle '_thread.lock' object)" in text
    assert "Fix: let only the asset take 's.conn'" in text


def test_copy_error_lists_every_candidate():
    """With two copied stores the core does not say which failed: the error names both."""
    from noob.asset import copied_stores, store_copier
    from noob.exceptions import AssetCopyError
    from noob.spec import TubeSpecification

    spec = _connection_tube(readers=1)
    spec["assets"]["conn2"] = {"type": "compat.friction_nodes.connect", "scope": "runner", "depends": "s.conn"}
    stores = copied_stores(TubeSpecification.from_any(spec))
    assert ["conn", "conn2"] == [s.asset for s in stores]
    copier = store_copier(stores)
    assert [1, [2]] == copier([1, [2]])
    import threading

    with pytest.raises(AssetCopyError, match=r"^one of these runner assets .*assets\.conn\.depends.*assets\.conn2\.depends") as info:
        copier(threading.Lock())
    assert "conn or conn2" == info.value.asset


def test_yaml_peek_skips_a_key_opening_a_block(tmp_path):
    """``yaml_peek`` of a key whose value is a nested block raises KeyError, as in the original."""
    from noob.yaml import yaml_peek

    path = tmp_path / "c.yaml"
    path.write_text("key1: val1\nkey3:\n  key1: val2\n  key4: val4\n")
    with pytest.raises(KeyError):
        yaml_peek("key3", path)
    assert ("val1", ["val1", "val2"], "val4") == (
        yaml_peek("key1", path), yaml_peek("key1", path, root=False, first=False), yaml_peek("key4", path, root=False))


def test_docs_int_source_example_runs_without_warnings(drive):
    """The original docs' ``int_source: itertools.count -> multiply_by_2`` example: no warning, 0, 2, 4."""
    spec = {"noob_id": "docs-int-source", "nodes": {
        "int_source": {"type": "itertools.count"},
        "multiply_by_2": {"type": "compat.friction_nodes.multiply", "depends": [{"left": "int_source.value"}],
                          "params": {"right": 2}},
        "r": {"type": "return", "depends": "multiply_by_2.value"},
    }}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube(spec)
    assert [0, 2, 4] == drive.run(tube, 3)


def test_store_copier_pickles():
    """A plan's copier is a plain object: it pickles and still names the asset after a round trip."""
    import threading

    from noob.asset import copied_stores, store_copier
    from noob.exceptions import AssetCopyError
    from noob.spec import TubeSpecification

    copier = pickle.loads(pickle.dumps(store_copier(copied_stores(TubeSpecification.from_any(_connection_tube())))))
    with pytest.raises(AssetCopyError, match="^assets.conn.depends: runner asset 'conn'"):
        copier(threading.Lock())


def test_original_readme_webcam_example_runs_without_warnings(drive):
    """The original README's ``webcam -> display`` (Generator[np.ndarray, None, None] into np.ndarray slots)."""
    spec = {"noob_id": "webcam", "nodes": {
        "cam": {"type": "compat.friction_nodes.webcam"},
        "show": {"type": "compat.friction_nodes.display", "depends": [{"frame": "cam.value"}]},
        "total": {"type": "compat.friction_nodes.frame_sum", "depends": [{"frame": "cam.value"}]},
        "r": {"type": "return", "depends": "total.value"},
    }}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube(spec)
    assert [0, 4, 8] == drive.run(tube, 3)


def test_original_docs_directory_example_runs_without_warnings(drive, tmp_path):
    """The original docs' ``iter_directory(path) -> Generator[Path, None, None]`` with a tube-scoped input."""
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
    spec = {"noob_id": "process-directory",
            "input": {"directory": {"scope": "tube", "type": "pathlib.Path"}},
            "nodes": {
                "file": {"type": "compat.friction_nodes.iter_directory", "params": {"path": "input.directory"}},
                "name": {"type": "compat.friction_nodes.file_name", "depends": [{"file": "file.value"}]},
                "r": {"type": "return", "depends": "name.value"},
            }}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tube = drive.tube(spec, input={"directory": tmp_path})
    assert ["a.txt", "b.txt"] == drive.run(tube, 2)
