"""``python -m noob``: the same as the ``noob`` console script."""

from noob.cli.main import main

raise SystemExit(main())
