"""`--speak`, `--audio-out FILE.wav` and `--lang CODE` for `lumen describe` and `lumen capture`.

A command uses them as a context manager:

    speech_options.add_arguments(parser)              # in register()
    with speech_options.output(args) as speech:       # checks the options before the model loads
        ...
        data = speech.apply(caption, data)            # per result, before printing it
    # leaving the block waits for speech to end and releases the engine (never raises)

`output` raises TranslationError, MissingExtraError or SpeechError for an option that cannot be honoured.
`apply` translates (adding "language" and "text" beside "caption" in the JSON object), starts
speaking in the background and rewrites the WAV file with every text so far; it raises
LumenError for the command to print. With none of the options nothing here imports a speech
engine or argostranslate. No Qt.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from models.errors import require_extra
from models.results import Caption

def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("speech and translation")
    group.add_argument("--speak", action="store_true", help="speak each description aloud")
    group.add_argument("--audio-out", type=Path, metavar="FILE.wav",
                       help="write the spoken description(s) to a WAV file")
    group.add_argument("--lang", metavar="CODE",
                       help="translate into this installed language, e.g. de (offline; install "
                            "with `lumen models install-translation en-de`)")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _speech_timeout(text: str) -> float:
    """Generous upper bound for hearing `text` (about 15 characters a second at 175 wpm)."""
    return 30.0 + len(text) / 5.0


class SpeechOutput:
    """What the options ask for, for one run of a command."""

    def __init__(self, lang: str | None = None, speak: bool = False,
                 audio_out: Path | None = None, *, warn: Callable[[str], None] = _warn) -> None:
        self.lang = lang.strip() if lang else None
        self.speak = speak
        self.audio_out = Path(audio_out) if audio_out else None
        self._warn = warn
        self._texts: list[str] = []
        self._spoken = ""
        self._speaker = None
        if self.lang and self.lang != "en":
            self._check_translation(self.lang)
        if self.audio_out and not self.audio_out.parent.is_dir():
            from services.errors import SpeechError

            folder = self.audio_out.parent
            raise SpeechError(f"Cannot write {self.audio_out}: the folder {folder} does not exist.")
        if speak or self.audio_out:
            from services.speech import Speaker

            # Writing a file needs no audio player, so none is looked for without --speak.
            self._speaker = Speaker(player="auto" if speak else None)
            if speak and self._speaker.unavailable_reason:
                warn(f"{self._speaker.unavailable_reason} The text is still printed.")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SpeechOutput:
        return cls(getattr(args, "lang", None), bool(getattr(args, "speak", False)),
                   getattr(args, "audio_out", None))

    @staticmethod
    def _check_translation(lang: str) -> None:
        """Refuse a --lang that cannot be honoured, cheaply (argostranslate is not imported)."""
        from services.translation import translation_route

        require_extra("translate", "argostranslate", what="--lang")
        translation_route(lang)

    def apply(self, caption: Caption, data: dict[str, Any]) -> dict[str, Any]:
        if not self.lang and self._speaker is None:
            return data  # none of the options: the result as it is
        text, language = caption.caption, "en"
        if self.lang:  # text read from the picture is spoken as read, never translated and back
            from services.translation import translate_result

            text, language = translate_result(caption.caption, caption.task, self.lang)
            data = {**data, "language": language, "text": text}
        if self._speaker is None or not text.strip():
            return data
        if self.speak and self._speaker.available:
            self._wait()  # the previous result finishes before this one starts
            self._speaker.say(text, language)
            self._spoken = text
        if self.audio_out:
            self._texts.append(text)
            self._speaker.save_wav("\n\n".join(self._texts), self.audio_out, language)
        return data

    def _wait(self) -> None:
        if not self._speaker.wait(_speech_timeout(self._spoken)):
            self._speaker.stop()
            self._warn("speech took too long and was stopped.")

    def finish(self) -> None:
        """Wait for speech to end and release the engine (idempotent)."""
        if self._speaker is None:
            return
        try:
            if self.speak and self._speaker.available:
                self._wait()
                if self._speaker.last_error:
                    self._warn(self._speaker.last_error)
        finally:
            self._speaker.close()
            self._speaker = None

    def __enter__(self) -> SpeechOutput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.finish()
        except Exception as exc:  # the results are printed already: never fail here
            self._warn(f"speech did not finish cleanly ({exc}).")


def output(args: argparse.Namespace) -> SpeechOutput:
    """The speech and translation asked for by `args`, checked: a --lang that is not installed
    (TranslationError) or --audio-out into a missing folder (SpeechError) fails here, before
    any work starts. Use it as a context manager; with none of the options it does nothing."""
    return SpeechOutput.from_args(args)
