"""Past results kept on this computer only, when the user opts in, with small thumbnails.

No Qt here: the store is plain files (one JSON line per result, one PNG per thumbnail) so it
can be written from a background task and read by tests without a display.
"""
from __future__ import annotations

import io
import json
import logging
import shutil
import threading
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

log = logging.getLogger(__name__)
THUMB_SIZE = 160
MAX_ENTRIES = 500


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    created: str  # ISO-8601, UTC
    source: str  # file path, "screen", "window", "region" or "clipboard"
    task: str
    detail: str
    text: str
    uncertain: bool
    thumbnail: str = ""  # file name inside the thumbs folder, "" when none

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.created)


def make_thumbnail(image: str | Path | bytes | Image.Image) -> bytes | None:
    """PNG bytes of a thumbnail at most THUMB_SIZE pixels on a side, or None if unreadable."""
    try:
        if isinstance(image, Image.Image):
            img = image.copy()
        elif isinstance(image, bytes):
            img = Image.open(io.BytesIO(image))
        else:
            img = Image.open(image)
        img.thumbnail((THUMB_SIZE, THUMB_SIZE))
        if img.mode not in ("RGB", "RGBA", "L"):
            img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        out = io.BytesIO()
        img.save(out, "PNG")
        return out.getvalue()
    except Exception as exc:  # a thumbnail is a nicety: never fail a result for it
        log.info("no thumbnail: %s", exc)
        return None


class HistoryStore:
    """Thread-safe: entries are appended from a background task and read on the GUI thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    @property
    def _index(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def thumbs(self) -> Path:
        return self.root / "thumbs"

    def add(
        self,
        *,
        source: str,
        task: str,
        detail: str,
        text: str,
        uncertain: bool,
        image: str | Path | bytes | Image.Image | None = None,
    ) -> HistoryEntry:
        entry_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        thumb = make_thumbnail(image) if image is not None else None
        with self._lock:
            self.thumbs.mkdir(parents=True, exist_ok=True)
            name = ""
            if thumb is not None:
                name = f"{entry_id}.png"
                (self.thumbs / name).write_bytes(thumb)
            entry = HistoryEntry(
                entry_id, datetime.now(timezone.utc).isoformat(timespec="seconds"), source,
                task, detail, text, uncertain, name,
            )
            with self._index.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
            self._trim_locked()
        return entry

    def replace_text(self, entry_id: str, text: str) -> HistoryEntry | None:
        """The entry with its text replaced (a conversation that grew); None if it is gone
        (cleared or trimmed meanwhile)."""
        with self._lock:
            entries = self._read_locked()
            found = next((e for e in entries if e.id == entry_id), None)
            if found is None:
                return None
            updated = replace(found, text=text)
            body = "".join(json.dumps(asdict(updated if e.id == entry_id else e), ensure_ascii=False) + "\n"
                           for e in entries)
            self._index.write_text(body, encoding="utf-8")
        return updated

    def entries(self) -> list[HistoryEntry]:
        """Newest first. Damaged lines are skipped, never fatal."""
        with self._lock:
            return list(reversed(self._read_locked()))

    def thumbnail_path(self, entry: HistoryEntry) -> Path | None:
        if not entry.thumbnail:
            return None
        path = self.thumbs / entry.thumbnail
        return path if path.is_file() else None

    def clear(self) -> None:
        with self._lock:
            self._index.unlink(missing_ok=True)
            shutil.rmtree(self.thumbs, ignore_errors=True)

    def _read_locked(self) -> list[HistoryEntry]:
        if not self._index.is_file():
            return []
        found = []
        for line in self._index.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                found.append(HistoryEntry(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return found

    def _trim_locked(self) -> None:
        entries = self._read_locked()
        if len(entries) <= MAX_ENTRIES:
            return
        keep, drop = entries[-MAX_ENTRIES:], entries[:-MAX_ENTRIES]
        for e in drop:
            if e.thumbnail:
                (self.thumbs / e.thumbnail).unlink(missing_ok=True)
        text = "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in keep)
        self._index.write_text(text, encoding="utf-8")
