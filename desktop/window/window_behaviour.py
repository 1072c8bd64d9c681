"""The main window's commands that are not about getting a picture in and belong to no
controller: start-up, the model, copy and save, settings, help and closing.

A mixin of `MainWindow` (desktop/window/main_window.py), split out to keep each file readable; speech,
results, history and appearance have their own controllers (see main_window.py).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QPlainTextEdit, QVBoxLayout

from desktop.setup import autostart
from desktop.window.actions import apply_hotkeys, shortcut_list
from desktop.work.caption_engine import error_sentence
from desktop.settings import Settings, save_settings

if TYPE_CHECKING:
    from desktop.window.main_window import MainWindow

log = logging.getLogger(__name__)
NO_MODEL = "No description model is installed. Choose Set up model to install one."
BROKEN_MODEL = "The description model could not be loaded:"


class Behaviour:
    # ----- start-up -----
    def start(self: MainWindow, open_setup: bool = True) -> None:
        """After the window is shown: load the model, start speech and global shortcuts."""
        if self.model_dir is None:
            self._model_state("none")
            if open_setup:
                QTimer.singleShot(0, self.run_model_setup)
        else:
            self.load_model(self.model_dir)
        if self._make_voice:
            self.speech_commands.start_voice()
        self.reader_link.start()  # which screen reader runs, now and every few seconds
        self.restart_hotkeys()

    def load_model(self, folder: Path) -> None:
        self.model_dir = folder
        self.engine.load(folder)

    def _model_state(self: MainWindow, state: str) -> None:
        self.setup_button.setVisible(state in ("none", "failed"))
        if state == "loading":
            self.model_notice.hide()
            self.set_status("Loading the description model…")
        elif state == "ready":
            self.model_notice.hide()
            info = self.engine.info
            self.set_status(f"Ready. Model: {info.name}." if info else "Ready.")
            self.announce("Lumen is ready.")
        else:
            text = NO_MODEL if state == "none" else f"{BROKEN_MODEL} {self.engine.error}"
            self.model_notice.setText(text)
            self.model_notice.show()
            self.set_status(text)
            self.speech.say(text, error=True)  # a model that fails at start is heard, not only shown

    def run_model_setup(self: MainWindow) -> None:
        from desktop.setup.model_setup import run_model_setup

        try:
            folder = run_model_setup(self)
        except Exception as exc:
            self.show_error(error_sentence(exc))
            return
        if folder:
            self.load_model(Path(folder))

    # ----- the description -----
    def copy_description(self: MainWindow) -> None:
        text = self.result_view.selected_text() or self.result_view.text()
        if not text:
            self.announce("There is no description to copy.")
            return
        QGuiApplication.clipboard().setText(text)
        self.announce("Description copied.")

    def save_description(self: MainWindow) -> None:
        text = self.result_view.text()
        if not text:
            self.show_error("There is no description to save yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save description", str(Path.home() / "description.txt"),
                                              "Text files (*.txt);;All files (*)")
        if not path:
            return
        try:
            Path(path).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            self.show_error(f"The description could not be saved ({exc.strerror or exc}); choose another folder.")
            return
        self.announce(f"Saved to {Path(path).name}.")
        self.set_status(f"Saved to {path}.")

    # ----- settings -----
    def update_settings(self: MainWindow, settings: Settings) -> None:
        self.settings = settings.normalised()
        self.describer.detail = self.settings.detail
        self.earcons.enabled = self.settings.earcons
        save_settings(self.settings)

    def show_settings(self: MainWindow) -> None:
        self.hotkeys.stop()  # typing a new shortcut must not trigger the old one
        from desktop.setup.settings_dialog import SettingsDialog  # with the model pages: ~1 s of imports

        dialog = SettingsDialog(self.settings, self.voice, self.translator, self._hotkey_reason(), self,
                                reader=self.speech.reader)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        if accepted:
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
        self.restart_hotkeys()

    def restart_hotkeys(self: MainWindow) -> None:
        if self.settings.global_hotkeys:
            self.hotkeys.start(self.settings.hotkeys)
        else:
            self.hotkeys.stop()
            self.hotkeys.reason = ""
        reason = self._hotkey_reason()
        text = ""
        if reason:
            from desktop.setup.settings_dialog import fallback_text

            text = fallback_text(reason).replace("\n\n", "\n")
        if reason and text != self.hotkey_notice.text():
            # The notice is a label that Tab never reaches: say it once, as the README promises.
            self.speech.say(f"{reason} Settings lists the lumen capture commands to bind instead.")
        self.hotkey_notice.setText(text)
        self.hotkey_notice.setVisible(bool(reason))

    def _hotkey_reason(self: MainWindow) -> str:
        if not self.settings.global_hotkeys:
            return ""
        return "" if self.hotkeys.active else self.hotkeys.reason

    # ----- help -----
    def _text_dialog(self: MainWindow, title: str, text: str) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        box = QPlainTextEdit(text)
        box.setReadOnly(True)
        box.setAccessibleName(title)
        box.setTabChangesFocus(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        layout = QVBoxLayout(dialog)
        layout.addWidget(box)
        layout.addWidget(buttons)
        dialog.resize(self.width() * 2 // 3, self.height() * 2 // 3)
        box.setFocus()
        dialog.exec()

    def show_shortcuts(self: MainWindow) -> None:
        self._text_dialog("Keyboard shortcuts", shortcut_list(self.actions))

    def show_about(self: MainWindow) -> None:
        from models.version import lumen_version

        info = self.engine.info
        model = f"Model: {info.name} ({info.provider})." if info else "No model loaded."
        self._text_dialog("About Lumen", f"Lumen {lumen_version()}: describes pictures aloud, offline.\n{model}")

    # ----- closing -----
    def closeEvent(self: MainWindow, event: QCloseEvent) -> None:
        if self.settings.close_to_tray and self.tray is not None:
            event.ignore()
            self.hide()
            self.tray.showMessage("Lumen", "Lumen keeps running in the tray.")
            return
        event.accept()
        self.quit()

    def quit(self: MainWindow) -> None:
        """Quit Lumen: stop the background work, then ask the app (desktop/window/launch.py) to end."""
        self.shutdown()
        self.quit_requested.emit()

    def shutdown(self: MainWindow) -> None:
        """Stop background work, speech and shortcuts (idempotent)."""
        self.closed = True
        self.hotkeys.stop()
        self.voice.close()
        self.reader_link.close()
        self.tasks.shutdown(timeout=2.0)
        if self.tray is not None:
            self.tray.hide()
