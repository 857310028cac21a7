"""Nodes of the example tube ``camera.yaml``: a simulated camera to watch with the live view.

``camera`` yields 12-bit frames (a bright spot circling over noise) at a steady frame rate
and their index; ``brightness`` reduces a frame to its mean (a number), ``profile`` to its
middle row (a 1-D array); ``check`` raises in the epoch named by the tube input ``fail_at``,
so the live view's error panel has something to show.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from typing import Annotated

import numpy as np

from noob import Name


def camera(
    height: int = 480, width: int = 640, fps: float = 60.0, n: int | None = None, seed: int = 0
) -> Generator[tuple[Annotated[np.ndarray, Name("frame")], Annotated[int, Name("index")]], None, None]:
    """``n`` frames (forever if ``None``) of ``height`` x ``width`` uint16, ``fps`` per second."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    period = 1.0 / fps if fps > 0 else 0.0
    due = time.perf_counter()
    i = 0
    while n is None or i < n:
        angle = i / 30
        cy, cx = height / 2 + height / 4 * math.sin(angle), width / 2 + width / 4 * math.cos(angle)
        spot = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (min(height, width) / 10) ** 2))
        frame = (3000 * spot + rng.normal(400, 60, (height, width))).clip(0, 4095).astype(np.uint16)
        if period:
            due += period
            time.sleep(max(0.0, due - time.perf_counter()))
        yield frame, i
        i += 1


def brightness(frame: np.ndarray) -> Annotated[float, Name("mean")]:
    """The frame's mean value."""
    return float(frame.mean())


def profile(frame: np.ndarray) -> Annotated[np.ndarray, Name("row")]:
    """The frame's middle row."""
    return frame[frame.shape[0] // 2]


def check(mean: float, index: int, fail_at: int = -1) -> Annotated[bool, Name("ok")]:
    """True; raises ``RuntimeError`` when ``index == fail_at``."""
    if index == fail_at:
        raise RuntimeError(f"frame {index} failed the check (mean {mean:.1f}); set by the tube input fail_at")
    return True
