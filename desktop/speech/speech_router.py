"""Where each thing Lumen says goes: the user's screen reader, Lumen's own voice, or both.

Settings → Speech → "Speak results with": `auto` (the screen reader when one runs, else Lumen's
voice), `screen-reader`, `voice` or `both`. A result or an error is handed to the screen reader
through its own channel where there is one (services/screen_reader.py: speech-dispatcher for
Orca, NVDA's controller client) and otherwise through the window's accessibility announcement
(UI Automation notification for JAWS and Narrator, VoiceOver's announcement on macOS, AT-SPI for
newer Orca). One route per message, so a reader that handles both never says it twice.

Which reader runs is checked at start and every few seconds after, off the GUI thread.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.speech.announce import Announcer
from services.errors import ScreenReaderError
from services.screen_reader import ReaderOutput, detect_screen_reader, open_output

if TYPE_CHECKING:
    from desktop.settings import Settings
    from desktop.work.workers import TaskManager
    from desktop.speech.voice import LumenVoice

log = logging.getLogger(__name__)
MODES = ("auto", "screen-reader", "voice", "both")
MODE_NAMES = {"auto": "My screen reader when one is running, else Lumen's voice",
              "screen-reader": "My screen reader", "voice": "Lumen's voice", "both": "Both"}
POLL_MS = 5000
# LUMEN_SCREEN_READER=none (tests, or a user whose reader Lumen mis-detects) or a reader's name.
OVERRIDE_ENV = "LUMEN_SCREEN_READER"


def find_reader() -> str:
    forced = os.environ.get(OVERRIDE_ENV, "").strip()
    if forced:
        return "" if forced.lower() == "none" else forced
    return detect_screen_reader()


class ReaderLink(QObject):
    """The running screen reader's name and, where it has one, a channel to it.

    The channel lives on one worker thread ("screen-reader"): messages go out in order, and a
    dead speech server never blocks the window."""

    changed = Signal(str)  # the reader's name, "" when none runs
    checked = Signal()  # after every check; `ready` once the first is done
    lost = Signal(str)  # a message the channel failed to deliver

    def __init__(self, tasks: TaskManager, find: Callable[[], str] = find_reader,
                 opener: Callable[[str], ReaderOutput | None] = open_output, poll_ms: int = POLL_MS) -> None:
        super().__init__()
        self._worker = tasks.worker("screen-reader")
        self._find, self._opener = find, opener
        self.reader = ""  # as last seen on the GUI thread
        self.has_channel = False
        # The reader should have a channel but it could not be opened (speech-dispatcher down):
        # each message then tries to open it again, and one that fails is `lost` (Lumen's voice).
        self.channel_broken = False
        # Ready once the first check is done; at once when told there is no screen reader.
        self.ready = find is find_reader and os.environ.get(OVERRIDE_ENV, "").strip().lower() == "none"
        self._output: ReaderOutput | None = None  # touched on the worker only
        self._output_for = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self.refresh()
        self._timer.start()

    def refresh(self) -> None:
        self._worker.submit(lambda ctx: self._detect(), on_done=self._seen, lane="detect", name="detect reader")

    def speak(self, text: str, interrupt: bool = False) -> bool:
        """Queue `text` for the reader's channel; False when there is none (use the announcement)."""
        if not (self.has_channel or self.channel_broken):
            return False
        self._worker.submit(lambda ctx: self._speak(text, interrupt),
                            on_failed=lambda exc: self.lost.emit(text), name="speak to reader")
        return True

    def notify(self, text: str) -> bool:
        """Queue chatter for the reader's channel; False when there is none. Not retried."""
        if not self.has_channel:
            return False
        self._worker.submit(lambda ctx: self._output and self._output.notify(text), name="notify reader",
                            on_failed=lambda exc: log.info("screen reader notice not sent: %s", exc))
        return True

    def cancel(self) -> None:
        if self.has_channel:
            self._worker.submit(lambda ctx: self._output and self._output.cancel(), name="cancel reader")

    def close(self) -> None:
        self._timer.stop()
        self._worker.submit(lambda ctx: self._close_output(), name="close reader")

    # ----- on the worker -----
    def _detect(self) -> tuple[str, bool, bool]:
        """(reader, has a channel, its channel could not be opened)."""
        reader = self._find()
        broken = False
        if reader != self._output_for or (reader and self._output is None):
            self._close_output()
            self._output_for = reader
            if reader:
                try:
                    self._output = self._opener(reader)
                except ScreenReaderError as exc:
                    log.info("no direct channel to %s: %s", reader, exc)
                    broken = True
        return reader, self._output is not None, broken

    def _speak(self, text: str, interrupt: bool) -> None:
        if self._output is None and self._output_for:
            self._output = self._opener(self._output_for)  # the server came back: reconnect now
        if self._output is None:
            raise ScreenReaderError("The screen reader's channel is closed.")
        try:
            self._output.speak(text, interrupt)
        except ScreenReaderError:
            self._close_output()  # the next check opens it again
            raise

    def _close_output(self) -> None:
        if self._output is not None:
            try:
                self._output.close()
            except ScreenReaderError:
                pass
        self._output = None

    # ----- back on the GUI thread -----
    def _seen(self, found: tuple[str, bool]) -> None:
        reader, self.has_channel, self.channel_broken = found
        self.ready = True
        if reader != self.reader:
            self.reader = reader
            self.changed.emit(reader)
        self.checked.emit()


