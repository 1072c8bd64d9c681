"""Lumen's own voice in the window: services.speech.Speaker, or silence with the reason why.

`LumenVoice` adds only what the window needs on top of the Speaker: a silent stand-in while the
engine starts (or when it cannot), and the sentence to show in Settings. Translation is
services.translation.Translator itself (it raises TranslationError with what to do).
Where results are spoken (this voice, the screen reader, both) is desktop/speech/speech_router.py's call.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from services.errors import SpeechError
from services.speech import SpeechEvent, Speaker

log = logging.getLogger(__name__)
SHOWN = "results are shown and sent to your screen reader."


@dataclass(frozen=True)
class VoiceInfo:
    """One voice the user can pick in Settings."""

    id: str
    name: str
    language: str = ""


class LumenVoice:
    """Speaks with `speaker`, or stays silent (None) with `reason`. Safe on the GUI thread:
    the Speaker queues work for its own thread and reports failures as events."""

    def __init__(self, speaker: Speaker | None, reason: str = "") -> None:
        # Asking the engine whether it works waits for it to start: done once, here, and
        # create_voice() runs in the background so the window never waits for it.
        self._speaker = speaker
        self._reason = (speaker.unavailable_reason or "") if speaker is not None else reason
        self._last = ""

    @property
    def available(self) -> bool:
        return self._speaker is not None and not self._reason

    @property
    def unavailable_reason(self) -> str:
        return self._reason

    @property
    def last_text(self) -> str:
        return self._last

    @property
    def speaking(self) -> bool:
        """Lumen's voice is still saying something (False when it cannot speak)."""
        return self.available and self._speaker.speaking

    def say(self, text: str, language: str | None = None) -> None:
        self._last = text
        if self.available:
            self._speaker.say(text, language=language)

    def say_more(self, text: str, language: str | None = None) -> None:
        """The next sentence of what is being said: queued after it, not interrupting."""
        self._last = f"{self._last} {text}".strip() if self._last else text
        if self.available:
            self._speaker.say_more(text, language=language)

    def stop(self) -> None:
        if self._speaker is not None:
            self._speaker.stop()

    def repeat(self) -> None:
        if self.available:
            self._speaker.repeat()

    def voices(self) -> list[VoiceInfo]:
        if not self.available:
            return []
        return [VoiceInfo(v.id, v.name or v.id, v.languages[0] if v.languages else "")
                for v in self._speaker.voices()]

    def set_voice(self, voice_id: str) -> None:
        if self.available and voice_id:
            self._speaker.set_voice(voice_id)

    def close(self) -> None:
        if self._speaker is not None:
            self._speaker.close()
            self._speaker = None
            self._reason = "Speech was closed."


def create_voice(voice_id: str = "", on_error: Callable[[str], None] | None = None) -> LumenVoice:
    """Lumen's own speech, or a silent stand-in that says why.

    Blocking (the engine starts here): call it from a background task. `on_error` gets a
    sentence when speaking fails later (no sound device); it runs on the speech thread.
    """
    def on_event(event: SpeechEvent) -> None:
        if on_error is not None and event.kind == "error":
            on_error(event.message or "Speaking failed.")

    try:
        speaker = Speaker(on_event=on_event)
    except (SpeechError, OSError) as exc:
        return LumenVoice(None, f"{exc} Meanwhile {SHOWN}")
    voice = LumenVoice(speaker)
    voice.set_voice(voice_id)
    if voice.available:
        speaker.warm()  # voices loaded and one sentence synthesised before the first result
    return voice
