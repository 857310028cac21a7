"""Run the example tube: ``python examples/sensor.py``.

Loads ``sensor.yaml`` next to this file, runs it until the finite source is exhausted, and
prints one line per epoch.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # so the tube's `sensor_nodes.*` types import

import noob._core  # noqa: E402
from noob import SynchronousRunner, Tube  # noqa: E402


def main() -> int:
    tube = Tube.from_specification(HERE / "sensor.yaml")
    print(f"tube {tube.tube_id!r}: {len(tube.nodes)} nodes, core: {noob._core.IMPLEMENTATION}")
    with SynchronousRunner(tube) as runner:
        results = runner.run()
    for epoch, result in enumerate(results or []):
        flag = "  HIGH" if result["high"] else ""
        print(f"{epoch:3d}  sample={result['sample']:+.3f}  mean={result['mean']:+.3f}{flag}")
    print(f"{len(results or [])} epochs; the source ran out and the runner stopped cleanly")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
