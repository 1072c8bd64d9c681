"""Starting the window: `lumen` and `lumen --model DIR` end up in `run_app`.

One Lumen runs per user. A second `lumen` asks the first to show its window and exits; other
processes (`lumen capture`) send it requests through desktop/capture/single_instance.py, answered here.
The window shows before anything slow happens: the model, speech and global shortcuts start
after the event loop is running.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from desktop.errors import NoDisplayError
from desktop.capture.single_instance import Reply, send

log = logging.getLogger(__name__)
# Modules the window must never load: each costs tens to hundreds of MB for the process's life
# (status reports any that are there; tests/test_bench_latency.py checks none is).
HEAVY_MODULES = ("torch", "transformers", "onnx", "scipy", "matplotlib", "pandas", "sklearn", "skimage",
                 "tensorflow")


def handle_request(window: Any, request: dict[str, Any], reply: Reply) -> None:
    """Answer one request from another process (runs on the GUI thread)."""
    from PySide6.QtGui import QPixmapCache

    from desktop.capture.grab import KINDS
    from desktop.window.tray import show_window
    from models.picture_cache import shared_cache
    from models.results import DETAILS

    cmd = request.get("cmd")
    if cmd == "ping":
        reply({"ok": True, "pid": os.getpid()})
    elif cmd == "show":
        show_window(window)
        reply({"ok": True})
    elif cmd == "status":
        last, cache = window.results.latest, shared_cache()
        reply({
            "ok": True, "pid": os.getpid(), "model": window.engine.state, "results": len(window.results),
            "last": result_json(last) if last else None, "error": window.last_error,
            "hotkeys": {"active": window.hotkeys.active, "reason": window.shortcuts.reason()},
            "visible": window.isVisible(), "reader": window.speech.reader,
            "heavy_modules": sorted(m for m in HEAVY_MODULES if m in sys.modules),
            "picture_cache": {"bytes": cache.stats.bytes, "max_bytes": cache.max_bytes,
                              "pictures": cache.pictures, "max_pictures": cache.max_pictures},
            "memory_returns": window.tasks.memory_returns, "settling": window.tasks.settling,
            "pixmap_cache_kb": QPixmapCache.cacheLimit(),
        })
    elif cmd == "capture":
        kind = request.get("kind", "screen")
        if kind not in KINDS:
            reply({"ok": False, "error": f"Unknown capture {kind!r}; use one of {', '.join(KINDS)}."})
            return

        speak, lang = bool(request.get("speak")), str(request.get("lang") or "")

        def done(result: Any, error: str | None) -> None:
            if not result:
                reply({"ok": False, "error": error})
                return
            from desktop.capture.capture_forwarding import forward  # lumen capture --speak/--lang

            forward(window, result, result_json(result), speak, lang, reply)

        detail = request.get("detail")
        window.capture_flow.capture(kind, reply=done, detail=detail if detail in DETAILS else None)
    elif cmd == "screenshot":
        path = Path(str(request.get("path", "")))
        ok = bool(path.name) and window.grab().save(str(path), "PNG")
        reply({"ok": True, "path": str(path)} if ok
              else {"ok": False, "error": "The screenshot could not be saved."})
    elif cmd == "quit":
        reply({"ok": True})
        window.quit()
    else:
        reply({"ok": False, "error": f"Lumen does not know the request {cmd!r}."})


def result_json(result: Any) -> dict[str, Any]:
    """The `lumen describe --json` object, plus "text": what the window showed and said."""
    data = result.caption.to_json(result.request.source.label)
    data["text"] = result.text
    return data


def display_available() -> bool:
    """False on Linux with no X11 or Wayland display, where Qt would abort with a core dump."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True  # other systems always have one; a chosen Qt platform is the user's call
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# Encoded pictures the window keeps: the last four pictures (Florence-2-base at all three
# detail levels: 7.2 MB each) or one-tile SmolVLM conversations, for "describe again" and
# questions. The process-wide default (192 MB) is for `lumen ask` on many tiles; in the tray all
# day it would grow the window by that much, and a small model's pictures (a few KB each) would
# pile up by the thousand within the byte budget alone (the uptime test's slow creep).
WINDOW_CACHE_BYTES = 32 << 20
WINDOW_CACHE_PICTURES = 4
# Qt's pixmap cache (10 MB by default) kept a copy of every thumbnail the window showed, each a
# new picture never shown again: 42 KB a capture until the cache was full, the first 10 MB of a
# day's growth. Icons and the style's pixmaps fit in what is left.
QT_PIXMAP_CACHE_KB = 2048


def build_window(settings: Any, model_dir: Path | None, **kwargs: Any) -> Any:
    """The main window (this module alone knows its class): `run_app`, and the document bench
    (desktop/window/bench_pages.py), which drives the real window offscreen."""
    from PySide6.QtGui import QPixmapCache

    from desktop.window.main_window import MainWindow
    from models.picture_cache import shared_cache

    shared_cache().resize(WINDOW_CACHE_BYTES, WINDOW_CACHE_PICTURES)
    QPixmapCache.setCacheLimit(QT_PIXMAP_CACHE_KB)
    return MainWindow(settings, model_dir, **kwargs)


def run_app(model: str | None) -> int:
    """Open the window (with the model folder `model`, else the installed default)."""
    from models.memory import fewer_heaps, map_large_blocks

    fewer_heaps()  # before Qt and the workers start their threads
    map_large_blocks()
    logging.basicConfig(level=os.environ.get("LUMEN_LOG", "WARNING"), format="lumen: %(message)s")
    try:
        if send({"cmd": "show"}, timeout_s=3.0) is not None:
            print("Lumen is already running; its window has been brought to the front.")
            return 0
    except (TimeoutError, ConnectionError, ValueError):
        pass  # a stuck instance: start anyway, InstanceServer takes over its name if it can
    if not display_available():
        raise NoDisplayError("there is no display to open the window on; start Lumen inside a "
                             "desktop session, or describe files with `lumen describe IMAGE`")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.work.caption_engine import resolve_model_dir
    from desktop.settings import load_settings
    from desktop.capture.single_instance import InstanceServer
    from desktop.window.stall_watch import StallWatch
    from desktop.window.tray import create_tray

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Lumen")
    app.setOrganizationName("Lumen")
    app.setDesktopFileName("lumen")
    app.setQuitOnLastWindowClosed(False)  # the window hides for captures and may live in the tray
    settings = load_settings()
    folder = resolve_model_dir(model)
    window = build_window(settings, folder.resolve() if folder else None)
    window.quit_requested.connect(app.quit)
    StallWatch(app)  # marks the GUI thread's stalls in the latency trace, when tracing
    server = InstanceServer(lambda request, reply: handle_request(window, request, reply))
    if not server.listen():
        log.warning("another Lumen took the instance name; `lumen capture` will talk to that one")
    flow = window.capture_flow
    window.tray = create_tray(window, flow.soon("screen"), flow.soon("region"), window.quit)
    if settings.start_minimised and window.tray is not None:
        window.hide()
    elif settings.start_minimised:
        window.showMinimized()
    else:
        window.show()
    QTimer.singleShot(0, window.start)
    # Ctrl+C in a terminal and SIGTERM at logout end Lumen cleanly. Python only sees signals
    # between bytecodes, so a timer wakes the interpreter now and then while Qt waits.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(300)
    try:
        code = app.exec()
    finally:
        window.shutdown()
        server.close()
    return int(code)
