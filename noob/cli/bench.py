"""``noob bench TUBE``: where a tube's time goes — per-epoch median and p90, each node's share.

Owns: timing a synchronous run. After ``runner.init()`` each entry of the runner's
``_fns`` list (the callables the core's dispatcher calls, one per node, shared with it) is
replaced by a wrapper that adds the call's duration to that node's total; each
``process()`` call is timed as a whole. What the epochs took beyond the nodes' own time is
noob's dispatch (plus the wrappers' own small cost), reported as its own line.
Must not: change the tube's results — the wrappers pass arguments, return values and
exceptions (``StopIteration`` of an exhausted source included) through unchanged.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from noob.cli.common import EXIT_INTERRUPTED, Progress, build_tube, input_feed, load_spec, parse_assignments

__all__ = ["command", "timed"]


def timed(fn: Callable, cell: list[int]) -> Callable:
    """``fn``, adding each call's nanoseconds to ``cell[0]`` and counting calls in ``cell[1]``."""
    clock = time.perf_counter_ns

    def call(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            cell[0] += clock() - start
            cell[1] += 1

    return call


def _fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def measure(runner: Any, feed: Any, n: int, warmup: int, progress: Progress) -> dict[str, Any]:
    """Run ``warmup`` then ``n`` timed epochs of an initialised ``runner``; the raw numbers."""
    from noob.exceptions import SchedulerExhaustedError

    plan = runner.plan
    cells = [[0, 0] for _ in plan.node_ids]
    epochs: list[int] = []
    state: dict[str, Any] = {"exhausted": False, "interrupted": False, "warmup": 0}
    clock = time.perf_counter_ns
    try:
        for inputs in itertools.islice(feed, warmup):
            runner.process(**inputs)
            state["warmup"] += 1
        runner._natives_off()  # sources, gathers, maps and the return through their callables, to be timed
        for i in range(len(plan.node_ids)):
            runner._fns[i] = timed(runner._fns[i], cells[i])
        for inputs in itertools.islice(feed, n):
            start = clock()
            runner.process(**inputs)
            epochs.append(clock() - start)
            progress.update()
    except SchedulerExhaustedError:
        state["exhausted"] = True
    except KeyboardInterrupt:
        state["interrupted"] = True
    return {"epochs": epochs, "cells": cells, **state}


def report(tube: Any, runner: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """The numbers as a JSON-able report: per-epoch statistics and per-node totals and shares."""
    import numpy as np

    epochs = np.asarray(raw["epochs"], dtype=np.float64)
    total = float(epochs.sum())
    nodes = []
    for node_id, (ns, calls) in zip(runner.plan.node_ids, raw["cells"]):
        nodes.append({
            "node": node_id,
            "type": str(tube.spec.nodes[node_id].type),
            "calls": calls,
            "total_ns": ns,
            "per_call_ns": ns / calls if calls else 0.0,
            "share": ns / total if total else 0.0,
        })
    nodes.sort(key=lambda r: -r["total_ns"])
    in_nodes = sum(r["total_ns"] for r in nodes)
    stats = {}
    if len(epochs):
        stats = {
            "median_ns": float(np.median(epochs)),
            "p90_ns": float(np.percentile(epochs, 90)),
            "mean_ns": float(epochs.mean()),
            "min_ns": float(epochs.min()),
            "max_ns": float(epochs.max()),
            "total_ns": total,
        }
    return {
        "tube": tube.tube_id,
        "core": getattr(runner.plan.core, "IMPLEMENTATION", "?"),
        "epochs": len(epochs),
        "warmup": raw["warmup"],
        "exhausted": raw["exhausted"],
        "interrupted": raw["interrupted"],
        "per_epoch": stats,
        "nodes": nodes,
        "dispatch": {"total_ns": max(total - in_nodes, 0.0), "share": max(total - in_nodes, 0.0) / total if total else 0.0},
    }


def render(rep: dict[str, Any]) -> str:
    """The report as a readable table."""
    why = " (the sources ran out)" if rep["exhausted"] else " (interrupted)" if rep["interrupted"] else ""
    lines = [f"tube {rep['tube']!r}: {rep['epochs']} timed epochs{why}, {rep['warmup']} warm-up, core {rep['core']}"]
    s = rep["per_epoch"]
    if not s:
        lines.append("no epoch ran")
        return "\n".join(lines)
    lines.append(
        f"per epoch: median {_fmt(s['median_ns'])}, p90 {_fmt(s['p90_ns'])}, mean {_fmt(s['mean_ns'])}, "
        f"min {_fmt(s['min_ns'])}, max {_fmt(s['max_ns'])}; total {_fmt(s['total_ns'])}"
    )
    rows = [(r["node"], r["type"], str(r["calls"]), _fmt(r["total_ns"]), _fmt(r["per_call_ns"]), r["share"]) for r in rep["nodes"]]
    rows.append(("(noob dispatch, timers)", "", "", _fmt(rep["dispatch"]["total_ns"]), "", rep["dispatch"]["share"]))
    head = ("node", "type", "calls", "total", "per call", "share")
    widths = [max(len(head[i]), *(len(str(r[i])) for r in rows)) for i in range(5)]
    widths[1] = min(widths[1], 40)
    lines.append("")
    lines.append("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))) + "   share")
    for r in rows:
        cells = [r[0].ljust(widths[0]), r[1][: widths[1]].ljust(widths[1]), *(r[i].rjust(widths[i]) for i in (2, 3, 4))]
        bar = "█" * round(r[5] * 20)
        lines.append("  ".join(cells) + f"  {r[5] * 100:5.1f}%  {bar}")
    return "\n".join(lines)


def command(args: argparse.Namespace) -> int:
    from noob.runner import SynchronousRunner

    spec = load_spec(args.tube)
    tube, constants = build_tube(spec, parse_assignments(args.inputs))
    runner = SynchronousRunner(tube, core=args.core)
    feed = input_feed(tube, constants, sys.stdin, "bench")
    progress = Progress(args.n, args.progress, f"bench {tube.tube_id}")
    runner.init()
    try:
        raw = measure(runner, feed, args.n, args.warmup, progress)
    finally:
        progress.close()
        runner.deinit()
    rep = report(tube, runner, raw)
    print(json.dumps(rep, indent=2) if args.format == "json" else render(rep))
    return EXIT_INTERRUPTED if raw["interrupted"] else 0
