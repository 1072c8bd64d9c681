"""The description model as the window shows it: loading, ready, none or broken (a notice with
Set up model…), and first-run setup (desktop/setup/model_setup.py)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from desktop.notices import Notices
from desktop.speech.speech_router import SpeechRouter
from desktop.work.caption_engine import NO_MODEL, CaptionEngine, error_sentence

BROKEN_MODEL = "The description model could not be loaded:"


class ModelStatus(QObject):
    def __init__(self, parent: QWidget, engine: CaptionEngine, notice: QLabel, setup_button: QPushButton,
                 notices: Notices, speech: SpeechRouter, load: Callable[[Path], None]) -> None:
        """`parent` owns the setup dialog; `load` opens a model folder in the window."""
        super().__init__(parent)
        self.parent_widget, self.engine, self.notice, self.setup_button = parent, engine, notice, setup_button
        self.notices, self.speech, self._load = notices, speech, load
        engine.state_changed.connect(self.show_state)

    def show_state(self, state: str) -> None:
        self.setup_button.setVisible(state in ("none", "failed"))
        if state == "loading":
            self.notice.hide()
            self.notices.set_status("Loading the description model…")
        elif state == "ready":
            self.notice.hide()
            info = self.engine.info
            self.notices.set_status(f"Ready. Model: {info.name}." if info else "Ready.")
            self.speech.status("Lumen is ready.")
        else:
            text = NO_MODEL if state == "none" else f"{BROKEN_MODEL} {self.engine.error}"
            self.notice.setText(text)
            self.notice.show()
            self.notices.set_status(text)
            self.speech.say(text, error=True)  # a model that fails at start is heard, not only shown

    def run_setup(self) -> None:
        from desktop.setup.model_setup import run_model_setup

        try:
            folder = run_model_setup(self.parent_widget)
        except Exception as exc:
            self.notices.show_error(error_sentence(exc))
            return
        if folder:
            self._load(Path(folder))
