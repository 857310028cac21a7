"""Nodes for the live view's tests (``tests/test_view.py``)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Annotated

import numpy as np

from noob import Name


def frames_4k(seed: int = 0) -> Generator[Annotated[np.ndarray, Name("frame")], None, None]:
    """The same 2160 x 3840 uint16 frame forever (made once: the test measures the view, not numpy)."""
    frame = np.random.default_rng(seed).integers(0, 4096, size=(2160, 3840), dtype=np.uint16)
    while True:
        yield frame
