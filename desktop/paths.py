"""Where Lumen finds its bundled resources and keeps its own data."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """`resources/` beside the packages (source tree, editable install) or in a frozen bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def data_dir() -> Path:
    """Lumen's per-user data folder (history); `LUMEN_DATA_DIR` overrides it."""
    override = os.environ.get("LUMEN_DATA_DIR")
    if override:
        return Path(override)
    from models.data_home import user_data_root

    return user_data_root()
