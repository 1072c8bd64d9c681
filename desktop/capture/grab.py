"""Screen, active-window and region capture at native resolution.

Lumen's own windows are hidden first and shown again afterwards, so it never describes itself.
The screen captured is the one under the pointer (screen, region) or the one holding the active
window. Wayland lets no application read the screen through Qt, so there we try the desktop's
command-line screenshot tools and otherwise say what to do instead.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRect, Qt, QTimer
from PySide6.QtGui import QCursor, QGuiApplication, QImage, QScreen
from PySide6.QtWidgets import QApplication, QWidget

from desktop.capture.capture_delay import hide_delay_ms as platform_hide_delay_ms
from desktop.errors import CaptureError
from desktop.imaging import ImageSource, qimage_to_pil
from desktop.work.workers import GuiBridge, SerialWorker
from models.errors import LumenError

log = logging.getLogger(__name__)
KINDS = ("screen", "window", "region", "text")  # "text" is the screen, read with OCR
HIDE_DELAY_MS = 300  # long enough for compositors to finish fading our window out


def screen_at_pointer() -> QScreen:
    return QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()


def native_rect(screen: QScreen) -> QRect:
    """The screen in native pixels: Qt keeps a screen's origin native and scales its size."""
    g, d = screen.geometry(), screen.devicePixelRatio()
    return QRect(g.x(), g.y(), round(g.width() * d), round(g.height() * d))


def _is_wayland() -> bool:
    return QGuiApplication.platformName().startswith("wayland")


def _grab_with_tool() -> QImage:
    """Wayland: ask the desktop's own screenshot tool for the whole screen."""
    with tempfile.TemporaryDirectory(prefix="lumen-shot-") as tmp:
        out = Path(tmp) / "shot.png"
        for cmd in (["grim", str(out)], ["spectacle", "-b", "-n", "-f", "-o", str(out)],
                    ["gnome-screenshot", "-f", str(out)]):
            if not shutil.which(cmd[0]):
                continue
            try:
                subprocess.run(cmd, timeout=15, capture_output=True, check=False)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if out.is_file():
                image = QImage(str(out))
                if not image.isNull():
                    return image
    raise CaptureError(
        "This Wayland desktop does not let Lumen read the screen; take a screenshot with your "
        "desktop's tool and paste it into Lumen with Ctrl+V."
    )


def grab_screen(screen: QScreen | None = None) -> tuple[QImage, QScreen]:
    """The whole screen, in native pixels."""
    screen = screen or screen_at_pointer()
    if screen is None:
        raise CaptureError("No screen was found to capture; check that a display is connected.")
    if _is_wayland():
        return _grab_with_tool(), screen
    image = screen.grabWindow(0).toImage()
    if image.isNull() or image.width() == 0:
        raise CaptureError(
            "The screen could not be captured; allow Lumen to record the screen in your system's "
            "privacy settings, then try again."
        )
    return image, screen


def _active_window() -> tuple[QRect, int] | None:
    """The active window's frame in native pixels and its id (X11 and Windows), or None."""
    try:
        if sys.platform == "win32":
            import ctypes
            from ctypes import wintypes

            hwnd = ctypes.windll.user32.GetForegroundWindow()
            rect = wintypes.RECT()
            if not hwnd or ctypes.windll.dwmapi.DwmGetWindowAttribute(  # 9: extended frame bounds
                    hwnd, 9, ctypes.byref(rect), ctypes.sizeof(rect)) != 0:
                return None
            return QRect(rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top), int(hwnd)
        if QGuiApplication.platformName() == "xcb":
            return _x11_active_window()
    except Exception as exc:
        log.info("no active window: %s", exc)
    return None


def _x11_active_window() -> tuple[QRect, int] | None:
    from Xlib import X, display

    d = display.Display()
    try:
        root = d.screen().root
        prop = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        wid = prop.value[0] if prop and len(prop.value) else 0
        if wid:
            win = d.create_resource_object("window", wid)
        else:  # no window manager: the focused window's top-level ancestor
            win = d.get_input_focus().focus
            if not hasattr(win, "query_tree") or win == root:
                return None
            while (parent := win.query_tree().parent) and parent != root:
                win = parent
        geom = win.get_geometry()
        pos = win.translate_coords(root, 0, 0)  # the root's origin in the window: minus its position
        extents = win.get_full_property(d.intern_atom("_NET_FRAME_EXTENTS"), X.AnyPropertyType)
        left, right, top, bottom = (list(extents.value) + [0, 0, 0, 0])[:4] if extents else (0, 0, 0, 0)
        rect = QRect(-pos.x - left, -pos.y - top, geom.width + left + right, geom.height + top + bottom)
        return (rect, int(win.id)) if rect.width() > 1 and rect.height() > 1 else None
    finally:
        d.close()


def grab_active_window(own_windows: set[int]) -> QImage:
    """The active window (found after Lumen hid itself), cropped from its screen."""
    if _is_wayland():
        raise CaptureError(
            "Wayland does not tell Lumen which window is active; use Describe region instead."
        )
    found = _active_window()
    if found is None:
        raise CaptureError("Lumen could not find the active window; try Describe screen or Describe region.")
    rect, wid = found
    if wid in own_windows:
        raise CaptureError("Lumen itself was the active window; switch to the window to describe, "
                           "then press the Describe window shortcut.")
    centre = rect.center()
    screen = next((s for s in QGuiApplication.screens() if native_rect(s).contains(centre)),
                  screen_at_pointer())
    image, screen = grab_screen(screen)
    crop = rect.translated(-native_rect(screen).topLeft()).intersected(image.rect())
    if crop.isEmpty():
        raise CaptureError("The active window is off screen; try Describe screen instead.")
    return image.copy(crop)


