"""The main window's commands that are not about getting a picture in: the model, speech,
copy and save, history, appearance, settings, help, start-up and closing.

A mixin of `MainWindow` (desktop/main_window.py), split out to keep each file readable.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QFileDialog, QPlainTextEdit, QVBoxLayout

from desktop import autostart
from desktop.actions import apply_hotkeys, shortcut_list
from desktop.describer import Result
from desktop.engine import error_sentence
from desktop.history import HistoryEntry
from desktop.settings import TEXT_SCALE_MAX, TEXT_SCALE_MIN, TEXT_SCALE_STEP, Settings, save_settings
from desktop.settings_dialog import SettingsDialog, fallback_text
from desktop.theme import apply_theme
from desktop.voice import Voice, create_voice

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

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
            voice_id = self.settings.voice

            def report(message: str) -> None:  # on the speech thread
                self.tasks.run_on_main(lambda: self.set_status(message))

            self.tasks.run(lambda: create_voice(voice_id, report), self._voice_ready)
        self.restart_hotkeys()

    def _voice_ready(self, voice: Voice) -> None:
        if self._closed:
            voice.close()
            return
        old, self.voice = self.voice, voice
        old.close()

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
            self.announce(text, assertive=True)

    def run_model_setup(self: MainWindow) -> None:
        try:
            from desktop.model_setup import run_model_setup
        except ImportError:
            self.show_error("Model setup is not part of this Lumen; install a model with "
                            "`lumen models install`, then restart Lumen.")
            return
        try:
            folder = run_model_setup(self)
        except Exception as exc:
            self.show_error(error_sentence(exc))
            return
        if folder:
            self.load_model(Path(folder))

    # ----- speech -----
    def stop(self: MainWindow) -> None:
        """Esc: silence, and stop describing (the text so far stays)."""
        self.voice.stop()
        if self.describer.busy:
            self.describer.cancel()

    def stop_speaking(self: MainWindow) -> None:
        self.voice.stop()

    def repeat(self: MainWindow) -> None:
        """Ctrl+R: say (and announce) the last thing said again: a result or an error."""
        text = self.voice.last_text or (self.results[-1].speech if self.results else "")
        if not text:
            self.announce("Nothing to repeat yet.")
            return
        self.announce(text)
        if not self.settings.speak:
            return
        if self.voice.last_text:
            self.voice.repeat()  # in the language it was said in
        else:
            self.voice.say(text)

    def toggle_speech(self: MainWindow, on: bool) -> None:
        self._save(replace(self.settings, speak=on))
        if not on:
            self.voice.stop()
        self.announce("Lumen's voice on." if on else "Lumen's voice off; results go to your screen reader.")

    def _translate(self: MainWindow, result: Result) -> None:
        """Show, announce and say the result in the chosen language (English if that fails)."""
        code, translator = self.settings.translate_to, self.translator

        def failed(exc: BaseException) -> None:
            self.announce(result.speech)
            self.speak(result.speech)
            self.show_error(error_sentence(exc))

        self.tasks.run(lambda: translator.translate(result.speech, code),
                       lambda text: self._translated(result, text, code), failed)

    def _translated(self: MainWindow, result: Result, text: str, code: str) -> None:
        if self.results and self.results[-1] is result:
            self.result_view.add_translation(text)
            self.announce(text)
            self.speak(text, code)

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

    # ----- history -----
    def _remember(self: MainWindow, result: Result) -> None:
        r, store = result, self.store
        self.tasks.run(
            lambda: store.add(source=r.request.source.label, task=r.caption.task, detail=r.caption.detail,
                              text=r.text, uncertain=r.uncertain, image=r.request.source.data),
            lambda _entry: self.history_panel.isVisible() and self.history_panel.refresh(),
        )

    def toggle_history(self: MainWindow) -> None:
        panel = self.history_panel
        if panel.isVisible() and panel.list.hasFocus():
            panel.hide()
            self.result_view.text_box.setFocus()
            return
        panel.set_enabled_notice(self.settings.history)
        panel.refresh()
        panel.show()
        panel.focus_list()
        count = panel.list.count()
        self.announce(f"History, {count} result{'s' if count != 1 else ''}." if self.settings.history
                      else "History is off; turn it on in Settings.")

    def _show_history_entry(self: MainWindow, entry: HistoryEntry) -> None:
        self.result_view.show_text(entry.text, entry.uncertain)
        self.announce(entry.text)
        self.speak(entry.text)

    # ----- appearance -----
    def apply_appearance(self: MainWindow) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.settings.theme, self.settings.text_scale)
            self.result_view.apply_font(app.font())
            self.drop_zone.apply_font(app.font())

    def _scale_text(self: MainWindow, scale: int) -> None:
        scale = max(TEXT_SCALE_MIN, min(TEXT_SCALE_MAX, scale))
        self._save(replace(self.settings, text_scale=scale))
        self.apply_appearance()
        self.announce(f"Text size {scale} percent.")

    def larger_text(self: MainWindow) -> None:
        self._scale_text(self.settings.text_scale + TEXT_SCALE_STEP)

    def smaller_text(self: MainWindow) -> None:
        self._scale_text(self.settings.text_scale - TEXT_SCALE_STEP)

    def reset_text(self: MainWindow) -> None:
        self._scale_text(Settings().text_scale)

    def toggle_contrast(self: MainWindow, on: bool) -> None:
        self._save(replace(self.settings, theme="high-contrast" if on else "system"))
        self.apply_appearance()
        self.announce("High contrast on." if on else "High contrast off.")

    # ----- settings -----
    def _save(self: MainWindow, settings: Settings) -> None:
        self.settings = settings.normalised()
        self.describer.detail = self.settings.detail
        self.earcons.enabled = self.settings.earcons
        save_settings(self.settings)

    def show_settings(self: MainWindow) -> None:
        self.hotkeys.stop()  # typing a new shortcut must not trigger the old one
        dialog = SettingsDialog(self.settings, self.voice, self.translator, self._hotkey_reason(), self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        if accepted:
            old = self.settings
            self._save(dialog.edited())
            if self.settings.voice != old.voice:
                self.voice.set_voice(self.settings.voice)
            if self.settings.start_at_login != autostart.is_enabled():
                try:
                    autostart.set_enabled(self.settings.start_at_login)
                except OSError as exc:
                    self.show_error(f"Lumen could not change starting at login ({exc}).")
            apply_hotkeys(self.actions, self.settings)
            self._sync_checks()
            self.apply_appearance()
        self.restart_hotkeys()

    def restart_hotkeys(self: MainWindow) -> None:
        if self.settings.global_hotkeys:
            self.hotkeys.start(self.settings.hotkeys)
        else:
            self.hotkeys.stop()
            self.hotkeys.reason = ""
        reason = self._hotkey_reason()
        text = fallback_text(reason).replace("\n\n", "\n") if reason else ""
        if reason and text != self.hotkey_notice.text():
            # The notice is a label that Tab never reaches: say it once, as the README promises.
            self.announce(f"{reason} Settings lists the lumen capture commands to bind instead.")
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
        from desktop.cli import lumen_version

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
        """Quit Lumen: stop the background work, then ask the app (desktop/app.py) to end."""
        self.shutdown()
        self.quit_requested.emit()

    def shutdown(self: MainWindow) -> None:
        """Stop background work, speech and shortcuts (idempotent)."""
        self._closed = True
        self.hotkeys.stop()
        self.voice.close()
        self.tasks.shutdown(timeout=2.0)
        if self.tray is not None:
            self.tray.hide()
