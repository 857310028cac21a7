"""The ``noob`` command line: ``noob run``, ``noob validate``, ``noob show``, ``noob bench``.

Owns: parsing arguments (``noob.cli.main``), turning ``-i key=value`` and standard input into
tube and process inputs (``noob.cli.common``), one module per subcommand (``run``,
``validate``, ``show``, ``bench``) and rendering a tube's graph as mermaid, dot or a
self-contained HTML page (``noob.cli.show``).
Must not: be imported by ``import noob`` (it stays out of the library's import path, so the
optional ``tqdm`` progress bar and argparse cost nothing to library users), or reach into
the core beyond the runner's public methods — except ``noob bench``, which wraps the
entries of ``SynchronousRunner._fns`` with timers after ``init()``.

Entry points: the ``noob`` console script (``noob.cli.main:main``) and ``python -m noob``.
"""
