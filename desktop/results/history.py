"""Past results kept on this computer only, when the user opts in, with small thumbnails.

No Qt here: the store is an SQLite database in WAL mode (`history.sqlite3`) and one PNG per
thumbnail, so it can be written from a background task and read by tests without a display.
Every change is one SQLite transaction: a Lumen killed or a computer losing power at any moment
leaves the history as it was before the change in flight or after it, never damaged. A thumbnail
is written (atomically) before its row, so a row never names a missing file; a thumbnail whose
row never came is removed by the next trim. `secure_delete` overwrites trimmed and cleared
entries, and "Clear all" deletes the database files themselves.
"""
from __future__ import annotations

import io
import json
import logging
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from models.fsutil import write_atomic

log = logging.getLogger(__name__)
THUMB_SIZE = 160
MAX_ENTRIES = 500
DATABASE = "history.sqlite3"
_OLD_INDEX = "history.jsonl"  # the format before SQLite: imported once, then removed
_SCHEMA = """CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, created TEXT NOT NULL, source TEXT NOT NULL,
    task TEXT NOT NULL, detail TEXT NOT NULL, text TEXT NOT NULL, uncertain INTEGER NOT NULL,
    thumbnail TEXT NOT NULL DEFAULT '')"""


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


_COLUMNS = ", ".join(f.name for f in fields(HistoryEntry))


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
    """Thread-safe: entries are added from a background task and read on the GUI thread.

    A connection is opened per call and closed after it, so a long-running window holds no
    file open between results.
    """

    def __init__(self, root: Path, *, limit: int = MAX_ENTRIES) -> None:
        self.root = root
        self.limit = limit
        self._lock = threading.Lock()

    @property
    def database(self) -> Path:
        return self.root / DATABASE

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
            name = ""
            if thumb is not None:
                self.thumbs.mkdir(parents=True, exist_ok=True)
                name = f"{entry_id}.png"
                write_atomic(self.thumbs / name, thumb)
            entry = HistoryEntry(
                entry_id, datetime.now(timezone.utc).isoformat(timespec="seconds"), source,
                task, detail, text, uncertain, name,
            )
            with self._db() as db, db:  # one transaction: the row and the trim
                db.execute(f"INSERT INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           _row(entry))
                dropped = self._trim(db)
            self._remove_thumbs(dropped)
        return entry

    def replace_text(self, entry_id: str, text: str) -> HistoryEntry | None:
        """The entry with its text replaced (a conversation that grew); None if it is gone
        (cleared or trimmed meanwhile)."""
        with self._lock, self._db() as db, db:
            found = db.execute(f"SELECT {_COLUMNS} FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if found is None:
                return None
            db.execute("UPDATE entries SET text = ? WHERE id = ?", (text, entry_id))
        return replace(_entry(found), text=text)

    def entries(self) -> list[HistoryEntry]:
        """Newest first."""
        with self._lock, self._db() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM entries ORDER BY seq DESC").fetchall()
        return [_entry(r) for r in rows]

    def thumbnail_path(self, entry: HistoryEntry) -> Path | None:
        if not entry.thumbnail:
            return None
        path = self.thumbs / entry.thumbnail
        return path if path.is_file() else None

    def clear(self) -> None:
        """Delete everything: the database files themselves (nothing left in free pages or the
        write-ahead log) and the thumbnails."""
        with self._lock:
            for suffix in ("", "-wal", "-shm", "-journal"):
                self.database.with_name(DATABASE + suffix).unlink(missing_ok=True)
            (self.root / _OLD_INDEX).unlink(missing_ok=True)
            shutil.rmtree(self.thumbs, ignore_errors=True)

    # --- internals ------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """An open connection to the database (created, or taken over from the old format)."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
        except sqlite3.DatabaseError as e:  # not a database at all: history is not worth a crash
            log.warning("history database %s is damaged (%s); starting a new one", self.database, e)
            for suffix in ("", "-wal", "-shm", "-journal"):
                self.database.with_name(DATABASE + suffix).unlink(missing_ok=True)
            db = self._connect()
        with closing(db):
            yield db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.database, timeout=10)  # `with db:` is one transaction
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a committed result survives a power loss
            db.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten, not just freed
            with db:
                db.execute(_SCHEMA)
                self._import_old(db)
        except BaseException:
            db.close()
            raise
        return db

    def _import_old(self, db: sqlite3.Connection) -> None:
        """Rows of the former history.jsonl, once; damaged lines are skipped."""
        old = self.root / _OLD_INDEX
        if not old.is_file():
            return
        for line in old.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = HistoryEntry(**json.loads(line))
            except (ValueError, TypeError):
                continue
            db.execute(f"INSERT OR IGNORE INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       _row(entry))
        self._trim(db)
        db.commit()
        old.unlink()

    def _trim(self, db: sqlite3.Connection) -> list[str]:
        """Delete all but the newest `limit` rows; returns the thumbnails to remove."""
        cut = db.execute("SELECT seq FROM entries ORDER BY seq DESC LIMIT 1 OFFSET ?",
                         (self.limit,)).fetchone()
        if cut is None:
            return []
        names = [r[0] for r in db.execute(
            "SELECT thumbnail FROM entries WHERE seq <= ? AND thumbnail != ''", cut)]
        db.execute("DELETE FROM entries WHERE seq <= ?", cut)
        return names

    def _remove_thumbs(self, names: list[str]) -> None:
        """Remove trimmed thumbnails, and any left by an add that was killed before its row."""
        if not names or not self.thumbs.is_dir():
            return
        for name in names:
            (self.thumbs / name).unlink(missing_ok=True)
        with self._db() as db:
            kept = {r[0] for r in db.execute("SELECT thumbnail FROM entries")}
        for path in self.thumbs.iterdir():
            if path.name not in kept:
                path.unlink(missing_ok=True)


def _row(entry: HistoryEntry) -> tuple:
    d = asdict(entry)
    d["uncertain"] = int(bool(d["uncertain"]))
    return tuple(d[f.name] for f in fields(HistoryEntry))


def _entry(row: tuple) -> HistoryEntry:
    values = dict(zip((f.name for f in fields(HistoryEntry)), row))
    values["uncertain"] = bool(values["uncertain"])
    return HistoryEntry(**values)
