"""Every code example of the user guide (``docs/``) and README.md runs, on both cores.

How a page marks what its blocks do is described in ``tests/docs_blocks.py``. Blocks that
cannot run here are marked ``<!-- docs-test: skip REASON -->`` and listed in ``NOT_RUN`` below,
so a new one is a visible change to this file, never a silent skip. The guide itself is built
with ``mkdocs build --strict`` (warnings are errors), without fetching anything remote.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from docs_blocks import REPO, Block, blocks, console_commands, pages

RUN_LANGS = {"python", "yaml", "sh", "console"}
SHOWN_LANGS = {"text"}  # output and messages shown to the reader; not code

#: every block marked `docs-test: skip`, as (page, reason): adding one means adding it here
NOT_RUN = {
    ("README.md", "installs into a fresh virtualenv: .ci/run runs exactly these steps"),
    ("README.md", "installs into a fresh virtualenv and runs the whole suite: .ci/run runs exactly these steps"),
    ("README.md", "installs the docs extra and builds the site: .ci/run runs exactly this"),
    ("README.md", "starts Ray nodes"),
    ("README.md", "needs the cluster above"),
    ("docs/assets.md", "the shape of an asset entry, with placeholders"),
    ("docs/runners.md", "needs a Ray cluster started with `ray start --head`"),
    ("docs/runners.md", "starts Ray nodes"),
    ("docs/runners.md", "needs the two nodes above"),
    ("docs/performance.md", "runs the benchmark suite (minutes)"),
    ("docs/view.md", "serves the page until Ctrl-C"),
    ("docs/index.md", "installs into the current environment"),
}

#: `<!-- docs-test: needs NAME -->`: the block runs where these modules import (the extra is installed)
NEEDS = {"ray": ("ray",), "view": ("starlette", "uvicorn", "websockets")}

PAGES = pages()


def _page_id(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _purge_modules(directory: Path) -> None:
    """Forget modules imported from ``directory``: a page may rewrite ``nodes.py``.

    noob remembers what each dotted ``type`` resolved to; that memory is cleared too, or a
    tube would get the function of a module this forgot.
    """
    import noob.utils

    noob.utils._resolve_cache.clear()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(directory):
            del sys.modules[name]


def _is_tube(text: str) -> bool:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and ("nodes" in data or "extends" in data)


def _load(path: Path, block: Block) -> None:
    """Check the tube at ``path`` as ``noob validate`` does (missing tube inputs filled in).

    A block marked ``invalid`` must have an error, one marked ``warns`` a warning and no
    error; any other tube must have neither.
    """
    from noob.cli.validate import check

    report = check(str(path), {}, debug=True)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    warned = [p for p in report["problems"] if p["severity"] == "warning"]
    if block.marker == "invalid":
        assert errors, f"{block.where}: marked invalid, but {path.name} loads"
    elif block.marker == "warns":
        assert ([], True) == (errors, bool(warned)), f"{block.where}: marked warns: {report['problems']}"
    else:
        assert [] == report["problems"], f"{block.where}: {path.name}"


def _env(core: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("NOOB_PUREPYTHON", None)
    if core == "python":
        env["NOOB_PUREPYTHON"] = "1"
    return env


def _run_block(block: Block, workdir: Path, namespace: dict, core: str, tubes: list) -> None:
    if block.title:
        target = workdir / block.title
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
        if target.suffix in (".yaml", ".yml") and _is_tube(block.code):
            tubes.append((target, block))
        return
    _purge_modules(workdir)
    if block.lang == "python" and block.marker == "needs" and block.marker_arg == "ray":
        # a fresh process: the block starts (and stops) its own Ray, whose workers import the
        # page's modules from its working directory -- never a Ray some other test left running
        env = _env(core, workdir)
        env["PYTHONPATH"] = os.pathsep.join((str(workdir), env["PYTHONPATH"]))
        result = subprocess.run(
            [sys.executable, "-c", "\n" * block.line + block.code],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, f"{block.where}: exit {result.returncode}\n{result.stderr[-3000:]}"
    elif block.lang == "python":
        code = compile("\n" * (block.line) + block.code, block.page, "exec")
        exec(code, namespace)
    elif block.lang == "yaml":
        assert _is_tube(block.code), f"{block.where}: an untitled yaml block must be a whole tube"
        target = workdir / f"_block_{block.line}.yaml"
        target.write_text(block.code, encoding="utf-8")
        _load(target, block)
    elif block.lang == "sh":
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=workdir, env=_env(core, workdir), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, f"{block.where}: exit {result.returncode}\n{result.stderr}"
    elif block.lang == "console":
        for command, expected in console_commands(block.code):
            result = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                cwd=workdir, env=_env(core, workdir), capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            actual = "\n".join(line.rstrip() for line in result.stdout.rstrip("\n").splitlines())
            assert expected == actual, f"{block.where}: `{command}` printed\n{actual}\nstderr:\n{result.stderr}"
    else:
        raise AssertionError(f"{block.where}: don't know how to run a {block.lang!r} block")


def _run_page(page: Path, workdir: Path, core: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every block of ``page`` in ``workdir``, then check the tubes it wrote."""
    monkeypatch.chdir(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    namespace: dict = {"__name__": "__docs__"}
    tubes: list = []
    # a module the page writes (nodes.py, mylab/...) must not be shadowed by one of the same
    # name imported elsewhere: set those aside for the page, and put them back afterwards
    written = {Path(b.title).parts[0].removesuffix(".py") for b in blocks(page) if b.title and b.title.endswith(".py")}
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] in written}
    for name in saved:
        del sys.modules[name]
    try:
        for block in blocks(page):
            if block.marker == "skip" or (block.lang in SHOWN_LANGS and not block.title):
                continue
            if block.marker == "needs":
                assert block.marker_arg in NEEDS, f"{block.where}: unknown requirement {block.marker_arg!r}"
                if not all(importlib.util.find_spec(module) for module in NEEDS[block.marker_arg]):
                    continue
            _run_block(block, workdir, namespace, core, tubes)
        _purge_modules(workdir)
        for path, block in tubes:
            _load(path, block)
    finally:
        for value in namespace.values():
            deinit = getattr(value, "deinit", None)
            if callable(deinit) and type(value).__name__.endswith("Runner"):
                try:
                    deinit()
                except Exception:
                    pass
        _purge_modules(workdir)
        sys.modules.update(saved)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_examples_run(page: Path, core: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every code block of the page runs as written; its tubes load (or fail, if marked so)."""
    _run_page(page, tmp_path.resolve(), core, monkeypatch)


_TUBE = """noob_id: probe
nodes:
  c:
    type: noob.testing.count_source
  out:
    type: return
    depends: c.index
"""

#: pages that are wrong in one way each: running them must fail
BROKEN_PAGES = {
    "wrong-result": f"```yaml title=\"t.yaml\"\n{_TUBE}```\n\n```python\n"
    "from noob import SynchronousRunner, Tube\n"
    "with SynchronousRunner(Tube.from_specification('t.yaml')) as r:\n"
    "    assert r.run(n=2) == [0, 2]\n```\n",
    "wrong-output": f"```yaml title=\"t.yaml\"\n{_TUBE}```\n\n```console\n$ noob run t.yaml -n 2 -f json\n[0, 2]\n```\n",
    "valid-marked-invalid": f"<!-- docs-test: invalid -->\n```yaml title=\"t.yaml\"\n{_TUBE}```\n",
    "invalid-tube": "```yaml\nnoob_id: bad\nnodes:\n  a:\n    type: noob.testing.no_such_thing\n```\n",
    "failing-shell": f"```yaml title=\"t.yaml\"\n{_TUBE}```\n\n```sh\nnoob run missing.yaml\n```\n",
    "unknown-language": "```rust\nfn main() {}\n```\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN_PAGES))
def test_broken_page_fails(name: str, core: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness catches a wrong result, wrong output, a wrong marker, a bad tube, a failing command."""
    page = tmp_path / f"{name}.md"
    page.write_text(BROKEN_PAGES[name], encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(AssertionError):
        _run_page(page, workdir.resolve(), core, monkeypatch)


def test_every_block_is_run_or_listed() -> None:
    """A block is runnable, shown output, or marked skip with a reason listed in NOT_RUN."""
    skipped = set()
    problems = []
    for page in PAGES:
        for block in blocks(page):
            if block.marker == "skip":
                if not block.marker_arg:
                    problems.append(f"{block.where}: skip without a reason")
                skipped.add((block.page, block.marker_arg))
            elif block.lang not in RUN_LANGS | SHOWN_LANGS:
                problems.append(f"{block.where}: a {block.lang or 'plain'!r} block is neither run nor marked")
            elif block.lang in SHOWN_LANGS and block.marker:
                problems.append(f"{block.where}: a marker on a text block has no effect")
    assert [] == problems
    assert NOT_RUN == skipped


def test_guide_has_examples() -> None:
    """The guide is not empty: each page of docs/ except the API reference runs code."""
    counts = {
        _page_id(p): sum(1 for b in blocks(p) if b.lang in RUN_LANGS and b.marker != "skip")
        for p in PAGES
        if "/api/" not in _page_id(p)
    }
    assert [] == [page for page, n in counts.items() if n == 0]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict`` succeeds, and the site loads nothing from the network."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    remote = re.compile(r"<(?:link|script|img)[^>]+(?:href|src)=\"(?:https?:)?//", re.IGNORECASE)
    fetched = sorted(
        str(html.relative_to(site)) for html in site.rglob("*.html") if remote.search(html.read_text("utf-8"))
    )
    assert [] == fetched
    assert (site / "api" / "tube" / "index.html").exists()


def test_readme_links_exist() -> None:
    """Every relative link of README.md points to a file of the repository."""
    readme = REPO / "README.md"
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme.read_text("utf-8"))
    relative = [link for link in links if "://" not in link]
    assert [] == [link for link in relative if not (REPO / link).exists()]
    assert relative, "README.md links to the guide"
