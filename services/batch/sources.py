"""Which files a batch describes: folders walked, files, glob patterns and lists of paths.

Pictures (and documents: PDFs and multi-page TIFFs, read page by page) are recognised by their content (Pillow reads the header only), not by their
extension: a `.JPG`, a `.tif`, a `.webp` and a file with no extension all count; anything else
is skipped and counted. Hidden files and folders (a name starting with ".") are skipped when a
folder is walked; a file named on its own is always looked at.
"""
from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from models.documents import is_document
from models.errors import ImageError
from models.image_io import looks_like_picture

GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Picture:
    """One file to describe, with the key that says whether it changed since it was described."""

    image: str  # the path as written in the output (`image` of each line)
    size: int
    mtime_ns: int
    document: bool = False  # a PDF or multi-page TIFF: one line per page (models/documents)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.image, self.size, self.mtime_ns)


@dataclass
class Listing:
    pictures: list[Picture] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not pictures
    missing: list[str] = field(default_factory=list)  # named but not found (one line each)


def read_list(path: Path) -> list[str]:
    """`--from-list FILE`: one path a line; blank lines and lines starting with # are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ImageError(f"Cannot read the list {path} ({e.strerror or e}): check the path.") from e
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _walk(folder: str) -> Iterator[str]:
    """Every file under `folder`, hidden folders and files left out, in a stable order."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


def _expand(source: str) -> tuple[list[str], bool]:
    """(candidate files, whether the source was found)."""
    if os.path.isdir(source):
        return list(_walk(source)), True
    if os.path.lexists(source):
        return [source], True
    if GLOB_CHARACTERS & set(source):
        found: list[str] = []
        for match in sorted(glob.glob(source, recursive=True)):
            found.extend(_walk(match) if os.path.isdir(match) else [match])
        return found, bool(found)
    return [], False


def list_pictures(sources: Iterable[str]) -> Listing:
    """The pictures of `sources`, each once, in the order given (folders sorted by name)."""
    listing = Listing()
    seen: set[str] = set()
    for source in sources:
        files, found = _expand(source)
        if not found:
            listing.missing.append(source)
            continue
        for name in files:
            real = os.path.realpath(name)
            if real in seen:
                continue
            seen.add(real)
            try:
                info = os.stat(name)
            except OSError:
                listing.missing.append(name)
                continue
            document = os.path.isfile(name) and is_document(name)
            if not document and (not os.path.isfile(name) or not looks_like_picture(name)):
                listing.skipped.append(name)
                continue
            listing.pictures.append(Picture(name, info.st_size, info.st_mtime_ns, document))
    return listing
