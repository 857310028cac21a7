"""Node functions and asset factories the benchmark tubes name as ``benchmarks.nodes.<x>``.

The hand-written baselines in the benchmarks call these very functions in the same order, so
the difference between a runner and its hand loop is the dispatch cost alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from typing import Annotated

import numpy as np

from noob import Name

__all__ = ["RunningSum", "count_source", "make_array", "make_int", "make_items", "plus1", "scale_inplace", "sum_all", "sum_list"]


def count_source(start: int = 0) -> Generator[Annotated[int, Name("index")], None, None]:
    """Yield ``start, start+1, …`` forever."""
    yield from itertools.count(start)


def plus1(x: int) -> int:
    """``x + 1`` (signal ``value``)."""
    return x + 1


def sum_all(*xs: int) -> int:
    """The sum of every positional argument (signal ``value``)."""
    return sum(xs)


def scale_inplace(array: np.ndarray, factor: float = 1.0000001) -> Annotated[np.ndarray, Name("array")]:
    """Multiply ``array`` by ``factor`` in place and return the same object."""
    array *= factor
    return array


def make_array(rows: int = 1000, cols: int = 1000) -> np.ndarray:
    """A fresh ``rows x cols`` float64 array of ones."""
    return np.ones((rows, cols), dtype=np.float64)


def make_items(start: int, n: int = 100) -> list:
    """``[start, start + 1, ..., start + n - 1]``."""
    return list(range(start, start + n))


def sum_list(values: list) -> int:
    """``sum(values)``."""
    return sum(values)


class RunningSum:
    """A class node: the running total of every value it was given (signal ``value``)."""

    def __init__(self, start: int = 0):
        self.total = start

    def process(self, x: int) -> int:
        self.total += x
        return self.total


def make_int(start: int = 0) -> int:
    """An asset factory: the integer ``start``."""
    return start
