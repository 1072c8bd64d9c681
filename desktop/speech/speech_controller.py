"""The window's speech commands: Lumen's voice starting in the background, Stop, Repeat and the
voice on/off toggle. Where each message goes is desktop/speech/speech_router.py's business."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from desktop.speech.voice import Voice, create_voice

if TYPE_CHECKING:
    from desktop.window.main_window import MainWindow


class SpeechController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window

    def start_voice(self) -> None:
        """Bring up Lumen's own voice off the GUI thread; the silent stand-in serves meanwhile."""
        voice_id, w = self.w.settings.voice, self.w

        def report(message: str) -> None:  # on the speech thread
            w.tasks.run_on_main(lambda: w.set_status(message))

        w.tasks.run(lambda: create_voice(voice_id, report), self._voice_ready)

    def _voice_ready(self, voice: Voice) -> None:
        if self.w.closed:
            voice.close()
            return
        old, self.w.voice = self.w.voice, voice
        old.close()

    def stop(self) -> None:
        """Esc: silence, and stop describing (the text so far stays)."""
        self.stop_speaking()
        self.w.documents.stop_reading()  # "Read to the end" stops too
        if self.w.describer.busy:
            self.w.describer.cancel()

    def stop_speaking(self) -> None:
        self.w.result_speech.stop()
        self.w.speech.stop()

    def repeat(self) -> None:
        """Ctrl+R: say the last thing said again (a result or an error), by the chosen route."""
        w = self.w
        text = w.speech.last_text or (w.results[-1].speech if w.results else "")
        if not text:
            w.speech.status("Nothing to repeat yet.")
            return
        w.speech.say(text, language=w.speech.last_language)

    def toggle(self, on: bool) -> None:
        w = self.w
        w.update_settings(replace(w.settings, speak=on))
        if not on:
            w.voice.stop()
        w.speech.status("Lumen's voice on." if on else "Lumen's voice off; results go to your screen reader.")
