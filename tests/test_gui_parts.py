"""The desktop app's parts on their own: settings, shortcuts, start at login, history, the
region chooser, the single-instance socket and the background-task helper."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.support.gui_support import RecordingSpeaker, isolate, picture

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeySequence

from models.errors import CancelledError

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)


# ----- settings -----
def test_settings_round_trip_and_bad_values_fall_back(tmp_path):
    from desktop.settings import Settings, load_settings, open_qsettings, save_settings

    assert load_settings() == Settings()
    changed = Settings(detail="more", speak=False, theme="high-contrast", text_scale=275, history=True,
                       hotkeys={**Settings().hotkeys, "screen": "Ctrl+Shift+F9"})
    save_settings(changed)
    assert load_settings() == changed
    store = open_qsettings()
    store.setValue("detail", "enormous")
    store.setValue("text_scale", "huge")
    store.setValue("theme", "neon")
    store.setValue("text_scale", 900)
    store.sync()
    loaded = load_settings()
    assert (loaded.detail, loaded.theme, loaded.text_scale) == ("brief", "system", 300)
    assert (tmp_path / "config" / "lumen.ini").is_file()


# ----- global shortcuts -----
def test_shortcut_text_becomes_pynput_hotkeys():
    from desktop.capture.hotkeys import to_pynput

    assert to_pynput("Ctrl+Alt+D") == "<ctrl>+<alt>+d"
    assert to_pynput("Meta+Shift+F12") == "<cmd>+<shift>+<f12>"
    assert to_pynput("Ctrl+Alt+Space") == "<ctrl>+<alt>+<space>"
    for bad in ("", "D", "Ctrl+Alt", "Ctrl+Alt+Wobble", "Ctrl++"):
        with pytest.raises(ValueError):
            to_pynput(bad)


def test_without_global_shortcuts_the_window_and_settings_offer_lumen_capture(qtbot, tmp_path, monkeypatch):
    from desktop.window.main_window import MainWindow
    from desktop.settings import Settings
    from desktop.setup.settings_dialog import SettingsDialog
    from desktop.speech.voice import LumenVoice

    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    window = MainWindow(Settings(), None, voice=LumenVoice(RecordingSpeaker()), history_root=tmp_path / "h")
    window.show()
    window.start(open_setup=False)
    try:
        assert not window.hotkeys.active and "Wayland" in window.hotkeys.reason
        notice = window.hotkey_notice.text()
        assert window.hotkey_notice.isVisible() and "Wayland" in notice
        assert "lumen capture --screen" in notice and "lumen capture --region" in notice
        dialog = SettingsDialog(window.settings, window.voice, window.translator, window.shortcuts.reason(), window)
        assert "Wayland" in dialog.hotkey_status.text()
        # Backspace clears a shortcut; a new one is kept in Qt's portable text.
        edit = dialog.hotkey_edits["screen"]
        edit.setFocus()
        assert edit.keySequence() == QKeySequence("Ctrl+Alt+Shift+D")  # the default
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
        dialog.hotkey_edits["region"].setKeySequence(QKeySequence("Ctrl+Shift+R"))
        edited = dialog.edited()
        assert edited.hotkeys["screen"] == "" and edited.hotkeys["region"] == "Ctrl+Shift+R"
    finally:
        window.shutdown()
        window.hide()


# ----- start at login -----
def test_start_at_login_writes_and_removes_an_xdg_autostart_entry(tmp_path, monkeypatch):
    from desktop.setup import autostart

    monkeypatch.setattr(autostart.sys, "platform", "linux")
    entry = tmp_path / "xdg-config" / "autostart" / "lumen.desktop"
    assert not autostart.is_enabled()
    autostart.set_enabled(True)
    text = entry.read_text()
    assert autostart.is_enabled() and "[Desktop Entry]" in text and "Type=Application" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert "lumen" in exec_line
    autostart.set_enabled(False)
    assert not entry.exists() and not autostart.is_enabled()


def test_start_at_login_on_macos_is_a_launch_agent(tmp_path, monkeypatch):
    from desktop.setup import autostart

    monkeypatch.setattr(autostart.sys, "platform", "darwin")
    monkeypatch.setattr(autostart.Path, "home", classmethod(lambda cls: tmp_path))
    autostart.set_enabled(True)
    plist = tmp_path / "Library" / "LaunchAgents" / "org.lumen.Lumen.plist"
    assert "<key>RunAtLoad</key><true/>" in plist.read_text()
    autostart.set_enabled(False)
    assert not plist.exists()


# ----- history -----
def test_history_store_keeps_entries_thumbnails_and_clears(tmp_path):
    from desktop.results.history import THUMB_SIZE, HistoryStore

    store = HistoryStore(tmp_path / "history")
    big = picture(tmp_path / "big.png", size=(800, 400))
    first = store.add(source=str(big), task="caption", detail="brief", text="a plate", uncertain=True, image=big)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    store.add(source="clipboard", task="ocr", detail="brief", text="EXIT", uncertain=False, image=broken)
    entries = store.entries()
    assert [e.text for e in entries] == ["EXIT", "a plate"]  # newest first
    thumb = store.thumbnail_path(first)
    from PIL import Image

    assert thumb is not None and max(Image.open(thumb).size) == THUMB_SIZE
    assert store.thumbnail_path(entries[0]) is None  # unreadable picture: entry kept, no thumbnail
    (store.root / "history.jsonl").open("a").write("{damaged\n")
    assert len(store.entries()) == 2
    store.clear()
    assert store.entries() == [] and not store.thumbs.exists()


# ----- region chooser -----
def _overlay(qtbot):
    from desktop.capture.region_overlay import STEP, RegionOverlay

    screen = QGuiApplication.primaryScreen()
    size = screen.geometry().size()
    shot = QImage(size.width() * 2, size.height() * 2, QImage.Format.Format_RGB32)  # a 2x HiDPI grab
    shot.fill(QColor("#336699"))
    overlay = RegionOverlay(shot, screen)  # deletes itself when closed
    overlay.open()
    return overlay, STEP


def test_region_keyboard_moves_resizes_and_confirms_in_native_pixels(qtbot):
    overlay, step = _overlay(qtbot)
    start = QRect(overlay.selection)
    qtbot.keyClick(overlay, Qt.Key.Key_Right)
    qtbot.keyClick(overlay, Qt.Key.Key_Down)
    qtbot.keyClick(overlay, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(overlay, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(overlay, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)  # fine step
    moved = overlay.selection
    assert moved.topLeft() == start.topLeft() + QPoint(step - 2, step)
    assert (moved.width(), moved.height()) == (start.width() + step, start.height() - step)
    assert overlay._announcer.last.startswith("Region ")
    with qtbot.waitSignal(overlay.chosen) as blocker:
        qtbot.keyClick(overlay, Qt.Key.Key_Return)
    rect = blocker.args[0]
    assert rect == QRect(moved.x() * 2, moved.y() * 2, moved.width() * 2, moved.height() * 2)


def test_region_stays_on_screen_and_escape_cancels(qtbot):
    overlay, step = _overlay(qtbot)
    for _ in range(200):
        qtbot.keyClick(overlay, Qt.Key.Key_Left)
    assert overlay.selection.left() == 0
    qtbot.keyClick(overlay, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert overlay.selection.size() == overlay._bounds().size()
    with qtbot.waitSignal(overlay.cancelled):
        qtbot.keyClick(overlay, Qt.Key.Key_Escape)


def test_region_by_mouse_drag(qtbot):
    overlay, _ = _overlay(qtbot)
    qtbot.mousePress(overlay, Qt.MouseButton.LeftButton, pos=QPoint(10, 20))
    qtbot.mouseMove(overlay, QPoint(60, 90))
    with qtbot.waitSignal(overlay.chosen) as blocker:
        qtbot.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=QPoint(110, 220))
    assert blocker.args[0] == QRect(20, 40, 202, 402)


def test_a_closed_region_chooser_lets_go_of_its_screenshot_without_the_garbage_collector(qtbot):
    """The window makes a chooser per press; a reference cycle (its announcer held it) kept each
    one and its 8 MB of screenshot until a rare full collection: 4 MB a round of hammered keys."""
    import gc
    import weakref

    from PySide6.QtCore import QCoreApplication, QEvent

    overlay, _ = _overlay(qtbot)
    overlay._announcer.announce("Region 1 by 1.")
    gone = weakref.ref(overlay)
    with qtbot.waitSignal(overlay.cancelled):
        qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert overlay._shot.isNull() and overlay._pixmap.isNull()  # even while the last one is kept
    gc.disable()
    try:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # WA_DeleteOnClose
        del overlay
        assert gone() is None
    finally:
        gc.enable()


# ----- single instance -----
def _send_from_another_process(request: dict, results: list) -> threading.Thread:
    """Like `lumen capture`: another process (the blocking client holds the GIL while it waits)."""
    code = ("import json, sys; from desktop.capture.single_instance import send; "
            "print(json.dumps(send(json.loads(sys.argv[1]), timeout_s=10)))")

    def run() -> None:
        out = subprocess.run([sys.executable, "-c", code, json.dumps(request)], capture_output=True,
                             text=True, timeout=60, env=os.environ.copy())
        results.append(json.loads(out.stdout) if out.returncode == 0 else out.stderr)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_instance_server_answers_and_a_stale_socket_is_taken_over(qtbot, tmp_path):
    from desktop.capture.single_instance import InstanceServer, send, server_name

    name = server_name()
    assert name == str(tmp_path / "lumen.sock")
    assert send({"cmd": "ping"}) is None  # nobody listening
    Path(name).write_text("")  # left behind by a crashed instance
    seen = []

    def handler(request, reply):
        seen.append(request)
        if request["cmd"] == "slow":  # answered later, from the event loop
            from PySide6.QtCore import QTimer

            QTimer.singleShot(200, lambda: reply({"ok": True, "late": True}))
        elif request["cmd"] == "boom":
            raise RuntimeError("kaput")
        else:
            reply({"ok": True, "echo": request["cmd"]})

    server = InstanceServer(handler)
    assert server.listen()
    second = InstanceServer(handler)
    assert not second.listen()  # the name is taken by a live instance
    for request, answer in (({"cmd": "ping"}, {"ok": True, "echo": "ping"}),
                            ({"cmd": "slow"}, {"ok": True, "late": True})):
        results: list = []
        thread = _send_from_another_process(request, results)
        qtbot.waitUntil(lambda: bool(results), timeout=60_000)
        thread.join()
        assert results == [answer]
    results = []
    _send_from_another_process({"cmd": "boom"}, results)
    qtbot.waitUntil(lambda: bool(results), timeout=60_000)
    assert results[0]["ok"] is False and "kaput" in results[0]["error"]
    server.close()


def test_instance_server_keeps_nothing_of_finished_connections(qtbot, tmp_path):
    """A day of `lumen capture` presses: every connection's socket goes when it closes, also one
    whose client left before the answer (its reply comes later and finds it closed)."""
    import gc
    import socket

    from PySide6.QtCore import QTimer
    from PySide6.QtNetwork import QLocalSocket

    from desktop.capture.single_instance import InstanceServer, server_name

    late: list = []

    def handler(request, reply):
        if request["cmd"] == "slow":
            late.append(reply)
            QTimer.singleShot(300, lambda: reply({"ok": True}))
        else:
            reply({"ok": True})

    server = InstanceServer(handler)
    assert server.listen()
    answers: list = []

    def clients() -> None:
        for i in range(40):
            with socket.socket(socket.AF_UNIX) as sock:  # a plain client, as a script would be
                sock.connect(server_name())
                sock.sendall(b'{"cmd": "slow"}\n' if i % 10 == 0 else b'{"cmd": "ping"}\n')
                if i % 10:
                    answers.append(sock.makefile().readline())  # the slow ones leave unanswered

    thread = threading.Thread(target=clients, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive() and len(late) == 4, timeout=60_000)
    qtbot.wait(500)  # the last late reply has run
    late.clear()

    def sockets() -> int:
        gc.collect()
        return sum(isinstance(o, QLocalSocket) for o in gc.get_objects())

    assert len(answers) == 36 and all('"ok": true' in a for a in answers)
    qtbot.waitUntil(lambda: sockets() == 0, timeout=10_000)  # 40 before the fix
    server.close()


# ----- background tasks -----
def test_serial_worker_runs_in_order_and_a_lane_keeps_only_the_last(qtbot):
    from desktop.work.workers import TaskManager

    tasks = TaskManager()
    worker = tasks.worker("test")
    gate = threading.Event()
    done, failed, threads = [], [], set()

    def job(name, wait=False):
        def run(ctx):
            threads.add(threading.get_ident())
            if wait:
                while not gate.is_set():
                    if ctx.should_stop():
                        raise CancelledError("stopped")
                    time.sleep(0.005)
            return name
        return run

    worker.submit(job("load"), on_done=done.append)  # no lane: never superseded
    first = worker.submit(job("a", wait=True), on_done=done.append, lane="describe")
    worker.submit(job("b"), on_done=done.append, lane="describe")
    last = worker.submit(job("c"), on_done=done.append, lane="describe")
    worker.submit(lambda ctx: 1 / 0, on_failed=lambda e: failed.append(type(e).__name__))
    qtbot.waitUntil(lambda: done == ["load", "c"] and failed == ["ZeroDivisionError"], timeout=5000)
    assert first.cancelled and not last.cancelled and len(threads) == 1
    assert threading.get_ident() not in threads  # never on the GUI thread
    assert tasks.shutdown(timeout=2) is None and not worker.busy


def test_memory_goes_back_once_the_workers_are_idle_a_moment(qtbot, monkeypatch):
    from desktop.work import workers

    returned = []
    monkeypatch.setattr(workers, "release_free_memory", lambda: returned.append(threading.get_ident()))
    monkeypatch.setattr(workers, "TRIM_AFTER_MS", 200)
    tasks = workers.TaskManager()
    a, b = tasks.worker("a"), tasks.worker("b")
    for _ in range(5):  # a burst on two workers: one return, after the last of it
        a.submit(lambda ctx: None)
        b.submit(lambda ctx: None)
    qtbot.waitUntil(lambda: len(returned) == 1, timeout=5000)
    qtbot.wait(400)
    assert returned == [threading.get_ident()]  # on the GUI thread: no thread more
    a.submit(lambda ctx: None)  # the next job: another return
    qtbot.waitUntil(lambda: len(returned) == 2, timeout=5000)
    tasks.shutdown(timeout=2)


def test_coalescer_runs_the_last_call_of_a_burst_once(qtbot):
    from desktop.work.workers import Coalescer

    calls = []
    coalescer = Coalescer(50)
    for i in range(10):
        coalescer.call(lambda i=i: calls.append(i))
    qtbot.wait(150)
    coalescer.call(lambda: calls.append("later"))
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=1000)
    assert calls == [9, "later"]


# ----- tray and earcons -----
def test_tray_menu_offers_describe_show_and_quit(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QSystemTrayIcon

    from desktop.window.main_window import MainWindow
    from desktop.settings import Settings
    from desktop.window.tray import create_tray
    from desktop.speech.voice import LumenVoice

    window = MainWindow(Settings(global_hotkeys=False), None, voice=LumenVoice(RecordingSpeaker()),
                        history_root=tmp_path / "h")
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    assert create_tray(window, window.capture_flow.soon("screen"), window.capture_flow.soon("region"), window.quit) is None
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    tray = create_tray(window, window.capture_flow.soon("screen"), window.capture_flow.soon("region"), window.quit)
    actions = {a.text().replace("&", ""): a for a in tray.contextMenu().actions()}
    assert list(actions) == ["Describe screen", "Describe region…", "Show Lumen", "Quit"]
    calls = []
    monkeypatch.setattr(window.capture_flow, "capture", lambda kind, reply=None, detail=None: calls.append(kind))
    actions["Describe region…"].trigger()
    qtbot.waitUntil(lambda: calls == ["region"], timeout=2000)
    actions["Show Lumen"].trigger()
    assert window.isVisible()
    quits = []
    window.quit_requested.connect(lambda: quits.append(True))
    actions["Quit"].trigger()
    assert quits == [True]
    tray.hide()
    window.hide()


def test_earcons_are_short_sounds_played_only_when_wanted():
    import wave

    from desktop.speech.earcons import EVENTS, Earcons
    from desktop.paths import resource

    for event in EVENTS:
        with wave.open(str(resource("sounds", f"{event}.wav"))) as w:
            assert w.getnchannels() == 1 and 0.05 < w.getnframes() / w.getframerate() < 0.6
    assert Earcons(enabled=False).play("done") is False
    assert Earcons(enabled=True).play("no-such-event") is False
    on = Earcons(enabled=True)  # the speech player's search: aplay here (alsa-utils is in .ci/run)
    assert on.play("done") is (on.unavailable_reason is None)


def test_voice_seam_without_the_speech_service_is_silent_and_says_why(monkeypatch):
    from desktop.speech import voice as voice_module
    from desktop.speech.voice import LumenVoice, create_voice
    from services.errors import SpeechError

    def no_engine(**_kwargs):
        raise SpeechError("No speech engine is installed: install espeak-ng.")

    monkeypatch.setattr(voice_module, "Speaker", no_engine)  # as on a machine without espeak-ng
    voice = create_voice()
    assert not voice.available and "screen reader" in voice.unavailable_reason
    voice.say("nothing happens")
    voice.stop()
    assert voice.voices() == [] and voice.last_text == "nothing happens"
    speaker = RecordingSpeaker()
    wrapped = LumenVoice(speaker)
    wrapped.say("a cat", "en")
    wrapped.repeat()
    wrapped.stop()
    assert wrapped.available and speaker.said == [("a cat", "en"), ("a cat", "en")] and speaker.stops == 1


def test_pool_tasks_report_success_and_failure_on_the_gui_thread(qtbot):
    from desktop.work.workers import TaskManager

    tasks = TaskManager()
    seen = []
    tasks.run(lambda: threading.get_ident(), lambda tid: seen.append(("done", tid != threading.get_ident())))
    tasks.run(lambda: int("x"), on_failed=lambda exc: seen.append(("failed", type(exc).__name__)))
    unhandled = []
    tasks.failed.connect(unhandled.append)
    tasks.run(lambda: [][1])
    qtbot.waitUntil(lambda: len(seen) == 2 and len(unhandled) == 1, timeout=5000)
    assert sorted(seen) == [("done", True), ("failed", "ValueError")]
    assert isinstance(unhandled[0], IndexError)
    tasks.shutdown()


@pytest.mark.parametrize("size", [(3840, 2160), (101, 37)])
def test_a_screen_grab_becomes_the_picture_qt_itself_converts(qapp, size):
    """A grab (RGB32) is decoded by PIL straight from Qt's pixels: a 3840 x 2160 screen held
    108 MB at once through Qt's RGB888 conversion and two copies, 32 MB now. The pixels are
    Qt's own conversion's, odd widths (padded lines) included; other formats go Qt's way."""
    import numpy as np

    from desktop.imaging import qimage_to_pil

    rng = np.random.default_rng(1)
    w, h = size
    rgb = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    grab = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(QImage.Format.Format_RGB32)
    picture = qimage_to_pil(grab)
    theirs = grab.convertToFormat(QImage.Format.Format_RGB888)
    expected = np.frombuffer(theirs.constBits(), np.uint8).reshape(h, theirs.bytesPerLine())[:, :3 * w]
    assert picture.mode == "RGB" and picture.size == size
    assert np.array_equal(np.asarray(picture).reshape(h, 3 * w), expected)
    del grab, theirs  # the picture owns its pixels
    assert np.array_equal(np.asarray(picture), rgb)
    with_alpha = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied)
    assert np.array_equal(np.asarray(qimage_to_pil(with_alpha)), rgb)
