"""Theme and text size: applied to the whole app, remembered, and announced when changed."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop.settings import TEXT_SCALE_MAX, TEXT_SCALE_MIN, TEXT_SCALE_STEP, Settings
from desktop.speech.speech_router import SpeechRouter
from desktop.window.theme import apply_theme


class Appearance(QObject):
    def __init__(self, parent: QObject, settings: Callable[[], Settings],
                 update_settings: Callable[[Settings], None], speech: SpeechRouter,
                 apply_font: Callable[[QFont], None]) -> None:
        """`apply_font` gives the app's new font to the widgets that size their own text."""
        super().__init__(parent)
        self._settings, self._update_settings = settings, update_settings
        self.speech, self._apply_font = speech, apply_font

    def follow_system(self) -> None:
        """Re-apply when the system switches light/dark or contrast (Qt 6.10+ reports the latter)."""
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda *_: self.apply())
        accessibility = hints.accessibility() if hasattr(hints, "accessibility") else None  # Qt 6.10+
        if accessibility is not None:
            accessibility.contrastPreferenceChanged.connect(lambda *_: self.apply())

    def apply(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            settings = self._settings()
            apply_theme(app, settings.theme, settings.text_scale)
            self._apply_font(app.font())

    def _scale_text(self, scale: int) -> None:
        scale = max(TEXT_SCALE_MIN, min(TEXT_SCALE_MAX, scale))
        self._update_settings(replace(self._settings(), text_scale=scale))
        self.apply()
        self.speech.status(f"Text size {scale} percent.")

    def larger_text(self) -> None:
        self._scale_text(self._settings().text_scale + TEXT_SCALE_STEP)

    def smaller_text(self) -> None:
        self._scale_text(self._settings().text_scale - TEXT_SCALE_STEP)

    def reset_text(self) -> None:
        self._scale_text(Settings().text_scale)

    def toggle_contrast(self, on: bool) -> None:
        self._update_settings(replace(self._settings(), theme="high-contrast" if on else "system"))
        self.apply()
        self.speech.status("High contrast on." if on else "High contrast off.")
