"""The window's glibc settings (models/memory.py): at most two heaps (`fewer_heaps`: eight threads
allocating at once, counted by glibc's own malloc_stats), and freed blocks of 1 MB and more given
back to the system at once (`map_large_blocks`: resident memory after freeing), each with and
without the setting."""
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


# Blocks of 2 MB, each followed by a smaller one that stays (so the heap's top cannot shrink), freed
# after the first was freed once (which, by glibc's default, moves the threshold past 2 MB).
LARGE = """
import ctypes, ctypes.util, sys
from models.memory import map_large_blocks
if sys.argv[1] == "mapped":
    assert map_large_blocks()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
SIZE = 2 << 20
libc.free(libc.malloc(SIZE))
start = rss_mb()
blocks, keep = [], []
for _ in range(40):
    block = libc.malloc(SIZE)
    ctypes.memset(block, 1, SIZE)  # touched: resident
    blocks.append(block)
    keep.append(libc.malloc(256 << 10))  # from the heap's top: after the block
for block in blocks:
    libc.free(block)
print(round(rss_mb() - start))
"""


def _kept_mb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", LARGE, mode], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heaps: Linux only")
def test_freed_large_blocks_go_back_to_the_system_at_once() -> None:
    assert _kept_mb("plain") >= 60  # glibc's default: 80 MB freed, still resident
    assert _kept_mb("mapped") <= 2
