"""Which screen reader runs, and a way to hand it a message to speak (and braille).

- Linux: speech-dispatcher, the speech server Orca uses (services/ssip.py). Orca 43 drops
  `object:announcement`, so this is how a result from a global shortcut reaches an Orca user.
- Windows: NVDA's controller client DLL (services/nvda_client.py) speaks and brailles. JAWS and
  Narrator get the window's UI Automation notification instead (Qt's announcement event, in
  desktop/), which is also the route when the DLL is absent.
- macOS: VoiceOver gets the window's announcement (Qt maps it to an NSAccessibility
  announcement request); there is no separate client here.

No Qt here: desktop/speech/speech_router.py decides what goes where.
"""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

# Process name (lower case, without .exe) -> the screen reader's name, per platform.
READERS: dict[str, dict[str, str]] = {
    "linux": {"orca": "Orca", "fenrir": "Fenrir"},
    "win32": {"nvda": "NVDA", "jfw": "JAWS", "narrator": "Narrator", "zt": "ZoomText"},
    "darwin": {"voiceover": "VoiceOver"},
}


def _platform_key(platform: str) -> str:
    return "linux" if platform.startswith("linux") else platform


def reader_from_processes(names: Iterable[str], platform: str = sys.platform) -> str:
    """The first known screen reader among process `names`, or "" (pure: unit-tested per system)."""
    known = READERS.get(_platform_key(platform), {})
    seen = {Path(n.strip().strip('"')).name.lower().removesuffix(".exe") for n in names if n.strip()}
    for process, reader in known.items():
        if process in seen:
            return reader
    return ""


def tasklist_names(csv_text: str) -> list[str]:
    """Image names from `tasklist /fo csv /nh` output ("nvda.exe","1234",...)."""
    return [line.split(",", 1)[0].strip('"') for line in csv_text.splitlines() if line.strip()]


def running_processes(platform: str = sys.platform) -> list[str]:
    """Names of the running processes (fast: /proc on Linux, one command elsewhere)."""
    if _platform_key(platform) == "linux":
        names = []
        for comm in Path("/proc").glob("[0-9]*/comm"):
            try:
                names.append(comm.read_text().strip())
            except OSError:
                continue  # the process ended while we looked
        return names
    try:
        if platform == "win32":
            out = subprocess.run(["tasklist", "/fo", "csv", "/nh"], capture_output=True, text=True, timeout=5,
                                 creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
            return tasklist_names(out.stdout)
        out = subprocess.run(["ps", "-axco", "comm="], capture_output=True, text=True, timeout=5)
        return out.stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return []


def detect_screen_reader(platform: str = sys.platform) -> str:
    """The running screen reader's name ("Orca", "NVDA", ...), or "" when none is found."""
    return reader_from_processes(running_processes(platform), platform)


class ReaderOutput(Protocol):
    """Speaks through the user's screen reader; methods raise ScreenReaderError when it is gone."""

    name: str

    def speak(self, text: str, interrupt: bool = False) -> None: ...

    def notify(self, text: str) -> None:
        """Chatter ("Description copied."): may be dropped while something else is spoken."""

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class SpeechDispatcherOutput:
    """Linux: messages at speech-dispatcher's "message" priority, as Orca speaks its own."""

    name = "speech-dispatcher"

    def __init__(self, address: str = "") -> None:
        from services.ssip import SSIPClient

        self._client = SSIPClient(address)
        self._client.connect()  # fail now, so the caller falls back to another route

    def speak(self, text: str, interrupt: bool = False) -> None:
        if interrupt:
            self._client.cancel()
        self._client.speak(text, "message")

    def notify(self, text: str) -> None:
        self._client.speak(text, "notification")  # dropped, as Orca users expect, if speech is busy

    def cancel(self) -> None:
        self._client.cancel()

    def close(self) -> None:
        self._client.close()


def open_output(reader: str, platform: str = sys.platform) -> ReaderOutput | None:
    """A direct channel to `reader`, or None where the window's announcement is the route.

    Blocking (connects): call it off the GUI thread. Raises ScreenReaderError when the channel
    that should exist cannot be opened."""
    key = _platform_key(platform)
    if key == "linux" and reader:
        return SpeechDispatcherOutput()
    if key == "win32" and reader == "NVDA":
        from services.nvda_client import NvdaOutput

        return NvdaOutput.load()
    return None
