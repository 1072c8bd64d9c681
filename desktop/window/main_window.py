"""The main window: where pictures come in and descriptions come out.

Layout, top to bottom, in tab order: notices (no model, errors), the drop zone, capture buttons,
detail level and the actions on the current picture, the description, and what to do with it.
Work is done by `Describer` (model, on its worker) and `Capturer`. Small controllers own the
rest: desktop/results/results_controller.py (a result coming in), speech_router.py (where speech goes:
the user's screen reader, Lumen's voice), speech_controller.py (Stop, Repeat), history_controller.py,
appearance.py; window_behaviour.py has start-up, settings, help and closing. See desktop/window/actions.py
for the commands.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMainWindow,
    QPushButton, QRadioButton, QScrollArea, QToolButton, QVBoxLayout, QWidget,
)

from desktop.window import window_behaviour
from desktop.window.actions import build_actions
from desktop.results.correction import CorrectionController
from desktop.speech.announce import Announcer
from desktop.window.appearance import Appearance
from desktop.results.ask_panel import AskController
from desktop.capture.grab import Capturer
from desktop.work.describer import Describer, Reply, Result
from desktop.window.documents import DocumentsController
from desktop.window.drop_zone import OFFLINE, DropZone, sources_from_mime
from desktop.speech.earcons import Earcons
from desktop.work.caption_engine import CaptionEngine
from desktop.window.flow_layout import FlowLayout
from desktop.results.history import HistoryStore
from desktop.results.history_controller import HistoryController
from desktop.results.keywords_view import KeywordsController, KeywordsView
from desktop.results.history_panel import HistoryPanel
from desktop.capture.hotkeys import GlobalHotkeys
from desktop.window.icons import app_icon
from desktop.imaging import ImageSource
from desktop.paths import data_dir
from desktop.speech.result_speech import ResultSpeech
from desktop.results.result_view import ResultView
from desktop.results.results_controller import ResultsController
from desktop.settings import Settings, save_settings
from desktop.speech.speech_controller import SpeechController
from desktop.speech.speech_router import ReaderLink, SpeechRouter
from desktop.work.workers import Coalescer, TaskManager
from desktop.speech.voice import Voice
from services import latency_trace
from services.translation import translator

log = logging.getLogger(__name__)
DETAIL_NAMES = {"brief": "Brief (1)", "detailed": "Detailed (2)", "more": "More detailed (3)"}
HOTKEY_REPEAT_S = 0.5
IMAGE_FILTER = ("Pictures and documents (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp *.pdf);;"
                "Documents (*.pdf *.tif *.tiff);;All files (*)")


class MainWindow(window_behaviour.Behaviour, QMainWindow):
    result_ready = Signal(object)  # Result: for the instance server and tests
    error_shown = Signal(str)
    quit_requested = Signal()

    def __init__(self, settings: Settings, model_dir: Path | None, *, tasks: TaskManager | None = None,
                 voice: Voice | None = None, history_root: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.model_dir = model_dir
        self.tasks = tasks or TaskManager()
        self.engine = CaptionEngine(self.tasks)
        self.describer = Describer(self.engine, settings.detail)
        self.capturer = Capturer(self)
        self.hotkeys = GlobalHotkeys(self)
        self._make_voice = voice is None  # start() brings up the real voice in the background
        self.voice = voice or Voice(None, "Lumen's speech is starting.")
        self.translator = translator()  # services.translation: raises TranslationError, says what to do
        self.earcons = Earcons(settings.earcons)
        self.store = HistoryStore(history_root or data_dir() / "history")
        self.announcer = Announcer(self)
        self.reader_link = ReaderLink(self.tasks)
        self.speech = SpeechRouter(self.announcer, self.reader_link, lambda: self.voice, lambda: self.settings)
        self.speech_commands = SpeechController(self)
        self.result_flow = ResultsController(self)
        self.history = HistoryController(self)
        self.documents = DocumentsController(self)  # PDFs and multi-page TIFFs, page by page
        self.appearance = Appearance(self)
        self.result_speech = ResultSpeech(self)  # sentence by sentence while decoding
        # The latest result only: each holds its request's picture (a screen capture is 3.5 MB),
        # so keeping them all grew the window by that much per capture for as long as it ran.
        self.results: list[Result] = []
        self.results_total = 0
        self.last_error = ""
        self._coalescer = Coalescer(150, self)
        self._hotkey_at = -HOTKEY_REPEAT_S
        self._hotkey_action = ""
        self.tray = None
        self.closed = False
        self.setWindowTitle("Lumen")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build()
        self.actions = build_actions(self, settings)
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
        if description:
            button.setAccessibleDescription(description)
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
        self.setup_button.clicked.connect(self.run_model_setup)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.model_notice, 1)
        notice_row.addWidget(self.setup_button)
        self.error_label = QLabel()
        self.error_label.setObjectName("notice")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Mouse-selectable labels take click focus, and AT-SPI listed them as focusable objects
        # with no name while empty; they are said aloud when shown, so no focus at all.
        self.error_label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.error_label.hide()
        self.drop_zone = DropZone()
        self.drop_zone.clicked.connect(self.open_dialog)
        self.drop_zone.dropped.connect(self.describe_sources)
        self.drop_zone.rejected.connect(self.show_error)

        captures = FlowLayout()
        self.capture_buttons = [
            self._button("open", "Open…", "Choose picture files (Ctrl+O)."),
            self._button("paste", "Paste", "Describe a copied picture or file (Ctrl+V)."),
            self._button("screen", "Describe screen", "The whole screen under the pointer."),
            self._button("window", "Describe window", "The window that had focus."),
            self._button("region", "Describe region…", "Choose part of the screen."),
            self._button("text", "Read screen text", "Read the text on the screen."),
        ]
        for b in self.capture_buttons:
            captures.addWidget(b)

        # Named once: a titled group box is read twice by Orca ("Detail level panel. Detail level.",
        # the panel and then the radio group's label); an untitled one with a visible label, once.
        self.detail_box = QGroupBox()
        self.detail_box.setAccessibleName("Detail level")
        self.detail_box.setFlat(True)
        detail_row = FlowLayout(self.detail_box)
        detail_row.addWidget(QLabel("Detail level:"))
        self.detail_group = QButtonGroup(self)
        self.detail_radios: dict[str, QRadioButton] = {}
        for detail, text in DETAIL_NAMES.items():
            radio = QRadioButton(text)
            radio.setAccessibleName(text.replace("&", "").split(" (")[0])
            radio.setAccessibleDescription(f"Press {text[-2]} anywhere in the window.")
            radio.toggled.connect(lambda on, d=detail: on and self.set_detail(d))
            self.detail_group.addButton(radio)
            self.detail_radios[detail] = radio
            detail_row.addWidget(radio)
        current = FlowLayout()
        self.current_buttons = [
            self._button("again", "Describe again", "Same picture, chosen detail (F5)."),
            self._button("read_text", "Read text", "Read the text in the current picture (Ctrl+T)."),
            self._button("objects", "List objects", "Count the objects in the current picture (Ctrl+L)."),
            self._button("ask", "Ask…", "Ask a question about the current picture (Ctrl+Shift+A)."),
        ]
        for b in self.current_buttons:
            current.addWidget(b)

        self.result_view = ResultView()
        self.ask_flow = AskController(self)  # desktop/results/ask_panel.py: questions about the picture
        self.correction = CorrectionController(self)  # desktop/results/correction.py: F2, the training set
        self.result_view.copy_all.connect(self.copy_description)
        self.keywords_view = KeywordsView()  # desktop/results/keywords_view.py: CLIP keywords, when installed
        self.keywords = KeywordsController(self, self.keywords_view)
        self.keywords.connect()
        after = FlowLayout()
        self.result_buttons = [
            self._button("copy", "Copy", "Copy the description (Ctrl+C)."),
            self._button("save", "Save as text…", "Save the description in a text file (Ctrl+S)."),
            self._button("stop", "Stop", "Stop speaking and describing (Esc)."),
            self._button("repeat", "Repeat", "Say the last result again (Ctrl+R)."),
            self._button("history", "History", "Show past results (Ctrl+H)."),
        ]
        for b in self.result_buttons:
            after.addWidget(b)
        self.hotkey_notice = QLabel()
        self.hotkey_notice.setWordWrap(True)
        self.hotkey_notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hotkey_notice.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hotkey_notice.hide()

        current.insertWidget(0, self.detail_box)
        col.setSpacing(12)
        col.addLayout(notice_row)
        col.addWidget(self.error_label)
        col.addWidget(self.drop_zone, 2)
        col.addLayout(captures)
        col.addLayout(current)
        col.addWidget(self.result_view, 3)
        col.addWidget(self.ask_flow.panel, 2)
        col.addWidget(self.keywords_view)
        col.addLayout(after)
        col.addWidget(self.hotkey_notice)
        scroll = QScrollArea()  # at 300% text on a small screen, scroll rather than clip
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCentralWidget(scroll)

        self.history_panel = HistoryPanel(self.store, self)
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

    def _connect(self) -> None:
        self.result_flow.connect()
        self.ask_flow.connect()
        self.documents.connect()
        self.describer.settled.connect(self.result_speech.settled)
        self.engine.state_changed.connect(self._model_state)
        self.hotkeys.triggered.connect(self._hotkey)
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

    # ----- capture -----
    def capture(self, kind: str, reply: Reply | None = None, detail: str | None = None) -> None:
        """Capture (hiding Lumen first), then describe; `reply` hears how it ended."""
        def captured(source: ImageSource) -> None:
            latency_trace.mark("captured", kind=kind)
            # The capture shortcuts first decide the kind: text is read, a blank screen named.
            self.describer.describe(source, "ocr" if kind == "text" else "auto", reply, detail)

        def failed(message: str) -> None:
            self.show_error(message)
            if reply is not None:
                reply(None, message)

        if reply is None and self.capturer.retarget(kind, captured, failed):
            return  # a shortcut pressed while the last one's grab is pending: this one wins
        self.earcons.play("capture")
        if not self.capturer.capture(kind, captured, failed, replaceable=reply is None) and reply is not None:
            reply(None, "Lumen is already capturing; try again in a moment.")

    def capture_screen(self) -> None:
        self._capture_soon("screen")

    def capture_window(self) -> None:
        self._capture_soon("window")

    def capture_region(self) -> None:
        self._capture_soon("region")

    def capture_text(self) -> None:
        self._capture_soon("text")

    def _capture_soon(self, kind: str) -> None:
        """Buttons and the window's own shortcuts, a burst merged into one capture. While the
        window has focus a global shortcut's keys also reach its menu action: the press the
        global shortcut already took (within HOTKEY_REPEAT_S) is not captured twice."""
        def fire() -> None:
            if time.monotonic() - self._hotkey_at >= HOTKEY_REPEAT_S:
                self.capture(kind)

        self._coalescer.call(fire)

    def _hotkey(self, action: str) -> None:
        latency_trace.mark("hotkey", action=action)
        if action == "stop":
            self.speech_commands.stop_speaking()
        elif action in ("screen", "window", "region", "text"):
            # At once, not after the Coalescer's 150 ms: this is the wait a user hears. A held
            # key's repeats within HOTKEY_REPEAT_S of an accepted press are ignored; another
            # shortcut pressed before the grab retargets it (the last press wins).
            now = time.monotonic()
            if action != self._hotkey_action or now - self._hotkey_at >= HOTKEY_REPEAT_S:
                self._hotkey_at, self._hotkey_action = now, action
                self.capture(action)

    # ----- the current picture -----
    def describe_again(self) -> None:
        if self.describer.again("caption") is None:
            self.show_error("There is no picture yet; open, paste or capture one first.")

    def read_text(self) -> None:
        if self.describer.again("ocr") is None:
            self.show_error("There is no picture yet; open, paste or capture one first.")

    def list_objects(self) -> None:
        if self.describer.again("objects") is None:
            self.show_error("There is no picture yet; open, paste or capture one first.")

    def set_detail(self, detail: str) -> None:
        """Switch the detail level (remembered), and describe the current picture again."""
        if detail == self.describer.detail and self.detail_radios[detail].isChecked():
            return
        self.describer.detail = self.settings.detail = detail
        save_settings(self.settings)
        self.detail_radios[detail].setChecked(True)
        self.actions[detail].setChecked(True)
        name = DETAIL_NAMES[detail].replace("&", "").split(" (")[0]
        self.announce(f"Detail: {name}.")
        if self.describer.current is not None:
            self.describer.again("caption", detail)

    # ----- results (desktop/results/results_controller.py) -----
    def show_error(self, message: str) -> None:
        """One sentence, shown, announced and spoken; never a dialog, never fatal."""
        self.last_error = message
        self.error_label.setText(message)
        self.error_label.show()
        self.set_status(message)
        self.earcons.play("error")
        self.speech.say(message, error=True)
        self.error_shown.emit(message)

    def set_status(self, message: str) -> None:
        self.status_label.setText(message)

    def announce(self, message: str, assertive: bool = False) -> None:
        """Status chatter, for readers that take announcements (results go through `speech.say`)."""
        self.speech.status(message, assertive)
