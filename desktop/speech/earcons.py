"""Optional short sounds for capture started, result ready and error.

QtMultimedia is not part of PySide6-Essentials, so sounds play through the same player as
Lumen's speech (services/audio_player.py: winsound, afplay, aplay/paplay/pw-play), without
waiting for them to end.
"""
from __future__ import annotations

import logging

from desktop.paths import resource
from services.audio_player import find_player

log = logging.getLogger(__name__)
EVENTS = ("capture", "done", "error")


class Earcons:
    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self._player, self.unavailable_reason = find_player()

    def play(self, event: str) -> bool:
        """Start the sound for `event`; True when a player was started."""
        if not self.enabled or event not in EVENTS or self._player is None:
            return False
        path = resource("sounds", f"{event}.wav")
        if not path.is_file():
            return False
        try:
            self._player.play(path)  # returns at once; the sound plays on
            return True
        except OSError as exc:  # a missing sound device is not worth a word to the user
            log.info("earcon %s not played: %s", event, exc)
            return False
