"""File → Describe a folder…: `lumen batch` (services/batch) for one folder, from the window.

The descriptions go to `lumen-descriptions.jsonl` inside the chosen folder, with no save dialog:
one question (which folder) is less to get through than two, and the file sits beside the pictures
where a blind user will look for it; the start and the summary both name it. The batch runs on
its own serial worker (it loads its own model, as `lumen batch` does), never on the GUI thread.
Progress goes to the screen reader at most every PROGRESS_EVERY_S seconds ("12 of 40 pictures
described"); the summary is said as a result. Esc stops it between pictures; choosing the same
folder again goes on where it stopped (the batch journal skips what the file already holds).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.notices import Notices
from desktop.settings import Settings
from desktop.speech.speech_router import SpeechRouter
from desktop.work.workers import TaskManager
from models.errors import LumenError

OUT_NAME = "lumen-descriptions.jsonl"
PROGRESS_EVERY_S = 5.0


def _pictures(count: int) -> str:
    return f"{count} picture" + ("" if count == 1 else "s")


class FolderController(QObject):
    ended = Signal(str)  # the summary, once a run ends (finished, stopped or failed)

    def __init__(self, parent: QWidget, tasks: TaskManager, notices: Notices, speech: SpeechRouter,
                 settings: Callable[[], Settings], model_dir: Callable[[], Path | None]) -> None:
        super().__init__(parent)
        self.parent_widget, self.tasks, self.notices, self.speech = parent, tasks, notices, speech
        self._settings, self._model_dir = settings, model_dir
        self._stop: threading.Event | None = None  # set while a batch runs
        self.progress_every_s = PROGRESS_EVERY_S

    @property
    def running(self) -> bool:
        return self._stop is not None

    def choose(self) -> None:
        """Ask for a folder (the native folder dialog) and describe it."""
        if self.running:
            self.speech.status("A folder is already being described; Esc stops it.")
            return
        folder = QFileDialog.getExistingDirectory(self.parent_widget, "Describe a folder", str(Path.home()))
        if folder:
            self.start(Path(folder))

    def start(self, folder: Path) -> None:
        if self.running:
            self.speech.status("A folder is already being described; Esc stops it.")
            return
        model = self._model_dir()
        if model is None:
            self.notices.show_error("There is no description model yet: set one up first (File, Set up model).")
            return
        from services.batch.describer import BatchOptions
        from services.batch.pipeline import BatchRequest

        out = folder / OUT_NAME
        request = BatchRequest([str(folder)], out, BatchOptions(model=str(model), detail=self._settings().detail))
        stop = self._stop = threading.Event()
        self.notices.clear_error()
        self.speech.status(f"Describing the pictures in {folder.name}; the descriptions go to {OUT_NAME} "
                           "in that folder. Esc stops.")
        self.tasks.worker("folder-batch").submit(lambda job: self._run(request, stop, job), name="folder")

    def cancel(self) -> None:
        """Esc: stop after the pictures in flight; what is done stays in the file."""
        if self._stop is not None:
            self._stop.set()

    # ----- on the worker -----
    def _run(self, request, stop: threading.Event, job) -> None:  # noqa: ANN001 - BatchRequest, Job
        from services.batch.pipeline import run_batch

        folder = Path(request.sources[0])
        # Our own output (and its lock) are not pictures: leave them out of "skipped".
        ours = sum(1 for p in folder.glob(OUT_NAME + "*") if p.is_file())
        last = [float("-inf")]

        def progress(counts) -> None:  # noqa: ANN001 - services.batch.progress.Counts
            now = time.monotonic()
            if counts.done and (now - last[0] >= self.progress_every_s or counts.done == counts.total):
                last[0] = now
                done, total = counts.described + counts.already, counts.total + counts.already
                self.tasks.run_on_main(lambda: self._say_progress(f"{done} of {_pictures(total)} described."))

        should_stop = lambda: stop.is_set() or job.should_stop()  # noqa: E731
        try:
            result = run_batch(request, progress=progress, should_stop=should_stop)
        except LumenError as e:
            message = str(e)
            self.tasks.run_on_main(lambda: self._ended(message, error=True))
            return
        except Exception as e:  # noqa: BLE001 - a broken batch is said, never lost
            message = f"Describing the folder failed ({e})."
            self.tasks.run_on_main(lambda: self._ended(message, error=True))
            return
        c = result.counts
        skipped = max(0, c.skipped - ours)
        tail = f"{c.described} described, {c.failed} failed, {skipped} skipped (not pictures)"
        if c.already:
            tail += f", {c.already} already done"
        if should_stop() and c.done < c.total:
            left = c.total - c.done
            summary = (f"Stopped: {tail}; {_pictures(left)} left. Choose the same folder again to go on. "
                       f"Descriptions are in {OUT_NAME} in {folder.name}.")
        else:
            summary = f"Folder done: {tail}. Descriptions are in {OUT_NAME} in {folder.name}."
        self.tasks.run_on_main(lambda: self._ended(summary))

    # ----- on the GUI thread -----
    def _say_progress(self, text: str) -> None:
        if self.running:
            self.speech.status(text)

    def _ended(self, summary: str, error: bool = False) -> None:
        self._stop = None
        if error:
            self.notices.show_error(summary)
        else:
            self.notices.set_status(summary)
            self.speech.say(summary)
        self.ended.emit(summary)
