"""``noob validate TUBE...``: check tubes and print every problem with file, YAML path and fix.

Owns: checking each tube as far as it goes without running it (the file, the code it names,
the graph, the plan's tables), collecting errors and warnings per file, and the exit code
(1 if any tube has an error, or a warning with ``--strict``).
With ``--format json``, each problem is ``{severity, path, message, fix, kind}``: ``kind`` names
the error or warning class (``SpecError``, ``RaceWarning``, ``AssetCopyWarning``...) and a
warning's YAML path is in ``path``, as an error's.
Must not: stop at the first bad file — every file given is checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any

from noob.cli.common import EXIT_ERROR, CliError, build_tube, load_spec, parse_assignments

__all__ = ["check", "command"]


def check(source: str, inputs: dict[str, Any], debug: bool = False) -> dict[str, Any]:
    """Check one tube: ``{"file", "tube", "ok", "nodes", "problems": [{severity, path, message, fix}]}``.

    With ``debug`` an unexpected exception (not a tube problem) propagates with its traceback.
    """
    from noob.exceptions import NoobCoreError, SpecError

    report: dict[str, Any] = {"file": source, "tube": None, "ok": False, "nodes": 0, "problems": []}
    problems = report["problems"]

    def add(severity: str, path: str, message: str, fix: str = "", kind: str = "") -> None:
        problems.append({"severity": severity, "path": path, "message": message, "fix": fix, "kind": kind})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spec = load_spec(source)
            report["tube"] = spec.noob_id
            tube, _ = build_tube(spec, inputs, placeholders=True)
            tube.plan()  # the plan's own checks (positional slots, ...)
            report["tube"] = tube.tube_id
            report["nodes"] = len(tube.nodes)
        except SpecError as exc:
            for p in exc.problems:
                add("error", p.path, p.message, p.fix, kind=type(exc).__name__)
        except CliError as exc:
            add("error", "", str(exc))
        except NoobCoreError as exc:
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            add("error", "", text)
        except Exception as exc:  # user code raising while its module is imported, ...
            if debug:
                raise
            add("error", "", f"{type(exc).__name__}: {exc}", "run `noob validate --debug` for the traceback")
    for w in caught:
        # a NoobWarning opens its message with its YAML path: the path gets its own field
        text, path = str(w.message), str(getattr(w.message, "path", "") or "")
        if path and text.startswith(f"{path}: "):
            text = text[len(path) + 2:]
        else:
            path = ""
        add("warning", path, text, kind=type(w.message).__name__)
    report["ok"] = not any(p["severity"] == "error" for p in problems)
    return report


def _line(report: dict[str, Any], p: dict[str, Any]) -> str:
    where = f"{report['file']}: " + (f"{p['path']}: " if p["path"] else "")
    kind = "" if p["severity"] == "error" else f"{p['severity']}: "
    text = f"{where}{kind}{p['message']}"
    if p["fix"]:
        text += f" -- fix: {p['fix']}"
    return text


def command(args: argparse.Namespace) -> int:
    inputs = parse_assignments(args.inputs)
    reports = []
    for source in args.tubes:
        reports.append(check(source, inputs, debug=getattr(args, "debug", False)))
    failed = [r for r in reports if not r["ok"] or (args.strict and r["problems"])]
    if args.format == "json":
        print(json.dumps(reports, indent=2, default=str))
        return EXIT_ERROR if failed else 0
    for report in reports:
        errors = sum(p["severity"] == "error" for p in report["problems"])
        n_warn = len(report["problems"]) - errors
        name = f" in tube {report['tube']!r}" if report["tube"] else ""
        if errors:
            print(f"{report['file']}: {errors} error{'s' if errors != 1 else ''}{name}")
        elif args.strict and n_warn:
            print(f"{report['file']}: {n_warn} warning{'s' if n_warn != 1 else ''}{name} (errors with --strict)")
        for p in report["problems"]:
            print(_line(report, p))
        if report not in failed:
            extra = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
            print(f"{report['file']}: ok (tube {report['tube']!r}, {report['nodes']} nodes{extra})")
    if len(reports) > 1:
        print(f"{len(reports) - len(failed)} of {len(reports)} tubes ok", file=sys.stderr)
    return EXIT_ERROR if failed else 0
