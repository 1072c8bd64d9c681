"""How long a capture waits after hiding Lumen's windows before it grabs the screen.

Every press of a capture shortcut waits this long, so it is as short as the desktop allows:
a compositor (any Wayland desktop, Windows' DWM, macOS, X11 with a compositing manager) fades
windows out over a few hundred milliseconds; plain X11 unmaps them at once, and the wait only
lets the windows underneath repaint the uncovered area.
"""
from __future__ import annotations

import logging

from PySide6.QtGui import QGuiApplication

log = logging.getLogger(__name__)
COMPOSITED_MS = 300
UNCOMPOSITED_X11_MS = 60


def x11_compositing() -> bool:
    """Whether an X11 compositing manager runs: it owns the _NET_WM_CM_S<screen> selection."""
    from Xlib import display

    d = display.Display()
    try:
        return bool(d.get_selection_owner(d.intern_atom(f"_NET_WM_CM_S{d.get_default_screen()}")))
    finally:
        d.close()


def hide_delay_ms() -> int:
    if QGuiApplication.platformName() == "xcb":
        try:
            return COMPOSITED_MS if x11_compositing() else UNCOMPOSITED_X11_MS
        except Exception as exc:  # no python-xlib, or the display refused: assume the worst
            log.info("cannot tell whether a compositor runs: %s", exc)
    return COMPOSITED_MS
