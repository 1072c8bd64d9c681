"""The tray icon: Describe screen, Describe region, Show, Quit."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from desktop.window.icons import app_icon


def show_window(window: QWidget) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()


def create_tray(window: QWidget, describe_screen: Callable[[], None], describe_region: Callable[[], None],
                quit_lumen: Callable[[], None]) -> QSystemTrayIcon | None:
    """The tray icon, or None where the desktop has no tray; it shows and hides `window`."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    tray = QSystemTrayIcon(app_icon(), window)
    tray.setToolTip("Lumen")
    menu = QMenu(window)
    menu.setAccessibleName("Lumen")
    for text, slot in (("Describe &screen", describe_screen),
                       ("Describe &region…", describe_region),
                       ("S&how Lumen", lambda: show_window(window)),
                       ("&Quit", quit_lumen)):
        action = QAction(text, menu)
        action.triggered.connect(lambda _=False, slot=slot: slot())
        menu.addAction(action)
    tray.setContextMenu(menu)

    def activated(reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            if window.isVisible() and not window.isMinimized():
                window.hide()
            else:
                show_window(window)

    tray.activated.connect(activated)
    tray.show()
    return tray
