"""Settings → Models: the installed models, with the same actions as `lumen models` and setup.

Each row of the list is one whole sentence ("name (default): Florence-2, int8, 297 MB"), so a
screen reader reads a model in full. Removing always asks first, and a linked folder is only
forgotten, never deleted (the registry guarantees that). Verifying and removing run on the task
pool; adding a model opens desktop/setup/model_setup.py's dialog on the chosen flow, so there is one
install path. Changes take effect at once: a new default model is loaded in the window.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMessageBox,
    QProgressBar, QVBoxLayout, QWidget,
)

from desktop.speech.announce import Announcer
from desktop.work.caption_engine import error_sentence
from desktop.setup.model_setup import ModelSetupDialog
from desktop.work.workers import TaskManager
from desktop.window.widgets import named_button
from models import catalogue
from models.errors import LumenError, ModelFolderError
from models.folder_check import FolderReport, check_folder
from models.fsutil import human_size
from models.registry import InstalledModel, Registry
from services.model_notes import model_history

FAMILY_NAMES = {"florence2": "Florence-2", "blip": "BLIP"}
NAME_ROLE = Qt.ItemDataRole.UserRole


def describe_model(model: InstalledModel, damage: str | None = None) -> str:
    """The sentence a row shows and a screen reader reads: name, default, family, dtype, size."""
    family = FAMILY_NAMES.get(model.family or "", model.family or "unknown kind")
    parts = [family, model.dtype or "unknown type", human_size(model.size_bytes)]
    if model.linked:
        parts.append("linked folder")
    text = f"{model.name}{' (default)' if model.is_default else ''}: {', '.join(parts)}"
    if model.problem:
        text += f". Cannot be used: {model.problem}"
    elif damage:
        text += f". Damaged: {damage}"
    return text


class ModelsPanel(QWidget):
    """The Models page of Settings. `window` (the main window) loads each new default model."""

    default_changed = Signal(object)  # Path of the new default model, or None when none is left

    def __init__(
        self, parent: QWidget | None = None, *, window: QObject | None = None,
        registry: Registry | None = None, tasks: TaskManager | None = None,
        endpoint: str | None = None, providers: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.registry = registry or Registry()
        self.endpoint = endpoint
        self.providers = providers
        self.recommendation = catalogue.recommend(providers)
        self._main = window
        own = tasks or getattr(window, "tasks", None)
        if not isinstance(own, TaskManager):
            own = TaskManager()
            own.setParent(self)
        self.tasks = own
        self._busy = False
        self._damaged: dict[str, str] = {}  # found by Verify, shown until the model is whole again
        self._step = -1
        self.announcer = Announcer(self)
        self._build()
        self._default_path = self._current_default()
        self._populate()
        self.default_changed.connect(self._load_in_window)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.setAccessibleName("Models")
        layout = QVBoxLayout(self)
        intro = QLabel("The description models on this computer. Changes on this page take "
                       "effect at once; OK and Cancel do not undo them.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        label = QLabel("&Installed models:")
        self.list = QListWidget()
        self.list.setAccessibleName("Installed models")
        self.list.setAccessibleDescription(
            "Each model with its kind, type, size and whether it is the default. "
            "Press Delete to remove the selected model.")
        self.list.installEventFilter(self)
        label.setBuddy(self.list)
        layout.addWidget(label)
        layout.addWidget(self.list, 1)

        row = QHBoxLayout()
        self.default_button = named_button(
            "Make &default", "Make default",
            "Lumen describes pictures with the default model; the window switches to it now.",
            self.make_default)
        self.verify_button = named_button(
            "&Verify files", "Verify files",
            "Checks every file of the selected model against its checksums.", self.verify)
        self.remove_button = named_button(
            "&Remove…", "Remove",
            "Deletes the selected model after asking. A linked folder is only forgotten, never "
            "deleted.", self.remove)
        self.model_buttons = [self.default_button, self.verify_button, self.remove_button]
        for b in self.model_buttons:
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)

        add = QGroupBox("Add a model")
        add.setAccessibleName("Add a model")
        add_col = QVBoxLayout(add)
        rec = self.recommendation
        size = human_size(rec.entry.approx_bytes(rec.dtype))
        self.install_button = named_button(
            f"I&nstall the recommended model, {rec.entry.title} (about {size} download)…",
            "Install the recommended model",
            f"Downloads {rec.entry.title} ({rec.dtype}) from the internet, then checks it. "
            f"Recommended because {rec.reason}.", self.install_recommended)
        self.zip_button = named_button(
            "Import from a .&zip file…", "Import from a zip file",
            "Installs a model packed on another computer with lumen models pack.",
            lambda: self._add(ModelSetupDialog.import_zip))
        self.folder_button = named_button(
            "Import from a &folder…", "Import from a folder",
            "Copies a model folder, for example from a USB stick, and checks every file.",
            lambda: self._add(ModelSetupDialog.import_folder))
        self.use_button = named_button(
            "&Use a model folder where it is…", "Use a model folder where it is",
            "Uses a model folder on this computer without copying it; Lumen never deletes it.",
            lambda: self._add(ModelSetupDialog.use_folder))
        self.add_buttons = [self.install_button, self.zip_button, self.folder_button, self.use_button]
        for b in self.add_buttons:
            add_col.addWidget(b)
        layout.addWidget(add)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName("Progress")
        self.progress.setAccessibleDescription("How much of the model has been checked")
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.status.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        order = [self.list, *self.model_buttons, *self.add_buttons, self.status]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)

    # -- the list --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the models folder; if the default changed, the window follows it."""
        self._populate()
        self._follow_default()

    def _populate(self) -> None:
        keep = self.selected_name()
        self.list.clear()
        try:
            models = self.registry.installed()
        except (LumenError, OSError) as e:
            self._say(f"The installed models could not be read: {error_sentence(e)}", True)
            models = []
        for model in models:
            text = f"{describe_model(model, self._damaged.get(model.name))}; {model_history(model.path)}"
            item = QListWidgetItem(text)
            item.setData(NAME_ROLE, model.name)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, f"Folder: {model.path}")
            item.setToolTip(str(model.path))
            self.list.addItem(item)
            if model.name == keep or (keep is None and model.is_default):
                self.list.setCurrentItem(item)
        if self.list.count() == 0:
            empty = QListWidgetItem("No model is installed. Add one below.")
            empty.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(empty)
        elif self.list.currentItem() is None:
            self.list.setCurrentRow(0)

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NAME_ROLE) if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(NAME_ROLE) == name:
                self.list.setCurrentRow(row)
                return

    def _selected(self) -> InstalledModel | None:
        """The selected model, or None after saying why there is none."""
        name = self.selected_name()
        if name is None:
            self._say("No model is selected; add one first.", True)
            return None
        try:
            return self.registry.get(name)
        except LumenError as e:  # removed meanwhile, e.g. from the command line
            self._say(error_sentence(e), True)
            self.refresh()
            return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.list and isinstance(event, QKeyEvent) and not self._busy
                and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Delete):
            self.remove()
            return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:
        if not self._busy:  # the command line may have changed the models meanwhile
            self.refresh()
        super().showEvent(event)

    # -- the default model -----------------------------------------------------------------
    def _current_default(self) -> Path | None:
        try:
            name = self.registry.default_name()
            return self.registry.path_of(name) if name else None
        except LumenError:
            return None

    def _follow_default(self, force: bool = False) -> None:
        path = self._current_default()
        if force or path != self._default_path:
            self._default_path = path
            self.default_changed.emit(path)

    def _load_in_window(self, path: Path | None) -> None:
        main = self._main
        if path is None or main is None or not hasattr(main, "load_model"):
            return
        ready = getattr(getattr(main, "engine", None), "state", "") == "ready"
        if getattr(main, "model_dir", None) == path and ready:
            return
        main.load_model(path)

    def make_default(self) -> None:
        model = self._selected()
        if model is None:
            return
        name = model.name
        if model.problem:
            self._say(f"{name} cannot be used, so it was not made the default. {model.problem}", True)
            return
        try:
            self.registry.set_default(name)
        except LumenError as e:
            self._say(error_sentence(e), True)
            return
        self._populate()
        self._follow_default(force=True)
        self._say(f"{name} is now the default model.")

    # -- verify and remove -----------------------------------------------------------------
    def verify(self) -> None:
        model = self._selected()
        if model is None:
            return
        name, total = model.name, max(model.size_bytes, 1)
        done = [0]

        def on_bytes(n: int) -> None:  # on the pool thread: post only whole-percent changes
            before = done[0] * 100 // total
            done[0] += n
            if done[0] * 100 // total != before:
                fraction = min(done[0] / total, 1.0)
                self.tasks.run_on_main(lambda: self._progress(fraction))

        path = model.path
        self._begin(f"Checking every file of {name}…", show_progress=True)
        self.tasks.run(lambda: check_folder(path, verify_checksums=True, on_bytes=on_bytes),
                       lambda report: self._verified(name, report),
                       lambda exc: self._verify_failed(name, exc))

    def _verified(self, name: str, report: FolderReport) -> None:
        self._damaged.pop(name, None)
        self._end()
        self.progress.setValue(100)
        self._populate()
        if report.manifest is not None:
            self._say(f"{name} is whole: every file matches its checksum.")
        else:
            self._say(f"{name} has every file it needs, but no lumen.json manifest, so its "
                      "files could not be compared with checksums.")

    def _verify_failed(self, name: str, error: BaseException) -> None:
        self._end()
        if isinstance(error, ModelFolderError):
            self._damaged[name] = str(error)
            self._populate()
            self._say(f"{name} is damaged. {error}", True)
        else:
            self._say(error_sentence(error), True)

    def remove(self) -> None:
        model = self._selected()
        if model is None:
            return
        name = model.name
        if model.linked:
            question = (f"Forget the linked model {name}? Its folder {model.path} is left as "
                        "it is; Lumen never deletes it.")
            yes = "&Forget it"
        else:
            question = (f"Delete the model {name} ({human_size(model.size_bytes)}) from "
                        f"{model.path}? This cannot be undone.")
            yes = "&Delete it"
        if not self._confirm(f"Remove {name}", question, yes):
            self._say("Nothing was removed.")
            return
        registry = self.registry
        self._begin(f"Removing {name}…")
        self.tasks.run(lambda: registry.remove(name), self._removed, self._failed)

    def _confirm(self, title: str, question: str, yes_text: str) -> bool:
        """Ask; only the explicit yes button says yes (Escape and closing keep the model)."""
        box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=self)
        box.setAccessibleName(title)
        box.setAccessibleDescription(question)
        yes = box.addButton(yes_text, QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep it", QMessageBox.ButtonRole.RejectRole)
        for button in (yes, keep):
            button.setAccessibleName(button.text().replace("&", ""))
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is yes

    def _removed(self, model: InstalledModel) -> None:
        self._damaged.pop(model.name, None)
        self._end()
        self.refresh()
        if model.linked:
            message = f"Forgot {model.name}; its folder {model.path} is left as it is."
        else:
            message = f"Removed {model.name}."
        default = self.registry.default_name()
        if default is None:
            message += " No model is installed now; add one below."
        elif model.is_default:
            message += f" The default model is now {default}."
        self._say(message)

    # -- adding models: the first-run setup flows ------------------------------------------
    def install_recommended(self) -> None:
        name = self.recommendation.installed_name
        if self.registry.exists(name):
            self.select(name)
            self._say(f"{name} is already installed.")
            return
        self._add(ModelSetupDialog.install_recommended)

    def _add(self, start: Callable[[ModelSetupDialog], None]) -> None:
        """Run one setup flow; its dialog shows progress and Cancel while the work goes on."""
        dialog = ModelSetupDialog(self, registry=self.registry, endpoint=self.endpoint,
                                  providers=self.providers, tasks=self.tasks, first_run=False)
        start(dialog)  # may first ask for a file or folder
        if dialog.result_folder is None and not dialog.progress.isHidden():
            dialog.exec()  # the work is under way; the dialog closes itself when it succeeds
        elif dialog.result_folder is None and dialog.status.text():
            self._say(dialog.status.text(), True)  # e.g. the chosen folder is not a model
        folder = dialog.result_folder
        dialog.deleteLater()
        if folder is None:
            self.list.setFocus()
            return
        self.refresh()
        added = next((m for m in self.registry.installed() if m.path == folder), None)
        if added is None:
            return
        self.select(added.name)
        self.list.setFocus()
        if added.is_default:
            self._say(f"{added.name} is added and is the default model.")
        else:
            self._say(f"{added.name} is added. Choose Make default to describe pictures with it.")

    # -- running work ----------------------------------------------------------------------
    def _begin(self, message: str, show_progress: bool = False) -> None:
        self._busy = True
        self._step = -1
        for b in self.model_buttons + self.add_buttons:
            b.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setVisible(show_progress)
        self.status.setFocus()
        self._say(message)

    def _progress(self, fraction: float) -> None:
        if not self._busy:
            return
        percent = int(fraction * 100)
        self.progress.setValue(percent)
        if percent // 25 > self._step:  # announce each quarter, not every chunk
            self._step = percent // 25
            if 0 < percent < 100:
                self.announcer.announce(f"{percent} percent")

    def _failed(self, error: BaseException) -> None:
        self._end()
        self.refresh()
        self._say(error_sentence(error), True)

    def _end(self) -> None:
        self._busy = False
        for b in self.model_buttons + self.add_buttons:
            b.setEnabled(True)
        self.list.setFocus()

    def _say(self, message: str, assertive: bool = False) -> None:
        self.status.setText(message)
        self.announcer.announce(message, assertive)
