"""The services' own exceptions; like every LumenError, the message is one sentence to show."""
from __future__ import annotations

from models.errors import LumenError
from models.exit_status import ExitStatus


class SpeechError(LumenError):
    """Speech could not be produced or written (no engine, unwritable file, engine failure)."""

    exit_code = ExitStatus.SPEECH


class TranslationError(LumenError):
    """Translation is not installed for the languages asked, or the package is broken."""

    exit_code = ExitStatus.TRANSLATION


class ScreenReaderError(SpeechError):
    """The user's screen reader (or the speech server it uses) could not be reached."""
