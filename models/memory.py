"""Giving freed heap memory back to the system after a model is loaded.

Opening ONNX sessions parses each file and converts its weights: the parsed copies are freed,
but glibc keeps the freed pages, so the process stays that much larger for its whole life, and
the first describe's activations come on top. `malloc_trim(0)` returns them. Florence-2-base
int8 in a fresh process, loaded then one describe: peak RSS 978 -> 912 MB, resident after loading
490 -> 396 MB. The window also keeps glibc to two heaps for all its threads (`fewer_heaps`) and
gives blocks of 1 MB and more pages of their own (`map_large_blocks`). Other C libraries:
nothing to do.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys


M_ARENA_MAX = -8  # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 1 << 20


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def fewer_heaps(count: int = 2) -> bool:
    """At most `count` glibc heaps for the whole process (call it before threads start); True
    when set. glibc gives each new thread that allocates a heap of its own, up to eight per
    core, and each heap keeps its own freed and half-used pages. The window runs a
    dozen threads (Qt, its workers, the voice): full-size Florence-2-base int8 window at rest
    after two presses and a screen of text 634 -> 615 MB, after the presses 616 -> 588 MB."""
    return _mallopt(M_ARENA_MAX, count)


def map_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Blocks of `threshold` bytes and more get pages of their own, which go back to the system
    the moment they are freed; True when set. glibc's default starts at 128 KB and rises to the
    largest block freed (up to 32 MB), so after the first describe the vision encoder's 18-81 MB
    activations and ONNX Runtime's arena regions come from the heap, where they leave freed
    pages between live ones. Full-size Florence-2-base int8 window (`lumen bench --latency`):
    see README, Memory at rest."""
    return _mallopt(M_MMAP_THRESHOLD, threshold)


def _mallopt(parameter: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(_libc().mallopt(parameter, value))
    except (OSError, AttributeError):  # musl and others: nothing to set
        return False


def release_free_memory() -> bool:
    """True when the C library gave memory back (glibc on Linux); never raises."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(_libc().malloc_trim(0))
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return False
