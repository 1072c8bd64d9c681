"""The global shortcuts in the window: started and stopped with the settings, a notice (said once)
when they cannot work here, and each press turned into a capture or Stop."""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from desktop.capture.hotkeys import GlobalHotkeys
from desktop.settings import Settings
from desktop.speech.speech_router import SpeechRouter
from services import latency_trace

HOTKEY_REPEAT_S = 0.5
CAPTURES = ("screen", "window", "region", "text")


class HotkeyController(QObject):
    def __init__(self, hotkeys: GlobalHotkeys, notice: QLabel, settings: Callable[[], Settings],
                 speech: SpeechRouter, capture: Callable[[str], None], stop_speaking: Callable[[], None]) -> None:
        super().__init__(hotkeys)
        self.hotkeys, self.notice, self._settings, self.speech = hotkeys, notice, settings, speech
        self._capture, self._stop_speaking = capture, stop_speaking
        self._at = -HOTKEY_REPEAT_S
        self._action = ""
        hotkeys.triggered.connect(self.pressed)

    def pressed(self, action: str) -> None:
        latency_trace.mark("hotkey", action=action)
        if action == "stop":
            self._stop_speaking()
        elif action in CAPTURES:
            # At once, not after the window's 150 ms coalescing: this is the wait a user hears. A
            # held key's repeats within HOTKEY_REPEAT_S of an accepted press are ignored; another
            # shortcut pressed before the grab retargets it (the last press wins).
            now = time.monotonic()
            if action != self._action or now - self._at >= HOTKEY_REPEAT_S:
                self._at, self._action = now, action
                self._capture(action)

    def pressed_just_now(self) -> bool:
        """While the window has focus a global shortcut's keys also reach its menu action: the
        press a global shortcut took within HOTKEY_REPEAT_S is not captured twice."""
        return time.monotonic() - self._at < HOTKEY_REPEAT_S

    def restart(self) -> None:
        settings = self._settings()
        if settings.global_hotkeys:
            self.hotkeys.start(settings.hotkeys)
        else:
            self.hotkeys.stop()
            self.hotkeys.reason = ""
        reason = self.reason()
        text = ""
        if reason:
            from desktop.setup.settings_dialog import fallback_text

            text = fallback_text(reason).replace("\n\n", "\n")
        if reason and text != self.notice.text():
            # The notice is a label that Tab never reaches: say it once, as the README promises.
            self.speech.say(f"{reason} Settings lists the lumen capture commands to bind instead.")
        self.notice.setText(text)
        self.notice.setVisible(bool(reason))

    def reason(self) -> str:
        """Why the global shortcuts do not work here ("" when they do, or are turned off)."""
        if not self._settings().global_hotkeys:
            return ""
        return "" if self.hotkeys.active else self.hotkeys.reason
