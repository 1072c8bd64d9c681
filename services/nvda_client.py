"""Windows: speak and braille through NVDA with its controller client DLL (ctypes, no build step).

The DLL comes from NV Access (the "controller client" download beside each NVDA release, LGPL
2.1); Lumen does not ship it. It is looked for in $LUMEN_NVDA_CLIENT, then in resources/nvda/,
then next to Lumen's executable. Without it, NVDA still hears the window's UI Automation
notification (desktop/speech/announce.py). Every function returns 0 or a Windows error code (1717 when
NVDA is not running). Written against nvdaController.h; not run on Windows in our CI.
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import Any

from services.errors import ScreenReaderError

DLL_NAMES = ("nvdaControllerClient.dll", "nvdaControllerClient64.dll", "nvdaControllerClient32.dll")
BRAILLE_MAX = 1000  # a braille message is a flash of the text, not a document: keep it short


def dll_candidates(env: dict[str, str] | None = None) -> list[Path]:
    """Where the DLL may be, in the order tried."""
    env = dict(os.environ) if env is None else env
    found = [Path(env["LUMEN_NVDA_CLIENT"])] if env.get("LUMEN_NVDA_CLIENT") else []
    here = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    for folder in (here / "resources" / "nvda", Path(sys.executable).parent):
        found.extend(folder / name for name in DLL_NAMES)
    return found


def braille_text(text: str) -> str:
    """One line for the braille display: whitespace folded, cut at a word near BRAILLE_MAX."""
    line = " ".join(text.split())
    if len(line) <= BRAILLE_MAX:
        return line
    cut = line.rfind(" ", 0, BRAILLE_MAX - 1)
    return line[: cut if cut > 0 else BRAILLE_MAX - 1] + "…"


class NvdaOutput:
    """NVDA's own speech and braille; `dll` is the loaded library (a stand-in in tests)."""

    name = "NVDA"

    def __init__(self, dll: Any) -> None:
        self._dll = dll
        for fn in ("nvdaController_speakText", "nvdaController_brailleMessage"):
            getattr(dll, fn).argtypes = [ctypes.c_wchar_p]
            getattr(dll, fn).restype = ctypes.c_ulong
        self._check(dll.nvdaController_testIfRunning(), "NVDA is not running")

    @classmethod
    def load(cls) -> NvdaOutput:
        if not sys.platform.startswith("win"):
            raise ScreenReaderError("NVDA's controller client only runs on Windows.")
        for path in dll_candidates():
            if path.is_file():
                try:
                    return cls(ctypes.WinDLL(str(path)))  # type: ignore[attr-defined]
                except OSError as exc:
                    raise ScreenReaderError(f"NVDA's controller client {path.name} would not load ({exc}).") from exc
        raise ScreenReaderError("NVDA's controller client DLL is not installed; Lumen uses UI Automation instead.")

    def speak(self, text: str, interrupt: bool = False) -> None:
        if interrupt:
            self.cancel()
        self._check(self._dll.nvdaController_speakText(text), "NVDA did not speak")
        self._check(self._dll.nvdaController_brailleMessage(braille_text(text)), "NVDA did not braille")

    def notify(self, text: str) -> None:
        self._check(self._dll.nvdaController_speakText(text), "NVDA did not speak")

    def cancel(self) -> None:
        self._check(self._dll.nvdaController_cancelSpeech(), "NVDA did not stop")

    def close(self) -> None:
        self._dll = None

    @staticmethod
    def _check(code: int, what: str) -> None:
        if code != 0:
            raise ScreenReaderError(f"{what} (Windows error {code}).")
