"""`run_batch`: list the pictures, skip those done, describe the rest, write each line as it comes.

The local engine reads and decodes pictures ahead on reader threads while the model runs, and
can run several workers (each its own models, the cores shared out between them). Ray Data is
the other engine (services/batch/ray_engine.py); both write the same journal. Output: JSON
Lines (the journal itself), or Parquet written from the journal at the end of every run (the
journal, FILE.journal.jsonl beside it, is what a resumed run reads).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from models.exit_status import ExitStatus
from models.errors import ImageError, require_extra
from services.batch.describer import BatchOptions, Describer, error_row, status_of
from services.batch.journal import BatchOutputError, Journal
from services.batch.progress import Counts, ProgressCallback
from services.batch.sources import Picture, list_pictures, read_list

FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}
ENGINES = ("local", "ray")
READ_AHEAD = 4  # decoded pictures waiting per worker: bounded, so memory stays flat


@dataclass
class BatchRequest:
    sources: list[str]
    out: Path
    options: BatchOptions = field(default_factory=BatchOptions)
    from_list: Path | None = None
    restart: bool = False
    engine: str = "local"
    ray_address: str | None = None
    workers: int = 1
    write_xmp: bool = False  # each caption also in an XMP sidecar (services/batch/xmp.py)


@dataclass
class BatchResult:
    counts: Counts
    exit_code: int  # ExitStatus.of_batch: 0 all described, 11 some failed, or a more serious one
    repaired: bool = False  # a torn last line was cut off (its picture described again)
    out: Path | None = None


def output_format(out: Path) -> str:
    fmt = FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise BatchOutputError(f"--out {out}: name a .jsonl or a .parquet file.")
    if fmt == "parquet":
        require_extra("parquet", "pyarrow", what="Parquet output")
    return fmt


def journal_path(out: Path) -> Path:
    out = Path(out)
    return out if output_format(out) == "jsonl" else out.with_name(out.name + ".journal.jsonl")


def _clean(row: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The line to write, and its exit status (0: described)."""
    code = row.pop("exit_code", None)
    return row, (0 if "error" not in row else int(code or ImageError.exit_code))


def run_batch(request: BatchRequest, *, progress: ProgressCallback | None = None,
              should_stop: Callable[[], bool] | None = None,
              warn: Callable[[str], None] | None = None) -> BatchResult:
    """Describe what `request` names into its output. Raises LumenError for what stops the
    whole run (no model, output not writable); a picture's failure is its line."""
    out = Path(request.out)
    fmt = output_format(out)
    if request.engine not in ENGINES:
        raise BatchOutputError(f"--engine must be one of {', '.join(ENGINES)}")
    warn = warn or (lambda message: None)
    if request.write_xmp:
        from services.batch.xmp import require_pyexiv2, write_sidecar

        require_pyexiv2()
    sources = list(request.sources) + (read_list(request.from_list) if request.from_list else [])
    listing = list_pictures(sources)
    counts = Counts(skipped=len(listing.skipped))
    failures: set[int] = set()  # the statuses of the pictures that failed
    for name in listing.missing:
        warn(f"error: {name}: no such file or folder")
        counts.failed += 1
        failures.add(ImageError.exit_code)
    with Journal(journal_path(out)) as journal:
        done = journal.load(listing.pictures, request.restart)
        pending = [p for p in listing.pictures if p.key not in done]
        counts.already = len(listing.pictures) - len(pending)
        counts.total = len(pending) + counts.failed

        def take(rows: list[dict[str, Any]]) -> None:
            lines = []
            for row in rows:
                if row.get("page") == 1 and row.get("pages"):
                    counts.total += int(row["pages"]) - 1  # a document: one line per page
                line, code = _clean(row)
                lines.append(line)
                if code:
                    counts.failed += 1
                    failures.add(code)
                    warn(f"error: {line['image']}: {line['error']}")
                else:
                    counts.described += 1
            if request.write_xmp:  # before the line: a stop in between redoes the picture and its sidecar
                for line in lines:
                    try:
                        write_sidecar(line)
                    except Exception as e:  # noqa: BLE001 - a sidecar never costs the caption
                        warn(f"warning: {line['image']}: the XMP sidecar could not be written ({e})")
            journal.append(lines)
            if progress is not None:
                progress(counts)

        if progress is not None:
            progress(counts)
        try:
            if pending and request.engine == "ray":
                from services.batch.ray_engine import run_ray

                run_ray(pending, request.options, take, address=request.ray_address,
                        should_stop=should_stop, warn=warn)
            elif pending:
                run_local(pending, request.options, take, workers=request.workers,
                          should_stop=should_stop, warn=warn)
        finally:
            counts.ended = time.monotonic()
            if fmt == "parquet":
                from services.batch.parquet import write_parquet

                write_parquet(journal.path, out)
    return BatchResult(counts, int(ExitStatus.of_batch(counts.described + counts.already, failures)), journal.repaired, out)


