"""Timestamps for `lumen bench --latency`: what happened when, between processes.

With LUMEN_LATENCY_TRACE=FILE in the environment, `mark("event", key=value)` appends one JSON
line {"event", "t", ...} to FILE; `t` is time.monotonic(), one clock for every process on the
machine (CLOCK_MONOTONIC on Linux), so the bench can subtract the moment it pressed the shortcut.
Without the variable `mark` costs one dictionary lookup. No Qt here.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

ENV = "LUMEN_LATENCY_TRACE"
_lock = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def mark(event: str, **data: Any) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"event": event, "t": time.monotonic(), **data}, default=str)
    with _lock:
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:
            pass  # tracing must never break the app


def read(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every event in FILE, in the order written (a half-written last line is skipped)."""
    events = []
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
