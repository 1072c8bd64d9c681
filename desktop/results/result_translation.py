"""A result in the language the user chose (Settings → Speech): shown under the English and said
instead of it. Text read from a picture stays as read. If translation fails, the English is said
and the error shown."""
from __future__ import annotations

from collections.abc import Callable

from desktop.notices import Notices
from desktop.results.result_view import ResultView
from desktop.results.window_results import Results
from desktop.settings import Settings
from desktop.speech.speech_router import SpeechRouter
from desktop.work.caption_engine import error_sentence
from desktop.work.window_describer import Result
from desktop.work.workers import TaskManager
from services.translation import Translator


def is_translated(result: Result, settings: Settings) -> bool:
    """Whether `result` is said in translation (so not by ResultSpeech)."""
    return said_in(result, settings.translate_to)


def said_in(result: Result, lang: str | None) -> bool:
    """Whether `result` asked for in `lang` is translated: text read from a picture is not."""
    return bool(lang) and result.caption.task != "ocr"


def translate_later(tasks: TaskManager, translator: Translator, text: str, to_code: str,
                    on_done: Callable[[str], None], on_failed: Callable[[BaseException], None]) -> None:
    """The window's one way to translate: on the task pool, the answer back on the GUI thread."""
    tasks.run(lambda: translator.translate(text, to_code), on_done, on_failed)


class ResultTranslation:
    def __init__(self, settings: Callable[[], Settings], translator: Callable[[], Translator],
                 tasks: TaskManager, results: Results, view: ResultView, speech: SpeechRouter, notices: Notices) -> None:
        self._settings, self._translator, self._tasks = settings, translator, tasks
        self._results, self._view, self._speech, self._notices = results, view, speech, notices

    def finished(self, result: Result) -> None:
        """A subscriber of Results.added: translate, then show and say the translation."""
        if not is_translated(result, self._settings()):
            return
        code, translator = self._settings().translate_to, self._translator()

        def failed(exc: BaseException) -> None:
            self._speech.say(result.speech)
            self._notices.show_error(error_sentence(exc))

        translate_later(self._tasks, translator, result.speech, code,
                        lambda text: self._translated(result, text, code), failed)

    def _translated(self, result: Result, text: str, code: str) -> None:
        if self._results.is_latest(result):
            self._view.add_translation(text)
            self._speech.say(text, language=code)
