"""Global shortcuts that work while another program has focus (pynput: X11, Windows, macOS).

pynput raises at import time without a display and cannot see keys on Wayland, so it is
imported only here, lazily, and every failure becomes `reason`: one sentence the window and
Settings show, next to the `lumen capture` commands to bind in the desktop's own settings.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

_NAMED = {
    "ctrl": "<ctrl>", "control": "<ctrl>", "alt": "<alt>", "shift": "<shift>",
    "meta": "<cmd>", "win": "<cmd>", "super": "<cmd>", "cmd": "<cmd>",
    "space": "<space>", "tab": "<tab>", "return": "<enter>", "enter": "<enter>",
    "esc": "<esc>", "escape": "<esc>", "backspace": "<backspace>", "del": "<delete>",
    "delete": "<delete>", "ins": "<insert>", "insert": "<insert>", "home": "<home>",
    "end": "<end>", "pgup": "<page_up>", "pgdown": "<page_down>", "left": "<left>",
    "right": "<right>", "up": "<up>", "down": "<down>", "print": "<print_screen>",
    "pause": "<pause>",
}


def to_pynput(keys: str) -> str:
    """Qt's portable key text ("Ctrl+Alt+D") as a pynput hotkey ("<ctrl>+<alt>+d")."""
    parts = [p.strip() for p in keys.replace(" ", "").split("+")]
    if not keys.strip() or any(not p for p in parts):
        raise ValueError(f"not a shortcut: {keys!r}")
    out = []
    for part in parts:
        low = part.lower()
        if low in _NAMED:
            out.append(_NAMED[low])
        elif len(low) > 1 and low[0] == "f" and low[1:].isdigit() and 1 <= int(low[1:]) <= 24:
            out.append(f"<{low}>")
        elif len(part) == 1:
            out.append(low)
        else:
            raise ValueError(f"Lumen cannot use {part!r} in a global shortcut")
    if len(out) < 2 or all(o in ("<ctrl>", "<alt>", "<shift>", "<cmd>") for o in out):
        raise ValueError(f"{keys!r} needs at least one modifier and one key")
    return "+".join(out)


def unavailable_reason() -> str:
    """Why global shortcuts cannot work here, or "" when they may."""
    if sys.platform.startswith("linux"):
        if os.environ.get("XDG_SESSION_TYPE") == "wayland" or os.environ.get("WAYLAND_DISPLAY"):
            return "Wayland does not let programs watch shortcuts pressed in other windows"
        if not os.environ.get("DISPLAY"):
            return "there is no X display to watch for shortcuts"
    return ""


def _wait_ready(listener: Any, timeout: float) -> None:
    """pynput's own wait() never returns when the listener thread dies while starting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and listener.is_alive() and not getattr(listener, "_ready", True):
        time.sleep(0.01)


class GlobalHotkeys(QObject):
    triggered = Signal(str)  # the action name, e.g. "screen"; emitted on the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._listener: Any = None
        self.active = False
        self.reason = "Global shortcuts are off."

    def start(self, bindings: dict[str, str]) -> bool:
        """(Re)register `bindings` (action -> Qt key text); False with `reason` when it fails."""
        self.stop()
        why = unavailable_reason()
        if why:
            return self._fail(f"Global shortcuts are not available: {why}.")
        mapping: dict[str, Any] = {}
        for action, keys in bindings.items():
            if not keys:
                continue
            try:
                mapping[to_pynput(keys)] = lambda action=action: self.triggered.emit(action)
            except ValueError as exc:
                return self._fail(f"Global shortcuts are not available: {exc}.")
        if not mapping:
            return self._fail("Global shortcuts are off.")
        try:
            from pynput import keyboard

            listener = keyboard.GlobalHotKeys(mapping)
            listener.daemon = True
            listener.start()
            _wait_ready(listener, timeout=1.5)
        except BaseException as exc:  # noqa: BLE001 - Xlib errors, missing backends, permissions
            log.info("global shortcuts failed: %r", exc)
            return self._fail(f"Global shortcuts could not be registered ({exc or type(exc).__name__}).")
        if not listener.is_alive():
            return self._fail("Global shortcuts could not be registered.")
        if getattr(listener, "IS_TRUSTED", True) is False:  # macOS without the permission
            listener.stop()
            return self._fail(
                "Global shortcuts need permission: allow Lumen under Privacy & Security, "
                "Accessibility (or Input Monitoring)."
            )
        self._listener = listener
        self.active, self.reason = True, ""
        return True

    def _fail(self, reason: str) -> bool:
        self.active, self.reason = False, reason
        return False

    def stop(self) -> None:
        if self._listener is not None:
            try:
                self._listener.stop()
            except Exception:
                pass
            self._listener = None
        self.active = False


def fallback_commands() -> list[tuple[str, str]]:
    """(command, what it does) to bind in the desktop's own keyboard settings."""
    return [
        ("lumen capture --screen", "describe the whole screen"),
        ("lumen capture --window", "describe the active window"),
        ("lumen capture --region", "describe a region"),
        ("lumen capture --text", "read the text on screen"),
    ]
