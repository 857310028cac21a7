"""Assets of the assets guide: ``my_package.assets.asset_func`` and ``my_package.assets.AssetCls``."""

from noob.testing.assets import AssetCls, asset_func

__all__ = ["AssetCls", "asset_func"]
