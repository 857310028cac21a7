"""extends, as the runner sees it: merged tubes run; a cycle introduced by merging is caught."""

from __future__ import annotations

import pytest

from noob import Tube
from noob.exceptions import CycleError


def test_extended_tube_runs(make_runner):
    """A child replacing one node's type and depends runs the merged graph."""
    runner = make_runner("extends_cycle/ok_child.yaml")
    assert [1, 3, 5] == runner.run(3)


def test_cycle_through_extends(core, data_dir):
    """Replacing a node's depends in an extension can make a cycle; it is reported with its path."""
    with pytest.raises(CycleError) as info:
        Tube.from_specification(data_dir / "extends_cycle" / "child.yaml")
    assert ["a", "b", "a"] == info.value.cycle
