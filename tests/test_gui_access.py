"""Accessibility of the window, its dialogs and panels: names, keyboard, contrast, text size."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.support.gui_support import RecordingSpeaker, isolate

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox, QKeySequenceEdit,
    QLabel, QLineEdit, QPlainTextEdit, QTabBar, QTextEdit, QWidget,
)

from desktop.settings import Settings
from desktop.window.theme import SCHEMES, contrast_ratio

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
INTERACTIVE = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QAbstractItemView, QPlainTextEdit,
               QTextEdit, QKeySequenceEdit, QTabBar)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from desktop.window.main_window import MainWindow
    from desktop.speech.voice import LumenVoice

    isolate(monkeypatch, tmp_path)
    w = MainWindow(Settings(global_hotkeys=False), None, voice=LumenVoice(RecordingSpeaker()),
                   history_root=tmp_path / "history")
    w.show()
    w.start(open_setup=False)
    yield w
    w.shutdown()
    w.hide()
    w.deleteLater()


def unnamed_controls(root: QWidget) -> list[str]:
    """Every control a user can reach (focusable or interactive) that has no accessible name."""
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        focusable = widget.focusPolicy() != Qt.FocusPolicy.NoFocus
        # A label is a control once it takes focus (Orca lists it, empty, as an unnamed label).
        if not (focusable or isinstance(widget, INTERACTIVE)) or (isinstance(widget, QLabel) and not focusable):
            continue
        if widget.window() is not root.window():
            continue
        iface = QAccessible.queryAccessibleInterface(widget)
        name = iface.text(QAccessible.Text.Name) if iface is not None else ""
        if not name.strip():
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} in {type(widget.parent()).__name__}")
    return missing


def test_every_control_in_the_window_has_an_accessible_name(window):
    window.history_panel.show()
    assert unnamed_controls(window) == []


def test_every_control_in_settings_has_a_name_and_the_fallback_commands_show(window, monkeypatch):
    from desktop.setup.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.settings, window.voice, window.translator,
                            "Global shortcuts are not available: Wayland does not allow it.", window)
    dialog.show()
    assert unnamed_controls(dialog) == []
    texts = [w.toPlainText() for w in dialog.findChildren(QPlainTextEdit)]
    assert any("lumen capture --screen" in t and "Wayland" in t for t in texts)
    dialog.close()


def test_region_overlay_is_named_and_described(qtbot):
    from PySide6.QtGui import QGuiApplication, QImage

    from desktop.capture.region_overlay import RegionOverlay

    screen = QGuiApplication.primaryScreen()
    overlay = RegionOverlay(QImage(screen.geometry().size(), QImage.Format.Format_RGB32), screen)
    assert overlay.accessibleName() and "Enter" in overlay.accessibleDescription()
    overlay.deleteLater()


def test_every_menu_action_has_a_mnemonic_and_the_main_ones_a_shortcut(window):
    menus = [a.menu() for a in window.menuBar().actions()]
    assert all("&" in a.text() for a in window.menuBar().actions())
    seen = {}
    for menu in menus:
        letters = []
        for action in menu.actions():
            if action.isSeparator():
                continue
            text = action.text()
            assert "&" in text, text
            letters.append(text[text.index("&") + 1].lower())
            seen[action.objectName()] = action
        assert len(letters) == len(set(letters)), f"{menu.title()} repeats an Alt letter: {letters}"
    bar = [a.text()[a.text().index("&") + 1].lower() for a in window.menuBar().actions()]
    assert len(bar) == len(set(bar))
    for key, keys in {"open": "Ctrl+O", "paste": "Ctrl+V", "copy": "Ctrl+C", "save": "Ctrl+S",
                      "history": "Ctrl+H", "screen": "Ctrl+Alt+Shift+D", "window": "Ctrl+Alt+Shift+W",
                      "region": "Ctrl+Alt+Shift+A", "text": "Ctrl+Alt+Shift+T", "stop_speaking": "Ctrl+Alt+Shift+X",
                      "brief": "1", "detailed": "2", "more": "3", "repeat": "Ctrl+R", "stop": "Esc",
                      "again": "F5", "keys": "F1"}.items():
        assert seen[f"action_{key}"].shortcut() == QKeySequence(keys), key
    # The F1 list names every command with its keys.
    from desktop.window.actions import shortcut_list

    listing = shortcut_list(window.actions)
    assert "Describe the whole screen: Ctrl+Alt+Shift+D" in listing and "Brief: 1" in listing


def test_tab_order_follows_the_layout(window, qtbot):
    window.activateWindow()
    window.drop_zone.setFocus()
    order = [window.drop_zone, *window.capture_buttons, window.detail_radios["brief"],
             *window.current_buttons, window.result_view.text_box, *window.result_buttons]
    seen = [QApplication.focusWidget()]
    for _ in order[1:]:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == order


def test_every_scheme_reaches_7_to_1():
    for scheme in SCHEMES.values():
        for what, (fg, bg) in scheme.pairs().items():
            assert contrast_ratio(fg, bg) >= 7.0, f"{scheme.name}: {what} is {contrast_ratio(fg, bg):.2f}:1"
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)


def test_system_high_contrast_is_followed(monkeypatch):
    from desktop.window import theme

    monkeypatch.setattr(theme, "system_wants_high_contrast", lambda: True)
    assert theme.resolve_scheme("system").name.startswith("high-contrast")
    monkeypatch.setattr(theme, "system_wants_high_contrast", lambda: False)
    assert not theme.resolve_scheme("system").name.startswith("high-contrast")
    assert theme.resolve_scheme("high-contrast").name == "high-contrast"


@pytest.mark.parametrize("scale", [100, 200, 300])
def test_text_size_100_to_300_percent_never_clips(window, qtbot, scale):
    window.settings.text_scale = scale
    window.settings.theme = "high-contrast"
    window.appearance.apply()
    window.resize(1000, 760)
    qtbot.wait(50)
    QApplication.processEvents()
    base = QApplication.font().pointSizeF()
    assert window.result_view.text_box.font().pointSizeF() > base
    controls = [*window.capture_buttons, *window.detail_radios.values(), *window.current_buttons,
                *window.result_buttons, window.setup_button]
    for control in controls:
        need = control.sizeHint()
        assert control.width() >= need.width() and control.height() >= need.height(), (
            f"{control.text()!r} is {control.width()}x{control.height()}, needs {need.width()}x{need.height()}")
        text_width = control.fontMetrics().horizontalAdvance(control.text().replace("&", ""))
        assert control.width() > text_width
    assert all(c.font().pointSizeF() == pytest.approx(base) for c in controls)  # the size reached them
    zone = window.drop_zone
    assert zone.height() >= zone.layout().totalHeightForWidth(zone.width()) - 1
    OUTPUT.mkdir(exist_ok=True)  # for people to look at
    window.grab().save(str(OUTPUT / f"main-window-high-contrast-{scale}.png"))
    # Controls never overlap: the rows wrap instead.
    rects = [(c, c.geometry().translated(c.parentWidget().mapTo(window, c.pos()) - c.pos())) for c in controls]
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            assert not ra.intersects(rb), f"{a.text()!r} overlaps {b.text()!r}"


def test_qt_binding_keeps_none_and_true_alive(qtbot):
    """PySide6 6.12.0 on Python < 3.12 drops a reference to None on every void call (and to
    True on every emit) until the interpreter aborts; pyproject.toml keeps it out."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(str)

    emitter = Emitter()
    widget = QWidget()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(200):
        widget.setEnabled(True)
        emitter.fired.emit("x")
    assert sys.getrefcount(None) >= none_before - 20
    assert sys.getrefcount(True) >= true_before - 20


