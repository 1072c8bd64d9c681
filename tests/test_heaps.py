"""The window's process keeps at most two glibc heaps (models.memory.fewer_heaps): eight threads
allocating at once, counted by glibc's own malloc_stats, with and without it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THREADS = """
import ctypes, ctypes.util, sys, threading
from models.memory import fewer_heaps
if sys.argv[1] == "fewer":
    assert fewer_heaps(2)
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def work():
    for _ in range(20000):  # ctypes lets go of the GIL: the threads contend for the heap
        libc.free(libc.malloc(4096))
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
libc.malloc_stats()
"""


def _heaps(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", THREADS, mode], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return sum(line.startswith("Arena ") for line in out.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heaps: Linux only")
def test_threads_share_two_heaps() -> None:
    assert _heaps("plain") > 2  # glibc's default: a heap per contending thread
    assert 1 <= _heaps("fewer") <= 2
