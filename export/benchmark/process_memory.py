"""A process's resident memory from /proc (Linux; None elsewhere), for the benches."""
from __future__ import annotations

import os
from pathlib import Path


def rss_mb(pid: int | None = None, field: str = "VmRSS") -> float | None:
    """Resident memory now (VmRSS), at its peak (VmHWM) or its private part (RssAnon: what the
    system cannot take back without swapping; the rest is pages of files, the model's weights
    among them, which it can drop and read again), MB. `pid` None: this process."""
    try:
        for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mb(pid: int | None = None) -> float | None:
    return rss_mb(pid, "VmHWM")


def reset_peak(pid: int | None = None) -> bool:
    """Start the peak (VmHWM) again from the resident memory now (Linux: "5" into clear_refs);
    True when done. The window's start, which may optimise and save the model's graphs
    first, then does not count in the peak while describing."""
    try:
        Path(f"/proc/{pid or os.getpid()}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
