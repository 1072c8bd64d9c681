"""The main window: where pictures come in and descriptions come out.

Layout, top to bottom, in tab order: notices (no model, errors), the drop zone, capture buttons,
detail level and the actions on the current picture, the description, and what to do with it.
Work is done by `WindowDescriber` (model, on its worker) and `Capturer`. Small controllers own the
rest, each given only the objects it uses (never this window): desktop/results/results_controller.py
(a result coming in) hands each finished result to `Results`, whose subscribers keep, say,
translate, score and remember it; desktop/speech/speech_router.py (where speech goes: the user's
screen reader, Lumen's voice), speech_controller.py (Stop, Repeat, the voice), history_controller.py,
appearance.py, model_status.py, capture/hotkey_controller.py. The window builds the widgets, wires
the controllers, and keeps start-up, settings and closing. desktop/window/actions.py lists the
commands; `_slots` says what each does.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton, QDialog, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QPushButton, QToolButton,
    QVBoxLayout, QWidget,
)

from desktop.capture.capture_flow import CaptureFlow
from desktop.capture.grab import Capturer
from desktop.capture.hotkey_controller import HotkeyController
from desktop.capture.hotkeys import GlobalHotkeys
from desktop.imaging import ImageSource
from desktop.paths import data_dir
from desktop.results.ask_panel import AskController
from desktop.results.correction import CorrectionController
from desktop.results.description_commands import DescriptionCommands
from desktop.results.history import HistoryStore
from desktop.results.history_controller import HistoryController
from desktop.results.history_panel import HistoryPanel
from desktop.results.keywords_view import KeywordsController, KeywordsView
from desktop.results.result_translation import ResultTranslation
from desktop.results.result_view import ResultView
from desktop.results.window_results import Results
from desktop.results.results_controller import ResultsController
from desktop.settings import Settings, save_settings
from desktop.setup import autostart
from desktop.speech.announce import Announcer
from desktop.speech.earcons import Earcons
from desktop.speech.result_speech import ResultSpeech
from desktop.speech.speech_controller import SpeechController
from desktop.speech.speech_router import ReaderLink, SpeechRouter
from desktop.speech.voice import LumenVoice
from desktop.window import help_dialogs
from desktop.window.actions import apply_hotkeys, build_actions, name_of, shortcut_list, show_keys
from desktop.window.appearance import Appearance
from desktop.window.documents_controller import DocumentsController
from desktop.window.drop_zone import OFFLINE, DropZone, sources_from_mime
from desktop.window.folder_controller import FolderController
from desktop.window.icons import app_icon
from desktop.window.model_status import ModelStatus
from desktop.window.window_parts import detail_choice, flow_row, quiet_label, scrolling
from desktop.work.caption_engine import CaptionEngine
from desktop.work.window_describer import WindowDescriber
from desktop.work.workers import TaskManager
from models.results import DETAILS
from services.translation import translator

log = logging.getLogger(__name__)
IMAGE_FILTER = ("Pictures and documents (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp *.pdf);;"
                "Documents (*.pdf *.tif *.tiff);;All files (*)")


class MainWindow(QMainWindow):
    result_ready = Signal(object)  # Result: for the instance server and tests
    error_shown = Signal(str)
    quit_requested = Signal()

    def __init__(self, settings: Settings, model_dir: Path | None, *, tasks: TaskManager | None = None,
                 voice: LumenVoice | None = None, history_root: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.model_dir = model_dir
        self.tasks = tasks or TaskManager()
        self.engine = CaptionEngine(self.tasks)
        self.describer = WindowDescriber(self.engine, settings.detail)
        self.capturer = Capturer(self)
        self.hotkeys = GlobalHotkeys(self)
        self._make_voice = voice is None  # start() brings up the real voice in the background
        self.translator = translator()  # services.translation: raises TranslationError, says what to do
        self.earcons = Earcons(settings.earcons)
        self.store = HistoryStore(history_root or data_dir() / "history")
        self.results = Results(self)  # every finished result; subscribers are wired in _connect
        self.announcer = Announcer(self)
        self.reader_link = ReaderLink(self.tasks)
        current = lambda: self.settings  # noqa: E731 - controllers read the settings in force
        self.speech = SpeechRouter(self.announcer, self.reader_link, lambda: self.voice, current)
        self.result_speech = ResultSpeech(self.speech, current)  # sentence by sentence while decoding
        self.speech_commands = SpeechController(
            self, voice or LumenVoice(None, "Lumen's speech is starting."), current, self.update_settings,
            self.tasks, self, self.describer, self.results, self.speech, self.result_speech,
            lambda: self.documents.stop_reading())
        # PDFs and multi-page TIFFs, page by page (desktop/window/documents_controller.py)
        self.documents = DocumentsController(self, self.describer, self.tasks, self, self.speech, current,
                                             lambda: self.voice)
        self.last_error = ""
        self.tray = None
        self.closed = False
        self.setWindowTitle("Lumen")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._keyed: list[tuple[QAbstractButton, str, str]] = []  # (button, action key, description)
        self._build()
        self.actions = build_actions(self, settings, self._slots(), self.set_detail)
        show_keys(self._keyed + [(radio, detail, "") for detail, radio in self.detail_radios.items()], self.actions)
        overflow = self.menuBar().findChild(QToolButton, "qt_menubar_ext_button")
        if overflow is not None:  # shown when the menus do not fit (large text)
            overflow.setAccessibleName("More menus")
        self._sync_checks()
        self._connect()
        self.appearance.apply()  # before the first show: no flash of the unthemed window
        avail = self.screen().availableGeometry()
        self.resize(min(1040, avail.width() * 9 // 10), min(860, avail.height() * 9 // 10))

    # ----- building -----
    def _button(self, key: str, text: str, description: str = "") -> QPushButton:
        """A button that runs the action `key` (so menu, shortcut and button agree).

        No Alt+letter on these: the menus own those letters, and every one has a shortcut."""
        button = QPushButton(text)
        button.setObjectName(f"button_{key}")
        button.setAccessibleName(text.replace("&", "").replace("…", ""))
        self._keyed.append((button, key, description))
        button.clicked.connect(lambda: self.actions[key].trigger())
        return button

    def _build(self) -> None:
        body = QWidget()
        col = QVBoxLayout(body)
        self.model_notice = QLabel()
        self.model_notice.setObjectName("notice")
        self.model_notice.setWordWrap(True)
        self.setup_button = QPushButton("Set &up model…")
        self.setup_button.setAccessibleName("Set up model")
        self.setup_button.setAccessibleDescription("Install or choose the description model.")
        self.model_status = ModelStatus(self, self.engine, self.model_notice, self.setup_button, self, self.speech,
                                        self.load_model)
        self.setup_button.clicked.connect(self.model_status.run_setup)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.model_notice, 1)
        notice_row.addWidget(self.setup_button)
        self.error_label = quiet_label("notice")
        self.drop_zone = DropZone()
        self.drop_zone.clicked.connect(self.open_dialog)
        self.drop_zone.dropped.connect(self.describe_sources)
        self.drop_zone.rejected.connect(self.show_error)

        self.capture_buttons = [
            self._button("open", "Open…", "Choose picture files"),
            self._button("paste", "Paste", "Describe a copied picture or file"),
            self._button("screen", "Describe screen", "The whole screen under the pointer"),
            self._button("window", "Describe window", "The window that had focus"),
            self._button("region", "Describe region…", "Choose part of the screen"),
            self._button("text", "Read screen text", "Read the text on the screen"),
        ]
        self.detail_box, self.detail_group, self.detail_radios = detail_choice(DETAILS, self.set_detail, self)
        self.current_buttons = [
            self._button("again", "Describe again", "Same picture, chosen detail"),
            self._button("read_text", "Read text", "Read the text in the current picture"),
            self._button("objects", "List objects", "Count the objects in the current picture"),
            self._button("ask", "Ask…", "Ask a question about the current picture"),
        ]

        self.result_view = ResultView()
        self.result_flow = ResultsController(self, self.describer, self.result_view, self.drop_zone,
                                             self.result_speech, self.speech, self, self.earcons, self.tasks,
                                             self.results)
        self.translation = ResultTranslation(lambda: self.settings, lambda: self.translator, self.tasks, self.results,
                                             self.result_view, self.speech, self)
        self.history_panel = HistoryPanel(self.store, self)
        self.history = HistoryController(self.store, self.history_panel, self.result_view, self.speech,
                                         self.tasks, lambda: self.settings)
        # desktop/results/ask_panel.py: questions about the picture
        self.ask_flow = AskController(self, self.describer, self.speech, self, self.earcons, self.tasks,
                                      self.history, lambda: self.settings, lambda: self.translator)
        # desktop/results/correction.py: F2, the training set
        self.correction = CorrectionController(self, self, self.speech, self.tasks)
        self.folder = FolderController(self, self.tasks, self, self.speech, lambda: self.settings, lambda: self.model_dir)
        self.description = DescriptionCommands(self, self.result_view, self, self.speech)  # copy, save
        self.result_view.copy_all.connect(self.description.copy)
        self.keywords_view = KeywordsView()  # desktop/results/keywords_view.py: CLIP keywords, when installed
        self.keywords = KeywordsController(self.keywords_view, self.results, self.tasks)
        self.appearance = Appearance(self, lambda: self.settings, self.update_settings, self.speech,
                                     self._apply_font)
        self.result_buttons = [
            self._button("copy", "Copy", "Copy the description"),
            self._button("save", "Save as text…", "Save the description in a text file"),
            self._button("stop", "Stop", "Stop speaking and describing"),
            self._button("repeat", "Repeat", "Say the last result again"),
            self._button("history", "History", "Show past results"),
        ]
        self.hotkey_notice = quiet_label()
        self.capture_flow = CaptureFlow(self, self.capturer, self.describer, self.earcons, self,
                                        lambda: self.shortcuts.pressed_just_now())
        self.shortcuts = HotkeyController(self.hotkeys, self.hotkey_notice, lambda: self.settings, self.speech,
                                          self.capture_flow.capture, self.speech_commands.stop_speaking)

        col.setSpacing(12)
        col.addLayout(notice_row)
        col.addWidget(self.error_label)
        col.addWidget(self.drop_zone, 2)
        col.addLayout(flow_row(self.capture_buttons))
        col.addLayout(flow_row([self.detail_box, *self.current_buttons]))
        col.addWidget(self.result_view, 3)
        col.addWidget(self.ask_flow.panel, 2)
        col.addWidget(self.keywords_view)
        col.addLayout(flow_row(self.result_buttons))
        col.addWidget(self.hotkey_notice)
        self.setCentralWidget(scrolling(body))

        self.history_panel.chosen.connect(self.history.show_entry)
        self.history_panel.cleared.connect(lambda: self.announce("History cleared."))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_panel)
        self.history_panel.hide()
        order = [self.setup_button, self.drop_zone, *self.capture_buttons, *self.detail_radios.values(),
                 *self.current_buttons, self.result_view.text_box, *self.ask_flow.panel.widgets(),
                 self.keywords_view.list, *self.result_buttons]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)
        self.status_label = QLabel()  # wraps at large text sizes, where a status message would clip
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Status")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().setAccessibleName("Status")

    def _slots(self) -> dict[str, Callable[..., object]]:
        """What each action of desktop/window/actions.py does (checkable ones get their state)."""
        speech, appearance = self.speech_commands, self.appearance
        return {
            "open": self.open_dialog, "paste": self.paste, "folder": self.folder.choose, "save": self.description.save,
            "settings": self.show_settings, "model_setup": self.model_status.run_setup, "quit": self.quit,
            "copy": self.description.copy, "correct": self.correction.open,
            **{kind: self.capture_flow.soon(kind) for kind in ("screen", "window", "region", "text")}, "again": lambda: self.again("caption"),
            "read_text": lambda: self.again("ocr"), "objects": lambda: self.again("objects"), "ask": self.ask_flow.open, "stop": speech.stop,
            "stop_speaking": speech.stop_speaking, "repeat": speech.repeat, "speak": speech.toggle,
            "history": self.history.toggle, "larger": appearance.larger_text,
            "smaller": appearance.smaller_text, "reset_text": appearance.reset_text,
            "contrast": appearance.toggle_contrast, "next_page": self.documents.next_page,
            "previous_page": self.documents.previous_page, "read_on": self.documents.read_to_end, "keys": self.show_shortcuts, "about": self.show_about,
        }

    def _connect(self) -> None:
        self.result_flow.connect()
        self.actions["stop"].triggered.connect(self.ask_flow.stop)  # Esc also stops an answer
        self.actions["stop"].triggered.connect(self.folder.cancel)  # and a folder being described
        self.documents.connect()
        self.describer.started.connect(self.keywords.clear)
        self.describer.settled.connect(self.result_speech.settled)
        # A finished result, in this order: kept, said (or translated and said), its keywords
        # scored, remembered for correction; then the window tells the instance server and tests.
        for subscriber in (self.history.remember, self.result_speech.finished, self.translation.finished,
                           self.keywords.score, self.correction.remember, self.result_ready.emit):
            self.results.added.connect(subscriber)
        self.tasks.failed.connect(lambda exc: self.show_error(f"Something went wrong ({exc})."))
        self.appearance.follow_system()

    def _sync_checks(self) -> None:
        self.detail_radios[self.settings.detail].setChecked(True)
        self.actions[self.settings.detail].setChecked(True)
        self.actions["speak"].blockSignals(True)
        self.actions["speak"].setChecked(self.settings.speak)
        self.actions["speak"].blockSignals(False)
        self.actions["contrast"].blockSignals(True)
        self.actions["contrast"].setChecked(self.settings.theme.startswith("high-contrast"))
        self.actions["contrast"].blockSignals(False)

    # ----- getting pictures in -----
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open pictures", str(Path.home()), IMAGE_FILTER)
        if paths:
            self.describe_sources([ImageSource(p, Path(p), "file") for p in paths])

    def paste(self) -> None:
        sources, reason = sources_from_mime(QGuiApplication.clipboard().mimeData(), kind="clipboard")
        if sources:
            self.describe_sources(sources)
        elif reason == OFFLINE:  # a web address was copied
            self.show_error(reason)
        else:
            self.show_error("There is no picture to paste; copy a picture or a picture file first.")

    def describe_sources(self, sources: list[ImageSource], task: str = "caption") -> None:
        from models.documents import is_document

        documents = [s for s in sources if isinstance(s.data, Path) and is_document(s.data)]
        if documents:  # a document is read page by page; pictures beside it are left out
            if len(sources) > 1:
                self.announce(f"Opening the document {documents[0].data.name}; the other files are left out.")
            self.documents.open(documents[0].data)
            return
        if len(sources) == 1:
            self.describer.describe(sources[0], task)
        else:
            self.describer.describe_many(sources, task)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.drop_zone.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_zone.dropEvent(event)

    # ----- the current picture -----
    def again(self, task: str) -> None:
        """Describe the current picture again, read its text ("ocr") or list its objects."""
        if self.describer.again(task) is None:
            self.show_error("There is no picture yet; open, paste or capture one first.")

    def set_detail(self, detail: str) -> None:
        """Switch the detail level (remembered), and describe the current picture again."""
        if detail == self.describer.detail and self.detail_radios[detail].isChecked():
            return
        self.describer.detail = self.settings.detail = detail
        save_settings(self.settings)
        self.detail_radios[detail].setChecked(True)
        self.actions[detail].setChecked(True)
        self.announce(f"Detail: {name_of(self.actions[detail])}.")
        if self.describer.current is not None:
            self.describer.again("caption", detail)

    @property
    def voice(self) -> LumenVoice:
        """Lumen's own voice (desktop/speech/speech_controller.py brings it up and swaps it in)."""
        return self.speech_commands.voice

    def _apply_font(self, font: QFont) -> None:
        self.result_view.apply_font(font)
        self.drop_zone.apply_font(font)

    # ----- notices (desktop/notices.py: what the controllers may tell the user) -----
    def show_error(self, message: str) -> None:
        """One sentence, shown, announced and spoken; never a dialog, never fatal."""
        self.last_error = message
        self.error_label.setText(message)
        self.error_label.show()
        self.set_status(message)
        self.earcons.play("error")
        self.speech.say(message, error=True)
        self.error_shown.emit(message)

    def clear_error(self) -> None:
        self.error_label.hide()

    def set_status(self, message: str) -> None:
        self.status_label.setText(message)

    def announce(self, message: str, assertive: bool = False) -> None:
        """Status chatter, for readers that take announcements (results go through `speech.say`)."""
        self.speech.status(message, assertive)

    # ----- start-up, settings, help and closing -----
    def start(self, open_setup: bool = True) -> None:
        """After the window is shown: load the model, start speech and global shortcuts."""
        if self.model_dir is None:
            self.model_status.show_state("none")
            if open_setup:
                QTimer.singleShot(0, self.model_status.run_setup)
        else:
            self.load_model(self.model_dir)
        if self._make_voice:
            self.speech_commands.start_voice()
        self.reader_link.start()  # which screen reader runs, now and every few seconds
        self.shortcuts.restart()

    def load_model(self, folder: Path) -> None:
        self.model_dir = folder
        self.engine.load(folder)

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings.normalised()
        self.describer.detail = self.settings.detail
        self.earcons.enabled = self.settings.earcons
        save_settings(self.settings)

    def show_settings(self) -> None:
        self.hotkeys.stop()  # typing a new shortcut must not trigger the old one
        from desktop.setup.settings_dialog import SettingsDialog  # with the model pages: ~1 s of imports

        dialog = SettingsDialog(self.settings, self.voice, self.translator, self.shortcuts.reason(), self,
                                reader=self.speech.reader)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            old = self.settings
            self.update_settings(dialog.edited())
            if self.settings.voice != old.voice:
                self.voice.set_voice(self.settings.voice)
            if self.settings.start_at_login != autostart.is_enabled():
                try:
                    autostart.set_enabled(self.settings.start_at_login)
                except OSError as exc:
                    self.show_error(f"Lumen could not change starting at login ({exc}).")
            apply_hotkeys(self.actions, self.settings)
            self._sync_checks()
            self.appearance.apply()
        self.shortcuts.restart()

    def show_shortcuts(self) -> None:
        help_dialogs.show_text(self, "Keyboard shortcuts", shortcut_list(self.actions))

    def show_about(self) -> None:
        info = self.engine.info
        help_dialogs.show_text(self, "About Lumen", help_dialogs.about_text(
            info.name if info else None, info.provider if info else None))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.settings.close_to_tray and self.tray is not None:
            event.ignore()
            self.hide()
            self.tray.showMessage("Lumen", "Lumen keeps running in the tray.")
            return
        event.accept()
        self.quit()

    def quit(self) -> None:
        """Quit Lumen: stop the background work, then ask the app (desktop/window/launch.py) to end."""
        self.shutdown()
        self.quit_requested.emit()

    def shutdown(self) -> None:
        """Stop background work, speech and shortcuts (idempotent)."""
        self.closed = True
        self.hotkeys.stop()
        self.speech_commands.close()
        self.reader_link.close()
        self.tasks.shutdown(timeout=2.0)
        if self.tray is not None:
            self.tray.hide()
