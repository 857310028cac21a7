"""The user package of the assets guide (``my_package.assets`` / ``my_package.nodes``).

Importable when ``tests/`` is on ``sys.path``; the objects live in :mod:`noob.testing`.
"""
