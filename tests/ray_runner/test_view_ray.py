"""The live view (``noob.view``) on a ``RayRunner``: epoch figures and controls; no per-node figures.

Lives here for the session's local Ray (``conftest.py``); the rest of the view's tests are in
``tests/test_view.py`` and ``tests/test_view_browser.py``.
"""

from __future__ import annotations

from noob import Tube
from noob.runner.ray import RayRunner
from noob.view import Stats


def test_ray_runner_reports_epochs_and_says_it_has_no_node_figures(core):
    """Epochs and epochs/s are counted; ``per_node`` is false and ``in_flight`` null; disable applies."""
    tube = Tube.from_specification({
        "noob_id": "view-ray",
        "nodes": {
            "a": {"type": "raynodes.count"},
            "b": {"type": "raynodes.where", "depends": "a.value"},
            "r": {"type": "return", "depends": "b.value"},
        },
    })
    stats = Stats()
    runner = RayRunner(tube, core=core)
    runner.add_observer(stats)
    with runner:
        for _ in range(4):
            assert stats.control.between_epochs(runner)
            runner.process()
        stats.control.disable("b")
        assert stats.control.between_epochs(runner)
        assert runner.process() is None
    doc = stats.status()
    assert (5, 4, False, None) == (doc["epochs"], doc["last_epoch"], doc["per_node"], doc["in_flight"])
    assert doc["rate_hz"] > 0
    assert "disabled" == doc["nodes"]["b"]["state"]
    assert [{"op": "disable", "node": "b", "error": None}] == doc["controls"]["applied"]
