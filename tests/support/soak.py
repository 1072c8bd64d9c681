"""Counts for the long hostile-use tests: small in the suite, full with LUMEN_SOAK=full.

    LUMEN_SOAK=full python -m pytest -s -q tests/test_killed_while_writing.py ...

Each such test prints its figure on one line starting with "RELIABILITY" (shown with -s).
"""
from __future__ import annotations

import os


def full() -> bool:
    return os.environ.get("LUMEN_SOAK", "").strip().lower() == "full"


def count(suite: int, full_count: int) -> int:
    return full_count if full() else suite


def report(line: str) -> None:
    print(f"RELIABILITY {line}", flush=True)
