"""Run the benchmarks once and print a markdown table of medians: hand vs compiled vs python.

Usage (from the repository root)::

    python benchmarks/report.py                      # everything (the 100 000-node load: ~30 s)
    python benchmarks/report.py -m "not slow_load"   # extra arguments go to pytest
    python benchmarks/report.py --json out.json      # keep the raw pytest-benchmark JSON

All figures come from one pytest-benchmark run (``--benchmark-json`` into a temporary file):
the median of each benchmark, and the ratio ``median / median(hand)`` of the same workload.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPLS = ("hand", "compiled", "python")


def run(pytest_args: list[str], json_path: Path) -> None:
    cmd = [
        sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", f"--benchmark-json={json_path}",
        "--benchmark-group-by=group", "--benchmark-columns=median,iqr,rounds", "-q", "-p", "no:cacheprovider",
        *pytest_args,
    ]  # fmt: skip
    print("$", " ".join(cmd), file=sys.stderr)
    result = subprocess.run(cmd, cwd=REPO, check=False)
    if result.returncode != 0:
        sys.exit(f"pytest failed (exit code {result.returncode}); no table")


def fmt(seconds: float, unit: str) -> str:
    value = seconds * (1e6 if unit == "µs" else 1e3)
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def table(rows: dict[str, dict[str, float]], unit: str, what: str) -> list[str]:
    out = [
        f"| workload | hand ({unit}/{what}) | compiled ({unit}, × hand) | python ({unit}, × hand) |",
        "|---|---:|---:|---:|",
    ]
    for group, medians in rows.items():
        hand = medians.get("hand")
        cells = [fmt(hand, unit) if hand is not None else "–"]
        for impl in IMPLS[1:]:
            m = medians.get(impl)
            if m is None:
                cells.append("–")
            elif hand:
                cells.append(f"{fmt(m, unit)} ({m / hand:.2f}×)")
            else:
                cells.append(fmt(m, unit))
        out.append(f"| {group} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="also keep the pytest-benchmark JSON here")
    args, pytest_args = parser.parse_known_args()

    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "bench.json"
        run(pytest_args, json_path)
        data = json.loads(json_path.read_text())
        if args.json:
            args.json.write_text(json.dumps(data, indent=2))

    rows: dict[str, dict[str, float]] = {}
    info: dict = {}
    for b in data["benchmarks"]:
        extra = b.get("extra_info", {})
        group = b["group"] or b["name"].split("[")[0]  # a benchmark without a group is its own row
        rows.setdefault(group, {})[extra.get("implementation", b["param"])] = b["stats"]["median"]
        info = info or extra
    epoch_rows = {g: r for g, r in rows.items() if not g.startswith("load-")}
    load_rows = dict(
        sorted(
            ((g, r) for g, r in rows.items() if g.startswith("load-")),
            key=lambda item: (item[0].rstrip("0123456789"), int("0" + item[0][len(item[0].rstrip("0123456789")):])),
        )
    )

    machine = data.get("machine_info", {})
    print(
        f"commit {info.get('commit')} · Python {info.get('python')} · numpy {info.get('numpy')} · "
        f"{machine.get('cpu', {}).get('brand_raw', machine.get('processor', ''))} · "
        f"pytest-benchmark medians, one run"
    )
    print()
    print("\n".join(table(epoch_rows, "µs", "epoch")))
    if load_rows:
        print()
        print(
            "Load + validate a chain of N nodes from YAML (hand = `yaml.load` with CSafeLoader; "
            "compiled/python = `Tube.from_specification(path)` + `tube.plan(core)`):"
        )
        print()
        print("\n".join(table(load_rows, "ms", "load")))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
