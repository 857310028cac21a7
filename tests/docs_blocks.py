"""Read the fenced code blocks of the user guide (``docs/**/*.md``) and ``README.md``.

``tests/test_docs.py`` executes what this module finds. The conventions a page follows, so
that every example in it runs as written:

- A block whose fence has ``title="name"`` writes that file into the page's working
  directory (```` ```python title="nodes.py" ````, ```` ```yaml title="pipeline.yaml" ````).
  A written ``.yaml`` file with a ``nodes`` key is a tube: it is checked as ``noob validate`` checks it
  when the page ends (after every file of the page exists): no error, no warning.
- A ``python`` block without a title runs in the page's directory, in one namespace shared by
  the page's blocks (a page reads like a notebook). Its ``assert`` lines are the results.
- A ``yaml`` block without a title is a whole tube: it is checked where it stands, with the
  files the page wrote so far.
- A ``sh`` block runs line by line in the page's directory (``noob`` is this checkout's).
- A ``console`` block holds ``$ command`` lines, each followed by the exact standard output
  it prints.
- ``text`` blocks show output or messages and are not run (they are counted).
- A marker comment on the line before a fence changes that:
  ``<!-- docs-test: skip REASON -->`` (not run; counted and listed in ``test_docs.py``),
  ``<!-- docs-test: invalid -->`` (a tube that must fail the checks of ``noob validate``),
  ``<!-- docs-test: warns -->`` (a tube that loads with a warning),
  ``<!-- docs-test: needs ray -->`` / ``needs view`` (run only where that extra is installed; a
  ``needs ray`` python block runs alone in a fresh process, so it starts its own Ray).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>```+)(?P<lang>[\w+-]*)(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<kind>skip|invalid|warns|needs)\b\s*(?P<arg>.*?)\s*-->\s*$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, the file it writes and its marker."""

    page: str  #: the page's path relative to the repository, e.g. ``docs/tutorial.md``
    line: int  #: 1-based line of the opening fence
    lang: str  #: ``python``, ``yaml``, ``sh``, ``console``, ``text``, ...
    code: str  #: the block's text, dedented
    title: str | None  #: the file the block writes, from ``title="..."``
    marker: str | None  #: ``skip``, ``invalid``, ``needs`` or None
    marker_arg: str  #: the marker's reason (skip) or requirement (needs)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page of the guide, in a stable order."""
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks = m["indent"], m["ticks"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].strip().startswith(ticks) and lines[i].strip().strip("`") == ""
        ):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        marker = marker_arg = None
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and (mk := _MARKER.match(lines[j])):
            marker, marker_arg = mk["kind"], mk["arg"]
        title = _TITLE.search(m["info"])
        code = textwrap.dedent("\n".join(line[len(indent):] if line.startswith(indent) else line for line in body))
        out.append(
            Block(
                page=rel,
                line=start + 1,
                lang=m["lang"].lower(),
                code=code + "\n",
                title=title["title"] if title else None,
                marker=marker,
                marker_arg=marker_arg or "",
            )
        )
    return out


def console_commands(code: str) -> list[tuple[str, str]]:
    """``(command, expected stdout)`` pairs of a ``console`` block."""
    pairs: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"console block starts with output, not a '$ ' command: {line!r}")
    return [(cmd, "\n".join(out).rstrip("\n")) for cmd, out in pairs]
