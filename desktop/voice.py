"""The seam between the window and the speech/translation services.

The window only talks to `Voice` and `Translator`. They adapt `services.speech` and
`services.translation` when those import and work, and otherwise stand in silently with a
one-sentence reason the window can show, so the GUI never changes with the services.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
SHOWN = "results are shown and sent to your screen reader."


@dataclass(frozen=True)
class VoiceInfo:
    """One voice the user can pick in Settings."""

    id: str
    name: str
    language: str = ""


class Voice:
    """Speaks results. Every method is safe to call from the GUI thread and never raises."""

    def __init__(self, speaker: Any | None, reason: str = "") -> None:
        # Asking the engine whether it works waits for it to start: done once, here, and
        # create_voice() runs in the background so the window never waits for it.
        self._speaker = speaker
        self._reason = reason
        if speaker is not None:
            try:
                self._reason = str(getattr(speaker, "unavailable_reason", "") or "")
            except Exception as exc:
                self._reason = f"Lumen's speech could not start ({exc})."
        self._available = speaker is not None and not self._reason
        self._last, self._last_language = "", None

    @property
    def available(self) -> bool:
        return self._available

    @property
    def unavailable_reason(self) -> str:
        return self._reason

    @property
    def last_text(self) -> str:
        return self._last

    def say(self, text: str, language: str | None = None) -> None:
        self._last, self._last_language = text, language
        if self.available:
            self._call("say", text, language=language)

    def say_more(self, text: str, language: str | None = None) -> None:
        """The next sentence of what is being said: queued after it, not interrupting."""
        self._last = f"{self._last} {text}".strip() if self._last else text
        self._last_language = language
        if self.available:
            if hasattr(self._speaker, "say_more"):
                self._call("say_more", text, language=language)
            else:
                self._call("say", text, language=language)

    def stop(self) -> None:
        if self._speaker is not None:
            self._call("stop")

    def repeat(self) -> None:
        if not self.available:
            return
        if hasattr(self._speaker, "repeat"):
            self._call("repeat")
        elif self._last:
            self._call("say", self._last, language=self._last_language)

    def voices(self) -> list[VoiceInfo]:
        if not self.available:
            return []
        found = []
        for v in self._call("voices") or []:
            vid = str(getattr(v, "id", v))
            name = str(getattr(v, "name", vid) or vid)
            found.append(VoiceInfo(vid, name, str(getattr(v, "language", "") or "")))
        return found

    def set_voice(self, voice_id: str) -> None:
        if self.available and voice_id and hasattr(self._speaker, "set_voice"):
            self._call("set_voice", voice_id)

    def close(self) -> None:
        if self._speaker is not None:
            self._call("close")
            self._speaker = None
            self._available, self._reason = False, "Speech was closed."

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._speaker, name)(*args, **kwargs)
        except Exception as exc:  # speech must never take the window down
            log.warning("speech %s failed: %s", name, exc)
            return None


def create_voice(voice_id: str = "", on_error: Callable[[str], None] | None = None) -> Voice:
    """Lumen's own speech when the speech service works, otherwise a silent stand-in.

    Blocking (the engine starts here): call it from a background task. `on_error` gets a
    sentence when speaking fails later (no sound device); it runs on the speech thread.
    """
    try:
        from services.speech import Speaker
    except Exception:
        return Voice(None, f"Lumen's own speech is not installed; {SHOWN}")

    def on_event(event: Any) -> None:
        if on_error is not None and getattr(event, "kind", "") == "error":
            on_error(str(getattr(event, "message", "") or "Speaking failed."))

    try:
        speaker = Speaker(on_event=on_event)
    except Exception as exc:
        return Voice(None, f"Lumen's speech could not start ({exc}); {SHOWN}")
    voice = Voice(speaker)
    voice.set_voice(voice_id)
    if voice.available and hasattr(speaker, "warm"):
        speaker.warm()  # voices loaded and one sentence synthesised before the first result
    return voice


class Translator:
    """Offline translation of results; `languages()` is empty when nothing is installed."""

    def __init__(self) -> None:
        try:
            from services import translation
        except Exception:
            translation = None
        self._module = translation

    @property
    def available(self) -> bool:
        return bool(self.languages())

    def languages(self) -> list[tuple[str, str]]:
        """(code, name) pairs the user can translate results into."""
        if self._module is None:
            return []
        try:
            found = self._module.installed_languages()
        except Exception as exc:
            log.warning("listing translation languages failed: %s", exc)
            return []
        pairs = []
        for lang in found:
            if isinstance(lang, (tuple, list)):
                pairs.append((str(lang[0]), str(lang[1] if len(lang) > 1 else lang[0])))
            else:
                code = str(getattr(lang, "code", lang))
                pairs.append((code, str(getattr(lang, "name", code))))
        return pairs

    def translate(self, text: str, to_code: str) -> str:
        """Blocking: call it from a background task. Raises when translation fails."""
        if self._module is None:
            raise RuntimeError("Translation is not installed.")
        return str(self._module.translate(text, to_code))