def test_buttons_and_detail_levels_say_their_actions_real_keys(window):
    """The keys a button's description names are its action's, even after the user changes one."""
    from desktop.window.actions import keys_of

    buttons = {b.objectName(): b for b in window.findChildren(QAbstractButton) if b.objectName()}
    assert buttons["button_open"].accessibleDescription() == "Choose picture files (Ctrl+O)."
    assert buttons["button_ask"].accessibleDescription().endswith("(Ctrl+Shift+A).")
    screen_keys = keys_of(window.actions["screen"])  # the configurable capture shortcut, bound in the window
    assert screen_keys and buttons["button_screen"].accessibleDescription() == (
        f"The whole screen under the pointer ({screen_keys}).")
    window.actions["again"].setShortcut(QKeySequence("F6"))
    assert buttons["button_again"].accessibleDescription() == "Same picture, chosen detail (F6)."
    brief = window.detail_radios["brief"]
    assert (brief.text(), brief.accessibleName()) == ("Brief (1)", "Brief")
    assert brief.accessibleDescription() == "Press 1 anywhere in the window."
    window.actions["more"].setShortcut(QKeySequence("Ctrl+3"))
    assert window.detail_radios["more"].text() == "More detailed (Ctrl+3)"
    assert window.detail_radios["more"].accessibleDescription() == "Press Ctrl+3 anywhere in the window."