def _read(picture: Picture):  # noqa: ANN202
    from models.image_io import load_image

    return None if picture.document else load_image(picture.image)  # documents: page by page


class _Feeder:
    """Hands out pictures to the workers with their decoding already started (read ahead)."""

    def __init__(self, pending: list[Picture], readers: ThreadPoolExecutor, ahead: int) -> None:
        self._pending: Iterator[Picture] = iter(pending)
        self._readers, self._ahead = readers, ahead
        self._window: deque[tuple[Picture, Future]] = deque()
        self._lock = threading.Lock()
        self.stopped = False

    def take(self, count: int) -> list[tuple[Picture, Future]]:
        """Up to `count` pictures (none when all are handed out or the batch stops)."""
        with self._lock:
            taken = []
            while not self.stopped and len(taken) < count:
                while len(self._window) < self._ahead + count:
                    picture = next(self._pending, None)
                    if picture is None:
                        break
                    self._window.append((picture, self._readers.submit(_read, picture)))
                if not self._window:
                    break
                taken.append(self._window.popleft())
            return taken


_DONE = object()


def _threads_each(options: BatchOptions, workers: int) -> int | None:
    if options.threads is not None or workers == 1:
        return options.threads
    return max(1, (os.cpu_count() or 1) // workers)


def run_local(pending: list[Picture], options: BatchOptions, take: Callable[[list[dict]], None], *,
              workers: int = 1, should_stop: Callable[[], bool] | None = None,
              warn: Callable[[str], None] | None = None) -> None:
    """Describe `pending` on this machine: `workers` threads, each with its own models, fed
    by reader threads that decode pictures ahead. `take` gets each picture's line."""
    from dataclasses import replace

    workers = max(1, min(workers, len(pending)))
    options = replace(options, threads=_threads_each(options, workers))
    say = (lambda message: warn(f"warning: {message}")) if warn else (lambda message: None)
    first = Describer(options, warn=say)  # a model that fails to load, fails here
    results: queue.Queue = queue.Queue()
    with ThreadPoolExecutor(max_workers=min(2, workers + 1), thread_name_prefix="batch-read") as readers:
        feeder = _Feeder(pending, readers, READ_AHEAD * workers + options.batch_size * (workers - 1))

        def work(describer: Describer | None) -> None:
            try:
                describer = describer or Describer(options, warn=lambda m: None)
                while not (should_stop and should_stop()):
                    items = feeder.take(options.batch_size)
                    if not items:
                        break
                    decoded = []
                    for picture, decoding in items:
                        try:
                            decoded.append((picture, decoding.result(), None))
                        except Exception as e:  # noqa: BLE001 - cannot be read (or a bug of ours)
                            decoded.append((picture, None, e))
                    describer.encode_together([rgb for _, rgb, _ in decoded if rgb is not None])
                    for picture, rgb, error in decoded:
                        if picture.document:
                            results.put(describer.describe_document(picture))
                        elif error is not None:
                            results.put({**error_row(picture, error), "exit_code": status_of(error)})
                        else:
                            results.put(describer.describe(picture, rgb))
                    describer.forget()
            except BaseException as e:  # noqa: BLE001 - handed to the writing thread
                results.put(e)
            finally:
                results.put(_DONE)

        threads = [threading.Thread(target=work, args=(first if i == 0 else None,), daemon=True,
                                    name=f"batch-worker-{i}") for i in range(workers)]
        for thread in threads:
            thread.start()
        running, error = workers, None
        try:
            while running:
                item = results.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    error = error or item
                    feeder.stopped = True
                else:
                    take(item if isinstance(item, list) else [item])
        except BaseException:  # Ctrl+C: the pictures in flight are dropped, the rest is safe
            feeder.stopped = True
            raise
        finally:
            feeder.stopped = True
        if error is not None:
            raise error
