"""The local training set: pictures the user corrected, with the corrected text.

A folder in the Hugging Face *imagefolder* layout, so `datasets.load_dataset("imagefolder",
data_dir=...)`, `lumen train --data` and `lumen evaluate --data` all read it as it is:
    <root>/metadata.jsonl    one JSON object a line: {"file_name", "text", "added", "source"}
    <root>/<sha256[:20]>.png or .jpg   the picture as the model saw it (upright RGB)
Writes are atomic: the picture is written under a temporary name and renamed, then the whole
metadata.jsonl is rewritten to a temporary file and renamed over the old one (os.replace), so a
crash at any moment leaves the previous, complete set. A picture without a metadata line (a crash
between the two renames) is ignored and removed by the next write. Pictures are named by their
content, so correcting the same picture again replaces its text instead of adding a duplicate.
A lock file beside the folder serialises the window and the API server (separate processes).

No Qt, no torch: the window, the CLI and the HTTP API share this module.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from models.errors import LumenError
from models.exit_status import ExitStatus
from models.fsutil import write_atomic
from models.image_io import ImageSource, load_image

METADATA = "metadata.jsonl"
ENV_TRAINING_DIR = "LUMEN_TRAINING_DIR"
MAX_TEXT = 2000  # characters; a description, not a document


class TrainingSetError(LumenError):
    exit_code = ExitStatus.FAILED


@dataclass(frozen=True)
class Example:
    file_name: str  # relative to the set's folder, as metadata.jsonl has it
    text: str
    added: str  # ISO-8601, UTC
    source: str  # "window", "api", ...
    path: Path

    def to_json(self) -> dict:
        return {"file_name": self.file_name, "text": self.text, "added": self.added,
                "source": self.source}


def default_dir() -> Path:
    """`LUMEN_TRAINING_DIR`, else `training-set` in Lumen's data folder (`LUMEN_DATA_DIR`)."""
    env = os.environ.get(ENV_TRAINING_DIR)
    if env:
        return Path(env).expanduser().absolute()
    data = os.environ.get("LUMEN_DATA_DIR")
    if data:
        return Path(data).expanduser().absolute() / "training-set"
    from platformdirs import user_data_dir

    return Path(user_data_dir("Lumen", appauthor=False)) / "training-set"


def storage_statement(root: Path | None = None) -> str:
    """What is stored where, in plain words: shown before the user opts in."""
    root = root or default_dir()
    return (
        f"Lumen will keep a copy of each picture you correct, with your corrected description, "
        f"in {root} on this computer. Nothing is sent anywhere. The copies are used only when you "
        "train a model with `lumen train`. You can see the size, export or delete them in Settings."
    )


