"""`lumen capture --speak/--lang` when the window is already running: the options travel with
the request and the window honours them for that one result.

--speak: Lumen's own voice says the result even when the user turned it off. --lang CODE: the
result is translated into CODE (not text read from the picture: that is said as read) and said
in that language, instead of the untranslated words the window just said; the answer carries "language" and "text" as `lumen describe --lang` prints
them. Runs on the GUI thread; translation on the window's task pool.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.results.result_translation import said_in, translate_later
from desktop.work.caption_engine import error_sentence


def forward(window: Any, result: Any, data: dict[str, Any], speak: bool, lang: str,
            reply: Callable[[dict[str, Any]], None]) -> None:
    def say(text: str, language: str | None) -> None:
        window.speech.say(text, language=language)  # the user's routes: screen reader, voice
        if speak and not window.settings.speak:  # --speak: Lumen's own voice even when off
            window.voice.say(text, language)

    if said_in(result, lang):
        def translated(text: str) -> None:
            say(text, lang)
            reply({"ok": True, "result": {**data, "language": lang, "text": text}})

        def failed(exc: BaseException) -> None:
            reply({"ok": True, "result": data, "warning": error_sentence(exc)})

        translate_later(window.tasks, window.translator, result.speech, lang, translated, failed)
        return
    if lang:  # text read: said as read, in the voice of that language
        data = {**data, "language": lang}
    if speak and not window.settings.speak:
        window.voice.say(result.speech, lang or None)
    reply({"ok": True, "result": data})