class SpeechRouter(QObject):
    """Says results and errors by the user's chosen route; status chatter is only announced."""

    def __init__(self, announcer: Announcer, link: ReaderLink, voice: Callable[[], LumenVoice],
                 settings: Callable[[], Settings]) -> None:
        super().__init__()
        self.announcer, self.link = announcer, link
        self._voice, self._settings = voice, settings
        self.last_text, self.last_language = "", None  # what Repeat says again
        # Said before the first check finished (a model failing at start): held until it has.
        self._early: list[tuple[str, bool, bool, str | None]] = []
        link.lost.connect(self._lost)
        link.checked.connect(self._say_early)

    @property
    def reader(self) -> str:
        return self.link.reader

    def mode(self) -> str:
        """The route in force: "screen-reader", "voice" or "both" (auto resolved)."""
        chosen = self._settings().speak_with
        if chosen == "auto":
            return "screen-reader" if self.link.reader else "voice"
        return chosen

    def say(self, text: str, *, error: bool = False, more: bool = False, language: str | None = None) -> None:
        """A result (or the next sentence of one, `more`) or an error, heard once by each route."""
        text = text.strip()
        if not text:
            return
        self.last_text = f"{self.last_text} {text}" if more and self.last_text else text
        self.last_language = language
        if not self.link.ready:
            self._early.append((text, error, more, language))
            return
        self._route(text, error, more, language)

    def _say_early(self) -> None:
        early, self._early = self._early, []
        for text, error, more, language in early:
            self._route(text, error, more, language)

    def _route(self, text: str, error: bool, more: bool, language: str | None) -> None:
        mode = self.mode()
        to_reader = mode in ("screen-reader", "both")
        delivered = to_reader and self.link.speak(text, interrupt=error)
        self.announcer.announce(text, assertive=error, send_event=not delivered)
        to_voice = mode in ("voice", "both") or (to_reader and not self.link.reader)
        if to_voice and self._settings().speak:
            voice = self._voice()
            voice.say_more(text, language) if more else voice.say(text, language)

    def status(self, text: str, assertive: bool = False) -> None:
        """Chatter ("Description copied.", "Text size 200 percent."): the screen reader's channel
        at its lowest priority where there is one (Orca 43 drops announcements), else the
        announcement; never Lumen's voice."""
        text = text.strip()
        delivered = bool(text) and self.link.ready and self.mode() in ("screen-reader", "both") \
            and self.link.notify(text)
        self.announcer.announce(text, assertive, send_event=not delivered)

    def stop(self) -> None:
        self._voice().stop()
        self.link.cancel()

    def _lost(self, text: str) -> None:
        """The reader's channel failed: the announcement, and Lumen's voice if it is on."""
        self.announcer.announce(text, send_event=True)
        if self._settings().speak:
            self._voice().say(text)
