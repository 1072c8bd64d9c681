"""First-run model setup: install the recommended model, import one, or use a folder.

Plain words, every control named for screen readers, everything reachable by keyboard, and
progress both shown and announced. Downloads and imports run off the GUI thread through the
app's TaskManager; cancelling keeps what was downloaded, so installing again resumes.

    folder = run_model_setup(parent)   # Path of the installed or chosen model, or None
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget,
)

from desktop.speech.announce import Announcer
from desktop.work.workers import TaskManager
from desktop.window.widgets import named_button
from models import catalogue
from models.errors import CancelledError, LumenError
from models.fsutil import human_size
from models.ocr.files import ocr_available
from models.registry import InstalledModel, Registry

_CANCELLED = object()  # what a cancelled job returns, so the dialog hears that it stopped


def run_model_setup(parent: QWidget | None = None, **options) -> Path | None:
    """Show the setup dialog modally; the folder of the model it installed or chose, or None."""
    dialog = ModelSetupDialog(parent, **options)
    dialog.exec()
    return dialog.result_folder


class ModelSetupDialog(QDialog):
    def __init__(
        self, parent: QWidget | None = None, *, registry: Registry | None = None,
        endpoint: str | None = None, providers: list[str] | None = None,
        tasks: TaskManager | None = None, first_run: bool = True,
    ) -> None:
        super().__init__(parent)
        self.first_run = first_run  # False when opened from Settings → Models
        self.registry = registry or Registry()
        self.endpoint = endpoint
        self.recommendation = catalogue.recommend(providers)
        self.result_folder: Path | None = None
        own = tasks or getattr(parent, "tasks", None)
        self._own_tasks = None if isinstance(own, TaskManager) else TaskManager()
        self.tasks = own if isinstance(own, TaskManager) else self._own_tasks
        self._stop = threading.Event()
        self._busy = False
        self._close_when_stopped = False
        self._last_step = -1
        self.announcer = Announcer(self)
        self._build()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        title = "Set up the description model" if self.first_run else "Add a description model"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        rec = self.recommendation
        layout = QVBoxLayout(self)
        words = "Lumen needs a description model" if self.first_run else "Add a description model"
        heading = QLabel(words)
        heading.setAccessibleName(words)
        heading.setStyleSheet("font-size: 130%; font-weight: bold;")
        about = ("Lumen describes pictures with a model that runs on this computer. You set it up "
                 "once; after that Lumen works without the internet.")
        if self.first_run and ocr_available():
            about += (" Reading text already works: the text reader comes with Lumen, so the "
                      "shortcut that reads the screen, and pages of text, need no model.")
        intro = QLabel(about)
        intro.setWordWrap(True)
        intro.setAccessibleName("About the model")
        layout.addWidget(heading)
        layout.addWidget(intro)

        self.install_button = named_button(
            self._install_text(),
            "Install the recommended model",
            f"Downloads {rec.entry.title} ({rec.dtype}) from the internet, then checks it. "
            f"Recommended because {rec.reason}.",
            self.install_recommended,
        )
        self.zip_button = named_button(
            "Import from a .zip &file…", "Import from a zip file",
            "Installs a model packed on another computer with lumen models pack.",
            self.import_zip,
        )
        self.folder_button = named_button(
            "Import from a f&older…", "Import from a folder",
            "Copies a model folder, for example from a USB stick, and checks every file.",
            self.import_folder,
        )
        self.use_button = named_button(
            "&Use a model folder where it is…", "Use a model folder where it is",
            "Uses a model folder on this computer without copying it.",
            self.use_folder,
        )
        for b in (self.install_button, self.zip_button, self.folder_button, self.use_button):
            layout.addWidget(b)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setAccessibleName("Progress")
        self.progress.setAccessibleDescription("How much of the model has been downloaded or checked")
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.status.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.status.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        row = QHBoxLayout()
        row.addStretch(1)
        self.cancel_button = named_button(
            "&Cancel download", "Cancel download",
            "Stops the download; installing again later continues where it stopped.",
            self.cancel_work,
        )
        self.cancel_button.hide()
        self.close_button = named_button(
            *(("&Not now", "Not now", "Closes this window without setting up a model.") if self.first_run
              else ("Clos&e", "Close", "Closes this window without adding a model.")),
            self.reject,
        )
        row.addWidget(self.cancel_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.install_button.setDefault(True)
        self.install_button.setFocus()

    def _install_text(self) -> str:
        rec = self.recommendation
        size = human_size(rec.entry.approx_bytes(rec.dtype))
        partial = {p.name: p for p in self.registry.partials()}.get(rec.installed_name)
        if partial is not None:
            return (f"&Continue installing the recommended model, {rec.entry.title} "
                    f"({human_size(partial.bytes_present)} of about {size} already downloaded)")
        return f"&Install the recommended model, {rec.entry.title} (about {size} download)"

    # -- actions ---------------------------------------------------------------------------
    def install_recommended(self) -> None:
        from models import download

        rec, endpoint, registry = self.recommendation, self.endpoint, self.registry
        self._begin(f"Preparing to download {rec.entry.title}…")

        def job() -> object:
            plan = download.plan_install(rec.entry, rec.dtype, endpoint=endpoint)
            remaining = plan.total_bytes - download.bytes_present(plan, registry)
            self.tasks.run_on_main(lambda: self._say(
                f"Downloading {human_size(remaining)} of {human_size(plan.total_bytes)}…"))
            return download.install(
                plan, registry=registry, should_stop=self._stop.is_set,
                on_progress=lambda p: self.tasks.run_on_main(lambda: self._progress(p.fraction)),
            )

        self._run(job, "installed")

    def import_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a Lumen model file", str(Path.home()), "Lumen model (*.zip)"
        )
        if path:
            self.import_from(Path(path))

    def import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose the model folder to copy", str(Path.home()))
        if path:
            self.import_from(Path(path))

    def import_from(self, source: Path) -> None:
        """Copy and verify a .zip or a folder (also called directly by tests and drops)."""
        from models.pack import import_model

        registry = self.registry
        total = max(_size_of(source), 1)
        self._begin(f"Importing and checking {source.name}…")
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            fraction = min(done[0] / total, 1.0)  # bytes copied (folder) or checked (.zip)
            self.tasks.run_on_main(lambda: self._progress(fraction))
            if self._stop.is_set():
                raise CancelledError("Import cancelled.")

        self._run(lambda: import_model(source, registry=registry, on_bytes=on_bytes), "imported")

    def use_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model folder", str(Path.home()))
        if path:
            self.use_folder_at(Path(path))

    def use_folder_at(self, folder: Path) -> None:
        try:
            model = self.registry.link(folder)
        except LumenError as e:
            self._failed(e)
            return
        self._finished(model, "ready to use")

    def cancel_work(self) -> None:
        if not self._busy:
            return
        self._stop.set()
        self.cancel_button.setEnabled(False)
        self._say("Stopping…")
        from models.download import abort_transfers

        abort_transfers()

    def reject(self) -> None:
        if self._busy:  # closing mid-download: stop it first, then close
            self._close_when_stopped = True
            self.cancel_work()
            return
        self._shutdown()
        super().reject()

    # -- running work ----------------------------------------------------------------------
    def _begin(self, message: str) -> None:
        self._busy = True
        self._stop.clear()
        self._last_step = -1
        for b in (self.install_button, self.zip_button, self.folder_button, self.use_button):
            b.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.cancel_button.setFocus()
        self._say(message)

    def _run(self, job: Callable[[], object], verb: str) -> None:
        # Outcomes come back as values through on_done, so a stop or a failure always
        # reaches the dialog whatever the task runner does with exceptions.
        def guarded() -> object:
            try:
                return job()
            except CancelledError:
                return _CANCELLED
            except Exception as e:  # shown to the user, never raised into Qt
                return _Failure(e)

        def done(result: object) -> None:
            if result is _CANCELLED:
                self._stopped()
            elif isinstance(result, _Failure):
                self._failed(result.error)
            else:
                self._finished(result, verb)  # type: ignore[arg-type]

        self.tasks.run(guarded, done, self._failed)

    def _progress(self, fraction: float) -> None:
        if not self._busy:
            return
        percent = int(fraction * 100)
        self.progress.setValue(percent)
        if percent // 10 > self._last_step:  # announce every 10 %, not every chunk
            self._last_step = percent // 10
            if 0 < percent < 100:
                self.announcer.announce(f"{percent} percent")

    def _finished(self, model: InstalledModel, verb: str) -> None:
        self._end()
        self.progress.setValue(100)
        self.result_folder = model.path
        self._say(f"{model.name} is {verb}. Lumen is ready to describe pictures.")
        self._shutdown()
        self.accept()

    def _stopped(self) -> None:
        self._end()
        self._say("Stopped. What was downloaded is kept; installing again continues from there.")
        self.install_button.setText(self._install_text())
        if self._close_when_stopped:
            self._shutdown()
            super().reject()

    def _failed(self, error: BaseException) -> None:
        self._end()
        message = str(error) if isinstance(error, LumenError) else f"Something went wrong: {error}"
        self._say(message, assertive=True)
        self.install_button.setText(self._install_text())
        if self._close_when_stopped:
            self._shutdown()
            super().reject()

    def _end(self) -> None:
        self._busy = False
        for b in (self.install_button, self.zip_button, self.folder_button, self.use_button):
            b.setEnabled(True)
        self.cancel_button.hide()
        self.install_button.setFocus()

    def _say(self, message: str, assertive: bool = False) -> None:
        self.status.setText(message)
        # A window does not grow for a word-wrapped label by itself: a long error would be cut.
        need = self.layout().totalHeightForWidth(self.width())
        if need > self.height():
            self.resize(self.width(), need)
        self.announcer.announce(message, assertive)

    def _shutdown(self) -> None:
        if self._own_tasks is not None:
            self._own_tasks.shutdown(timeout=0.5)
            self._own_tasks = None


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
