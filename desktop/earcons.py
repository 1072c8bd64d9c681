"""Optional short sounds for capture started, result ready and error.

QtMultimedia is not part of PySide6-Essentials, so sounds play through the platform's own
player without blocking (winsound on Windows, afplay on macOS, aplay/paplay on Linux).
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys

from desktop.paths import resource

log = logging.getLogger(__name__)
EVENTS = ("capture", "done", "error")


class Earcons:
    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self._player = self._find_player()

    @staticmethod
    def _find_player() -> list[str] | None:
        if sys.platform == "darwin":
            return ["afplay"]
        for tool, args in (("paplay", []), ("aplay", ["-q"]), ("pw-play", [])):
            if shutil.which(tool):
                return [tool, *args]
        return None

    def play(self, event: str) -> bool:
        """Start the sound for `event`; True when a player was started."""
        if not self.enabled or event not in EVENTS:
            return False
        path = resource("sounds", f"{event}.wav")
        if not path.is_file():
            return False
        try:
            if sys.platform == "win32":
                import winsound

                winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
                return True
            if self._player is None:
                return False
            subprocess.Popen(
                [*self._player, str(path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            return True
        except Exception as exc:  # a missing sound device is not worth a word to the user
            log.info("earcon %s not played: %s", event, exc)
            return False
