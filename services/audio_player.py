"""Audio playback that stops at once: each utterance plays in its own short-lived process.

Killing a player process silences it within milliseconds on every platform, which is how
Stop meets its 200 ms bound. On Windows the standard library's winsound plays and purges
asynchronously in-process instead.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Protocol, Sequence

# Tried in order on Linux: ALSA's aplay (alsa-utils, routed through PipeWire or PulseAudio on
# desktops), then the PulseAudio and PipeWire players, then SoX.
LINUX_PLAYERS: tuple[tuple[str, ...], ...] = (
    ("aplay", "-q", "{path}"),
    ("paplay", "{path}"),
    ("pw-play", "{path}"),
    ("play", "-q", "{path}"),
)


class Playback(Protocol):
    """One utterance being played."""

    def wait(self, timeout: float | None = None) -> bool:
        """True once playback has ended (normally, by error or by stop)."""

    def stop(self) -> None:
        """Silence now; safe to call from any thread, more than once."""

    @property
    def stopped(self) -> bool: ...

    @property
    def error(self) -> str | None:
        """Why playback failed, as one sentence; None when it played or was stopped."""


class AudioPlayer(Protocol):
    name: str

    def play(self, path: Path) -> Playback: ...


class ProcessPlayback:
    def __init__(self, argv: list[str]) -> None:
        self._argv = argv
        self._stopped = False
        self._error: str | None = None
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self, timeout: float | None = None) -> bool:
        try:
            _, err = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        except ValueError:  # communicate() already finished on another thread
            self._proc.wait()
            err = b""
        if self._proc.returncode != 0 and not self._stopped and self._error is None:
            detail = (err or b"").decode("utf-8", "replace").strip().splitlines()
            self._error = (f"Could not play speech with {Path(self._argv[0]).name}"
                           f" ({detail[-1] if detail else f'exit code {self._proc.returncode}'}):"
                           " check that a sound device is connected.")
        return True

    def stop(self) -> None:
        with self._lock:
            if self._proc.poll() is None:
                self._stopped = True
                self._proc.kill()
        self._proc.wait()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def error(self) -> str | None:
        return self._error


class CommandPlayer:
    """Plays a file with an external command; "{path}" in the template is the file."""

    def __init__(self, command: Sequence[str]) -> None:
        if not command:
            raise ValueError("the player command is empty")
        self.command = tuple(command)
        self.name = Path(self.command[0]).name

    def play(self, path: Path) -> ProcessPlayback:
        argv = [part.replace("{path}", str(path)) for part in self.command]
        if "{path}" not in " ".join(self.command):
            argv.append(str(path))
        return ProcessPlayback(argv)


class WinsoundPlayback:  # pragma: no cover - Windows only
    def __init__(self, path: Path) -> None:
        import winsound

        self._winsound = winsound
        self._stopped = False
        self._ends = time.monotonic() + _duration_s(path)
        winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)

    def wait(self, timeout: float | None = None) -> bool:
        # winsound cannot report the end of an asynchronous sound, so we wait for its length.
        while not self._stopped:
            left = self._ends - time.monotonic()
            if left <= 0:
                return True
            if timeout is not None and timeout <= 0:
                return False
            step = min(left, 0.05) if timeout is None else min(left, 0.05, timeout)
            time.sleep(step)
            if timeout is not None:
                timeout -= step
        return True

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._winsound.PlaySound(None, self._winsound.SND_PURGE)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def error(self) -> str | None:
        return None


class WinsoundPlayer:  # pragma: no cover - Windows only
    name = "winsound"

    def play(self, path: Path) -> WinsoundPlayback:
        return WinsoundPlayback(path)


def _duration_s(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


PLAYER_ENV = "LUMEN_AUDIO_PLAYER"  # a command with {path}, e.g. "aplay -q -D hw:1 {path}"


def find_player() -> tuple[AudioPlayer | None, str | None]:
    """$LUMEN_AUDIO_PLAYER, else the platform's player, else None with one sentence saying what
    to install."""
    chosen = os.environ.get(PLAYER_ENV, "").strip()
    if chosen:
        return CommandPlayer(shlex.split(chosen)), None
    if sys.platform == "win32":
        return WinsoundPlayer(), None
    if sys.platform == "darwin":
        if shutil.which("afplay"):
            return CommandPlayer(("afplay", "{path}")), None
        return None, "Playing speech needs afplay, which ships with macOS."
    for command in LINUX_PLAYERS:
        found = shutil.which(command[0])
        if found:
            return CommandPlayer((found, *command[1:])), None
    return None, ("Playing speech needs an audio player: install alsa-utils "
                  "(for example `sudo apt install alsa-utils`).")
