"""A result heard sentence by sentence: the first sentence is spoken (Lumen's voice) and handed
to the screen reader while the model still writes the rest.

The WindowDescriber reports the settled text (what the answer is sure to start with); each whole
sentence of it goes out at once, the rest when the result is finished. Stop mutes the result
in flight, so a sentence settled after Stop is not spoken. Translated results are said whole,
once translated (translation needs the whole text).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from desktop.results.result_translation import is_translated
from desktop.settings import Settings
from desktop.work.window_describer import MAY_BE_WRONG, Request, Result
from services import latency_trace
from services.sentence_stream import SentenceFeed


class Route(Protocol):
    """Where the sentences go: desktop/speech/speech_router.py's SpeechRouter."""

    def say(self, text: str, *, more: bool = False) -> None: ...


class ResultSpeech:
    def __init__(self, speech: Route, settings: Callable[[], Settings]) -> None:
        self._speech, self._settings = speech, settings
        self._request: Request | None = None
        self._feed = SentenceFeed()
        self._said_any = False
        self._muted = False

    def begin(self, request: Request) -> None:
        # Text read from the picture (read text; the shortcuts' text-first describe) is also
        # spoken line by line as PP-OCR reads it.
        self._request, self._feed = request, SentenceFeed(lines=request.options.task in ("ocr", "auto"))
        self._said_any = self._muted = False

    def stop(self) -> None:
        """The user pressed Stop: nothing more of the result in flight is said."""
        self._muted = True

    def _streams(self, request: Request) -> bool:
        return (request is self._request and not self._muted
                and request.options.task in ("caption", "auto", "ocr")
                and not self._settings().translate_to)

    def settled(self, request: Request, text: str) -> None:
        if not self._streams(request):
            return
        for sentence in self._feed.settled(text):
            self._hand_over(sentence)

    def finished(self, result: Result) -> None:
        """Say what is left of `result` (all of it when nothing was said while decoding); a
        subscriber of Results.added. A translated result is said by ResultTranslation instead."""
        if is_translated(result, self._settings()):
            return
        if result.request is not self._request:
            self.begin(result.request)
        if self._muted:
            return
        if not self._said_any:
            self._hand_over(result.speech)
            return
        rest = self._feed.finish(result.text)
        if result.uncertain:
            rest = f"{rest} {MAY_BE_WRONG}".strip()
        if rest:
            self._hand_over(rest)

    def _hand_over(self, text: str) -> None:
        first = not self._said_any
        self._said_any = True
        latency_trace.mark("screen_reader", first=first, text=text[:80])
        # The user's chosen route: screen reader, Lumen's voice or both (desktop/speech/speech_router.py).
        self._speech.say(text, more=not first)