Done = Callable[[ImageSource], None]
Failed = Callable[[str], None]


class Capturer(QObject):
    """Runs one capture at a time; `capture()` returns False while busy. Qt's own grab runs on
    the GUI thread (it must); a Wayland screenshot tool, which can take seconds, runs on a
    worker of its own (services/worker.py) and the window stays responsive meanwhile."""

    def __init__(self, parent: QObject | None = None, hide_delay_ms: int | None = None) -> None:
        super().__init__(parent)
        self._bridge = GuiBridge()  # made here, on the GUI thread, which it calls back on
        self._tool: SerialWorker | None = None  # started on the first Wayland capture
        # None: as short as this desktop allows (desktop/capture/capture_delay.py)
        self.hide_delay_ms = platform_hide_delay_ms() if hide_delay_ms is None else hide_delay_ms
        self.busy = False
        self._hidden: list[QWidget] = []
        self._was_active = False
        # The request waiting for its grab: (kind, on_done, on_failed, replaceable).
        self._waiting: tuple[str, Done, Failed, bool] | None = None

    def capture(self, kind: str, on_done: Done, on_failed: Failed, replaceable: bool = False) -> bool:
        """Start a capture; False while busy. A `replaceable` request (a global shortcut, whose
        caller waits for no answer) may be retargeted by `retarget` until its grab happens."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if self.busy:
            return False  # a burst of shortcuts: the capture under way answers them all
        self.busy = True
        self._waiting = (kind, on_done, on_failed, replaceable)
        self._hide_own_windows()
        delay = self.hide_delay_ms if self._hidden else 0
        QTimer.singleShot(delay, self._grab_waiting)
        return True

    def retarget(self, kind: str, on_done: Done, on_failed: Failed) -> bool:
        """In a burst of different shortcuts the last press decides what is grabbed: True when
        the capture under way has not grabbed yet and nobody waits on its answer."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if self._waiting is None or not self._waiting[3]:
            return False
        self._waiting = (kind, on_done, on_failed, True)
        return True

    def _grab_waiting(self) -> None:
        assert self._waiting is not None
        kind, on_done, on_failed, _ = self._waiting
        self._waiting = None
        self._grab(kind, on_done, on_failed)

    def _grab(self, kind: str, on_done: Done, on_failed: Failed) -> None:
        if kind != "window" and _is_wayland():
            screen = screen_at_pointer()

            def grabbed(got: QImage | BaseException) -> None:  # back on the GUI thread
                self._grabbed(kind, got if isinstance(got, (QImage, Exception)) else RuntimeError(got),
                              screen, on_done, on_failed)

            if self._tool is None:
                self._tool = self._bridge.worker("lumen-screenshot-tool")
            # Off the GUI thread only QImage is used, which is safe there.
            self._tool.submit(lambda job: _grab_with_tool(), on_done=grabbed, on_failed=grabbed,
                              name="screenshot tool")
            return
        try:
            if kind == "window":
                app = QApplication.instance()
                own = {int(w.internalWinId()) for w in (app.topLevelWidgets() if app else [])} - {0}
                image, screen = grab_active_window(own), None
            else:
                image, screen = grab_screen()
        except Exception as exc:  # noqa: BLE001 - reported to the user below
            self._grabbed(kind, exc, None, on_done, on_failed)
            return
        self._grabbed(kind, image, screen, on_done, on_failed)

    def _grabbed(self, kind: str, got: QImage | Exception, screen: QScreen | None,
                 on_done: Done, on_failed: Failed) -> None:
        try:
            if isinstance(got, Exception):
                raise got
            if kind == "region" and screen is not None:
                self._choose_region(got, screen, on_done, on_failed)
                return
            where = "screen" if kind == "text" else kind
            source = ImageSource(where, qimage_to_pil(got), where)
        except Exception as exc:  # noqa: BLE001 - one sentence for the user
            self._finish()
            on_failed(str(exc) if isinstance(exc, LumenError)
                      else f"The capture failed ({exc}); please try again.")
            return
        self._finish()
        on_done(source)

    def _choose_region(self, image: QImage, screen: QScreen, on_done: Done, on_failed: Failed) -> None:
        from desktop.capture.region_overlay import RegionOverlay

        overlay = RegionOverlay(image, screen)

        def chosen(rect: QRect) -> None:
            self._finish()
            on_done(ImageSource("region", qimage_to_pil(image.copy(rect)), "region"))

        def cancelled() -> None:
            self._finish()
            on_failed("Region capture cancelled.")

        overlay.chosen.connect(chosen)
        overlay.cancelled.connect(cancelled)
        self.overlay = overlay  # kept for tests and so it is not collected while open
        overlay.open()

    def _hide_own_windows(self) -> None:
        app = QApplication.instance()
        self._was_active = QApplication.activeWindow() is not None
        kinds = (Qt.WindowType.Window, Qt.WindowType.Dialog)  # not menus, tooltips or overlays
        self._hidden = [
            w for w in (app.topLevelWidgets() if app else [])
            if w.isVisible() and not w.isMinimized() and w.windowType() in kinds
        ]
        for w in self._hidden:
            w.hide()

    def _finish(self) -> None:
        self.busy = False
        for w in self._hidden:
            # Back where it was; take focus back only if Lumen had it before the capture.
            w.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not self._was_active)
            w.show()
            w.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, False)
            if self._was_active:
                w.raise_()
                w.activateWindow()
        self._hidden = []
