"""The batch's record of what is done: a JSON Lines file, appended and synced line by line.

Each line is one picture: `lumen describe --json`'s object (or `image` and `error`), plus
`file_size` and `file_mtime_ns`, the key that says whether the picture changed since. A line is
written with one `write` and synced (`fsync`) before the next picture counts as done, so a run
stopped at any moment (Ctrl+C, SIGKILL, a power cut) loses at most the pictures in flight.
Opening the journal again:
- a torn last line (no line end, or not JSON: the write was cut) is cut off, and its picture
  is described again;
- lines of pictures that changed (size or mtime), error lines of pictures listed again (the
  error may have been passing), and the pages of a document not read to its end (a document
  is redone whole) are dropped: the file is rewritten without them, atomically
  (a temporary file, synced, then renamed over it), so each picture has one line;
- every other line counts as done and its picture is skipped.
One batch at a time writes a journal (a lock file beside it).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from models.errors import LumenError
from models.fsutil import write_atomic
from models.exit_status import ExitStatus
from services.batch.sources import Picture

SIZE, MTIME = "file_size", "file_mtime_ns"


class BatchOutputError(LumenError):
    """The output file cannot be written, or another batch is writing it."""

    exit_code = ExitStatus.USAGE


def row_key(row: dict[str, Any]) -> tuple[str, int, int] | None:
    try:
        return (str(row["image"]), int(row[SIZE]), int(row[MTIME]))
    except (KeyError, TypeError, ValueError):
        return None


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Every whole line of a journal, parsed (a torn last line is left out)."""
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                return
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def encode(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" for row in rows)


class Journal:
    """Open with `Journal(path)`, then `load(pictures, restart)`; `append` rows; `close`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock")
        self._fd: int | None = None
        self.repaired = False  # a torn last line was cut off
        self.dropped = 0  # lines of changed pictures and earlier errors, rewritten away

    def load(self, pictures: Iterable[Picture], restart: bool = False) -> set[tuple[str, int, int]]:
        """Take the lock, repair and tidy the file; return the keys of the pictures done."""
        if not self.path.parent.is_dir():
            raise BatchOutputError(f"Cannot write {self.path}: the folder {self.path.parent} does not exist.")
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise BatchOutputError(f"Another lumen batch is writing {self.path}: wait for it to end, "
                                   "or choose another --out file.") from None
        except OSError as e:
            raise BatchOutputError(f"Cannot write beside {self.path} ({e.strerror or e}).") from e
        try:
            if restart:
                self.path.unlink(missing_ok=True)
            done = self._tidy({p.image: p.key for p in pictures}) if self.path.exists() else set()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            self._lock.release()
            raise BatchOutputError(f"Cannot write {self.path} ({e.strerror or e}).") from e
        return done

    def _tidy(self, listed: dict[str, tuple[str, int, int]]) -> set[tuple[str, int, int]]:
        with open(self.path, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last line end: empty, or a torn line
        kept: dict[tuple[str, Any], bytes] = {}  # (image, page) -> line; page None for a picture
        keys: dict[str, tuple[str, int, int]] = {}
        pages: dict[str, tuple[set[int], int]] = {}  # a document's pages read, of how many
        failed: set[str] = set()
        rewrite = False
        for line in lines:
            try:
                row = json.loads(line)
                key = row_key(row)
            except ValueError:
                key = None
            if key is None:  # not ours, or broken in the middle: cannot be trusted
                rewrite = True
                self.dropped += 1
                continue
            image, page = key[0], row.get("page")
            if (image, page) in kept:  # the later line wins; one line per picture (or page)
                rewrite = True
                self.dropped += 1
            if image in keys and keys[image] != key:  # an older version of the file
                failed.add(image)
            kept[(image, page)], keys[image] = line, key
            if "error" in row:
                failed.add(image)
            if page is not None:
                read, _ = pages.get(image, (set(), 0))
                pages[image] = (read | {int(page)}, int(row.get("pages") or 0))
        # A document is done when every page has its line; one stopped part-way is read again.
        failed |= {image for image, (read, total) in pages.items() if len(read) != total}
        for image in list(keys):
            changed = image in listed and listed[image] != keys[image]
            if changed or (image in failed and image in listed):
                for place in [place for place in kept if place[0] == image]:
                    del kept[place]
                    self.dropped += 1
                del keys[image]
                rewrite = True
        if tail:
            self.repaired = True
        if rewrite:
            self._rewrite(b"".join(line + b"\n" for line in kept.values()))
        elif tail:
            with open(self.path, "r+b") as fh:
                fh.truncate(len(data) - len(tail))
                fh.flush()
                os.fsync(fh.fileno())
        return {key for image, key in keys.items() if image not in failed}

    def _rewrite(self, data: bytes) -> None:
        write_atomic(self.path, data)

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write `rows` as whole lines with one write, then sync them to disk."""
        if self._fd is None:
            raise RuntimeError("Journal.load() first")
        data = memoryview(encode(rows))
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
            os.fsync(self._fd)
        except OSError as e:
            raise BatchOutputError(f"Cannot write {self.path} ({e.strerror or e}): free some space "
                                   "and run the same command again to go on.") from e

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
