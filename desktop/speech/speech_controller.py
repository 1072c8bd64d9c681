"""The window's speech commands: Lumen's voice starting in the background, Stop, Repeat and the
voice on/off toggle. It holds the current voice (a silent stand-in until the real one is up).
Where each message goes is desktop/speech/speech_router.py's business."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject

from desktop.notices import Notices
from desktop.results.window_results import Results
from desktop.settings import Settings
from desktop.speech.result_speech import ResultSpeech
from desktop.speech.speech_router import SpeechRouter
from desktop.speech.voice import LumenVoice, create_voice
from desktop.work.window_describer import WindowDescriber
from desktop.work.workers import TaskManager


class SpeechController(QObject):
    def __init__(self, parent: QObject, voice: LumenVoice, settings: Callable[[], Settings],
                 update_settings: Callable[[Settings], None], tasks: TaskManager, notices: Notices,
                 describer: WindowDescriber, results: Results, speech: SpeechRouter,
                 result_speech: ResultSpeech, stop_reading: Callable[[], None]) -> None:
        """`stop_reading`: Esc also ends "Read to the end" of a document (desktop/window/documents_controller.py)."""
        super().__init__(parent)
        self.voice = voice
        self._settings, self._update_settings = settings, update_settings
        self.tasks, self.notices, self.describer, self.results = tasks, notices, describer, results
        self.speech, self.result_speech, self._stop_reading = speech, result_speech, stop_reading
        self.closed = False

    def start_voice(self) -> None:
        """Bring up Lumen's own voice off the GUI thread; the silent stand-in serves meanwhile."""
        voice_id, tasks, notices = self._settings().voice, self.tasks, self.notices

        def report(message: str) -> None:  # on the speech thread
            tasks.run_on_main(lambda: notices.set_status(message))

        tasks.run(lambda: create_voice(voice_id, report), self._voice_ready)

    def _voice_ready(self, voice: LumenVoice) -> None:
        if self.closed:
            voice.close()
            return
        old, self.voice = self.voice, voice
        old.close()

    def close(self) -> None:
        """Quitting: the voice stops, and one still starting is closed when it arrives."""
        self.closed = True
        self.voice.close()

    def stop(self) -> None:
        """Esc: silence, and stop describing (the text so far stays)."""
        self.stop_speaking()
        self._stop_reading()  # "Read to the end" stops too
        if self.describer.busy:
            self.describer.cancel()

    def stop_speaking(self) -> None:
        self.result_speech.stop()
        self.speech.stop()

    def repeat(self) -> None:
        """Ctrl+R: say the last thing said again (a result or an error), by the chosen route."""
        latest = self.results.latest
        text = self.speech.last_text or (latest.speech if latest else "")
        if not text:
            self.speech.status("Nothing to repeat yet.")
            return
        self.speech.say(text, language=self.speech.last_language)

    def toggle(self, on: bool) -> None:
        self._update_settings(replace(self._settings(), speak=on))
        if not on:
            self.voice.stop()
        self.speech.status("Lumen's voice on." if on else "Lumen's voice off; results go to your screen reader.")
