"""Nodes of the assets guide: ``constant``, ``use_func_asset`` and ``use_cls_asset``."""

from noob.testing.nodes import constant, use_cls_asset, use_func_asset

__all__ = ["constant", "use_cls_asset", "use_func_asset"]
