"""Nodes and assets of the example tube ``sensor.yaml``: smoothing a noisy sensor stream.

A finite generator yields samples; a runner-scoped ring buffer (an asset) carries the last
``size`` samples from one epoch to the next without copying; ``smooth`` pushes each sample
into it in place and emits the window mean; ``alarm`` flags means over a threshold.
"""

from __future__ import annotations

import math
import random
from typing import Annotated, Generator

import numpy as np

from noob import Name


def readings(n: int = 50, seed: int = 0) -> Generator[Annotated[float, Name("sample")], None, None]:
    """A noisy sine wave, ``n`` samples long."""
    rng = random.Random(seed)
    for i in range(n):
        yield math.sin(i / 5) + rng.gauss(0, 0.2)


class RingBuffer:
    """A fixed-size window of the most recent samples."""

    def __init__(self, size: int = 8):
        self.data = np.zeros(size)
        self.count = 0

    def push(self, value: float) -> None:
        self.data[self.count % len(self.data)] = value
        self.count += 1

    def mean(self) -> float:
        filled = min(self.count, len(self.data))
        return float(self.data[:filled].mean()) if filled else 0.0


def smooth(
    sample: float, window: RingBuffer
) -> tuple[Annotated[float, Name("mean")], Annotated[RingBuffer, Name("window")]]:
    """Push ``sample`` into the window (in place) and emit the window's mean."""
    window.push(sample)
    return window.mean(), window


def alarm(mean: float, threshold: float = 0.6) -> Annotated[bool, Name("high")]:
    """True when the smoothed value is above ``threshold``."""
    return mean > threshold