class TrainingSet:
    """One training-set folder; every call re-reads the disk, so several processes stay in step."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()

    # --- reading --------------------------------------------------------------------------

    def examples(self) -> list[Example]:
        """Every saved example, oldest first; lines that are not valid entries are skipped."""
        try:
            lines = (self.root / METADATA).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as e:
            raise TrainingSetError(f"Cannot read {self.root / METADATA} ({e}); check the folder's "
                                   "permissions, or clear the training set in Settings.") from e
        out = []
        for line in lines:
            try:
                row = json.loads(line)
                name, text = row["file_name"], row["text"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(name, str) and isinstance(text, str) and (self.root / name).is_file():
                out.append(Example(name, text, str(row.get("added", "")),
                                   str(row.get("source", "")), self.root / name))
        return out

    def __len__(self) -> int:
        return len(self.examples())

    def size_bytes(self) -> int:
        """Bytes on disk: the pictures and metadata.jsonl."""
        if not self.root.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.root.iterdir() if p.is_file())

    # --- writing --------------------------------------------------------------------------

    def add(self, image: ImageSource, text: str, *, source: str = "window") -> Example:
        """Save `image` with its corrected `text`; the same picture again replaces its text.

        Raises ImageError for an unreadable picture and TrainingSetError for empty text or a
        folder that cannot be written.
        """
        text = " ".join(str(text).split())
        if not text:
            raise TrainingSetError("The corrected description is empty; type what the picture shows.")
        if len(text) > MAX_TEXT:
            raise TrainingSetError(f"The corrected description is longer than {MAX_TEXT} characters; "
                                   "shorten it.")
        picture = load_image(image)  # validates and turns it upright RGB
        fmt = "JPEG" if getattr(image, "format", None) == "JPEG" or _is_jpeg(image) else "PNG"
        buf = io.BytesIO()
        picture.save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        data = buf.getvalue()
        name = hashlib.sha256(data).hexdigest()[:20] + (".jpg" if fmt == "JPEG" else ".png")
        added = datetime.now(timezone.utc).isoformat(timespec="seconds")
        example = Example(name, text, added, source, self.root / name)
        try:
            with self._locked():
                if not (self.root / name).is_file():
                    write_atomic(self.root / name, data)
                rows = [e for e in self.examples() if e.file_name != name] + [example]
                write_atomic(self.root / METADATA, _jsonl(rows))
                self._remove_orphans(rows)
        except OSError as e:
            raise TrainingSetError(f"Cannot save to the training set in {self.root} "
                                   f"({e.strerror or e}); check free space and permissions.") from e
        return example

    def remove(self, file_name: str) -> bool:
        """Forget one example; True when it was there."""
        with self._locked():
            rows = self.examples()
            kept = [e for e in rows if e.file_name != file_name]
            if len(kept) == len(rows):
                return False
            write_atomic(self.root / METADATA, _jsonl(kept))
            self._remove_orphans(kept)
        return True

    def clear(self) -> int:
        """Delete every example; returns how many there were."""
        with self._locked():
            count = len(self.examples())
            if self.root.is_dir():
                # metadata first: a crash half-way leaves an empty set, never dangling lines
                (self.root / METADATA).unlink(missing_ok=True)
                for p in self.root.iterdir():
                    if p.is_file():
                        p.unlink(missing_ok=True)
        return count

    def export(self, dest: Path) -> Path:
        """Copy the set to `dest`: a .zip archive, or a new (or empty) folder. Returns `dest`."""
        dest = Path(dest)
        rows = self.examples()
        if not rows:
            raise TrainingSetError("The training set is empty; correct a description first.")
        if dest.suffix.lower() == ".zip":
            tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
            try:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:  # pictures are compressed
                    for e in rows:
                        z.write(e.path, e.file_name)
                    z.writestr(METADATA, _jsonl(rows))
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            return dest
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise TrainingSetError(f"{dest} already exists and is not an empty folder; "
                                   "choose a new folder or a .zip file name.")
        dest.mkdir(parents=True, exist_ok=True)
        for e in rows:
            shutil.copyfile(e.path, dest / e.file_name)
        write_atomic(dest / METADATA, _jsonl(rows))
        return dest

    # --- internals ------------------------------------------------------------------------

    def _remove_orphans(self, rows: list[Example]) -> None:
        keep = {e.file_name for e in rows} | {METADATA}
        for p in self.root.iterdir():
            if p.is_file() and p.name not in keep:
                p.unlink(missing_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """A blocking OS lock beside the folder (writes take milliseconds)."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = self.root.with_name(f".{self.root.name}.lock")
        with open(lock, "a+b") as handle:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield  # closing the handle releases the lock


def _is_jpeg(image: ImageSource) -> bool:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image[:3]) == b"\xff\xd8\xff"
    if isinstance(image, (str, os.PathLike)):
        try:
            with open(image, "rb") as f:
                return f.read(3) == b"\xff\xd8\xff"
        except OSError:
            return False
    return False


def _jsonl(rows: list[Example]) -> bytes:
    return "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in rows).encode("utf-8")
