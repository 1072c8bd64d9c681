"""Lumen's own version, as the installed distribution records it (no Qt, nothing heavy)."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def lumen_version() -> str:
    try:
        return version("lumen")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"
