"""Theme and text size: applied to the whole app, remembered, and announced when changed."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop.settings import TEXT_SCALE_MAX, TEXT_SCALE_MIN, TEXT_SCALE_STEP, Settings
from desktop.window.theme import apply_theme

if TYPE_CHECKING:
    from desktop.window.main_window import MainWindow


class Appearance(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window

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
            apply_theme(app, self.w.settings.theme, self.w.settings.text_scale)
            self.w.result_view.apply_font(app.font())
            self.w.drop_zone.apply_font(app.font())

    def _scale_text(self, scale: int) -> None:
        scale = max(TEXT_SCALE_MIN, min(TEXT_SCALE_MAX, scale))
        self.w.update_settings(replace(self.w.settings, text_scale=scale))
        self.apply()
        self.w.speech.status(f"Text size {scale} percent.")

    def larger_text(self) -> None:
        self._scale_text(self.w.settings.text_scale + TEXT_SCALE_STEP)

    def smaller_text(self) -> None:
        self._scale_text(self.w.settings.text_scale - TEXT_SCALE_STEP)

    def reset_text(self) -> None:
        self._scale_text(Settings().text_scale)

    def toggle_contrast(self, on: bool) -> None:
        self.w.update_settings(replace(self.w.settings, theme="high-contrast" if on else "system"))
        self.apply()
        self.w.speech.status("High contrast on." if on else "High contrast off.")
