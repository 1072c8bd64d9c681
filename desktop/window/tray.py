"""The tray icon: Describe screen, Describe region, Show, Quit."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.window.icons import app_icon

if TYPE_CHECKING:
    from desktop.window.main_window import MainWindow


def show_window(window: MainWindow) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()


def create_tray(window: MainWindow) -> QSystemTrayIcon | None:
    """The tray icon, or None where the desktop has no tray."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    tray = QSystemTrayIcon(app_icon(), window)
    tray.setToolTip("Lumen")
    menu = QMenu(window)
    menu.setAccessibleName("Lumen")
    for text, slot in (("Describe &screen", window.capture_screen),
                       ("Describe &region…", window.capture_region),
                       ("S&how Lumen", lambda: show_window(window)),
                       ("&Quit", window.quit)):
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
