"""Time limits for reliability cases, on CPU time so a busy CI machine does not fail them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

CASE_CPU_SECONDS = 2.0
"""CPU seconds any single fuzz case may take."""


@contextlib.contextmanager
def cpu_time(limit: float = CASE_CPU_SECONDS) -> Iterator[None]:
    """Fail if the block uses more than ``limit`` seconds of this process's CPU time."""
    start = time.process_time()
    yield
    used = time.process_time() - start
    assert used < limit, f"took {used:.2f} s of CPU (limit {limit} s)"
