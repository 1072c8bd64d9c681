"""Encoded pictures kept for the next action on the same picture.

Encoding the picture is the costly part of every action (SmolVLM-256M's vision encoder on 17
tiles, Florence-2's DaViT): asking a follow-up question, describing again at another detail
level, reading text or listing objects on the picture already on screen should not run it again.
`PictureCache` keeps recent results by (picture, model, what) and drops the least recently used
ones when more than `max_bytes` are held, or (with `max_pictures`) everything about the least
recently used pictures beyond that many: a small model's pictures take a few kilobytes each, so
a byte budget alone would keep thousands of pictures never looked at again.

    cache = shared_cache()
    key = (picture_key(rgb), model_id, "image_features")
    features = cache.get_or_compute(key, lambda: encode(rgb), nbytes=lambda f: f.nbytes)

`picture_key` is a hash of the decoded RGB pixels, so the same picture opened from a file,
pasted or dropped again is found, and an edited one is not. Thread-safe.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image

T = TypeVar("T")

# Enough for a conversation on a few pictures (SmolVLM-256M: 2.5 MB of image features for 17
# tiles, about 46 KB of key/value cache per prompt token; Florence-2-base: 1.8 MB per picture).
DEFAULT_MAX_BYTES = 192 << 20


def picture_key(rgb: Image.Image) -> str:
    """Identity of a decoded picture: its size, mode and pixels (blake2b, 128 bits)."""
    digest = hashlib.blake2b(rgb.tobytes(), digest_size=16)
    digest.update(f"{rgb.mode}{rgb.size}".encode())
    return digest.hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    bytes: int = 0
    entries: int = 0


class PictureCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_pictures: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_pictures = max_pictures
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    @property
    def pictures(self) -> int:
        """How many pictures something is kept about."""
        with self._lock:
            return len({_picture_of(k) for k in self._items})

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        """Keep `value`; one larger than the whole cache is not kept."""
        with self._lock:
            if key in self._items:
                self.stats.bytes -= self._items.pop(key)[1]
            if nbytes > self.max_bytes:
                self._sync()
                return
            self._items[key] = (value, nbytes)
            self.stats.bytes += nbytes
            self._evict()

    def resize(self, max_bytes: int, max_pictures: int | None = None) -> None:
        """A new budget; the least recently used go at once when it is smaller."""
        with self._lock:
            self.max_bytes, self.max_pictures = max_bytes, max_pictures
            self._evict()

    def _evict(self) -> None:
        while self.stats.bytes > self.max_bytes:
            _, (_, dropped) = self._items.popitem(last=False)
            self.stats.bytes -= dropped
            self.stats.evictions += 1
        if self.max_pictures is not None:
            # pictures, most recently used first (a picture is as recent as its latest entry)
            recent = list(dict.fromkeys(_picture_of(key) for key in reversed(self._items)))
            older = set(recent[self.max_pictures:])
            for key in [k for k in self._items if _picture_of(k) in older]:
                self.stats.bytes -= self._items.pop(key)[1]
                self.stats.evictions += 1
        self._sync()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], nbytes: Callable[[T], int]) -> tuple[T, bool]:
        """(value, True) when it was cached; else compute, keep and return (value, False)."""
        found = self.get(key)
        if found is not None:
            return found, True
        value = compute()
        self.put(key, value, nbytes(value))
        return value, False

    def forget(self, picture: str) -> None:
        """Drop everything about one picture (its key is the first part of every cache key)."""
        with self._lock:
            for key in [k for k in self._items if isinstance(k, tuple) and k and _picture_of(k) == picture]:
                self.stats.bytes -= self._items.pop(key)[1]
            self._sync()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.stats.bytes = 0
            self._sync()

    def _sync(self) -> None:
        self.stats.entries = len(self._items)


def _picture_of(key: Hashable) -> Hashable:
    """The picture a key is about: the first part of a tuple key (see the module docstring)."""
    return key[0] if isinstance(key, tuple) and key else key


_shared: PictureCache | None = None
_shared_lock = threading.Lock()


def shared_cache() -> PictureCache:
    """The process's one cache, shared by every model loaded in it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PictureCache()
        return _shared
