"""The public names are typed: a user script written from the README passes ``mypy --strict``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import noob

REPO = Path(__file__).resolve().parent.parent

USER_SCRIPT = '''
import asyncio
from typing import Annotated, Any

from noob import AsyncRunner, Name, SynchronousRunner, Tube


def multiply(left: int, right: int = 2) -> Annotated[int, Name("value")]:
    return left * right


def sync_main() -> list[Any] | None:
    tube = Tube.from_specification("basic.yaml")
    with SynchronousRunner(tube) as runner:
        runner.process()
        return runner.run(n=3)


async def async_main() -> list[Any]:
    tube = Tube.from_specification("basic.yaml")
    async with AsyncRunner(tube) as runner:
        await runner.process()
        return [x async for x in runner.iter(2)]


if __name__ == "__main__":
    print(sync_main(), asyncio.run(async_main()))
reveal_type(SynchronousRunner)
reveal_type(AsyncRunner)
'''

# what a user gets from an installed wheel: noob's types are used, errors inside noob are not theirs
MYPY_INI = """
[mypy]
strict = True
mypy_path = {repo}
[mypy-noob,noob.*]
ignore_errors = True
[mypy-yaml,yaml.*,ray,ray.*]
ignore_missing_imports = True
"""


def test_user_script_passes_mypy_strict(tmp_path: Path) -> None:
    """``from noob import SynchronousRunner, AsyncRunner`` are the runner classes to mypy --strict."""
    (tmp_path / "user.py").write_text(textwrap.dedent(USER_SCRIPT))
    (tmp_path / "mypy.ini").write_text(MYPY_INI.format(repo=REPO))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / ".cache"), "user.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    revealed = [line.split("Revealed type is ")[1] for line in done.stdout.splitlines() if "Revealed type" in line]
    assert (0, 2) == (done.returncode, len(revealed)), done.stdout + done.stderr
    assert revealed[0].endswith('-> noob.runner.sync.SynchronousRunner"'), revealed[0]
    assert revealed[1].endswith('-> noob.runner.asyncio.AsyncRunner"'), revealed[1]


def test_runners_listed_by_dir() -> None:
    """``dir(noob)`` lists the lazily imported runners, for completion in a REPL or an IDE."""
    assert {"AsyncRunner", "SynchronousRunner", "Tube"} <= set(dir(noob))


def test_import_noob_imports_no_runner() -> None:
    """``import noob`` stays cheap: no runner module and no asyncio until a runner is asked for."""
    code = "import sys, noob; print(sorted(m for m in ('asyncio', 'noob.runner.sync', 'noob.runner.asyncio') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert "[]" == done.stdout.strip()
