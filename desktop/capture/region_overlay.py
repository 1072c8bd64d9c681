"""Full-screen region chooser over a frozen screenshot, for keyboard and mouse alike.

Arrows move the region, Shift+arrows resize it (Ctrl makes either step fine), Ctrl+A takes the
whole screen, Enter confirms, Esc cancels. With the mouse: drag a rectangle; releasing it
confirms. Each change is announced so a screen reader user knows where the region is.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor, QFont, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QScreen,
)
from PySide6.QtWidgets import QWidget

from desktop.speech.announce import Announcer

STEP, FINE_STEP, MIN_SIZE = 20, 2, 16
HELP = ("Choose a region. Arrow keys move it, Shift with arrow keys resizes it, "
        "Enter describes it, Escape cancels.")


class RegionOverlay(QWidget):
    chosen = Signal(QRect)  # in the screenshot's own (device) pixels
    cancelled = Signal()

    def __init__(self, shot: QImage, screen: QScreen) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
                         | Qt.WindowType.Tool)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("regionOverlay")
        self.setWindowTitle("Lumen: choose a region")
        self.setAccessibleName("Region chooser")
        self.setAccessibleDescription(HELP)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._shot = shot
        self._screen = screen
        self._pixmap = QPixmap.fromImage(shot)
        self._dpr = shot.width() / max(1, screen.geometry().width())
        self._pixmap.setDevicePixelRatio(self._dpr)
        self._announcer = Announcer(self)
        self._drag_from: QPoint | None = None
        self._done = False
        size = screen.geometry().size()
        self.selection = QRect(QPoint(size.width() // 4, size.height() // 4), size / 2)

    def open(self) -> None:
        self.setGeometry(self._screen.geometry())
        self.showFullScreen()
        self.raise_()
        self.activateWindow()
        self.setFocus()
        self._announcer.announce(HELP)

    # --- the result ---
    def device_rect(self) -> QRect:
        """The selection in screenshot pixels (HiDPI: native resolution)."""
        r = self.selection
        d = self._dpr
        out = QRect(round(r.x() * d), round(r.y() * d), round(r.width() * d), round(r.height() * d))
        return out.intersected(QRect(0, 0, self._shot.width(), self._shot.height()))

    def _finish(self, accepted: bool) -> None:
        if self._done:
            return
        self._done = True
        self.hide()
        if accepted:
            self.chosen.emit(self.device_rect())
        else:
            self.cancelled.emit()
        self.close()
        self._shot, self._pixmap = QImage(), QPixmap()  # 8 MB a screen, not kept by the last chooser

    # --- keyboard ---
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish(True)
            return
        if key == Qt.Key.Key_Escape:
            self._finish(False)
            return
        if key == Qt.Key.Key_A and mods & Qt.KeyboardModifier.ControlModifier:
            self._set(QRect(QPoint(0, 0), self._bounds().size()))
            return
        step = FINE_STEP if mods & Qt.KeyboardModifier.ControlModifier else STEP
        dx, dy = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0),
                  Qt.Key.Key_Up: (0, -step), Qt.Key.Key_Down: (0, step)}.get(key, (0, 0))
        if not (dx or dy):
            super().keyPressEvent(event)
            return
        r = QRect(self.selection)
        if mods & Qt.KeyboardModifier.ShiftModifier:
            r.setWidth(max(MIN_SIZE, r.width() + dx))
            r.setHeight(max(MIN_SIZE, r.height() + dy))
        else:
            r.translate(dx, dy)
        self._set(r)

    def _bounds(self) -> QRect:
        return QRect(QPoint(0, 0), self._screen.geometry().size())

    def _set(self, r: QRect, announce: bool = True) -> None:
        b = self._bounds()
        r.setWidth(min(r.width(), b.width()))
        r.setHeight(min(r.height(), b.height()))
        r.moveLeft(min(max(r.left(), 0), b.width() - r.width()))
        r.moveTop(min(max(r.top(), 0), b.height() - r.height()))
        self.selection = r
        self.update()
        if announce:
            d = self.device_rect()
            self._announcer.announce(
                f"Region {d.width()} by {d.height()}, {d.x()} from left, {d.y()} from top."
            )

    # --- mouse ---
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position().toPoint()
        elif event.button() == Qt.MouseButton.RightButton:
            self._finish(False)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._set(QRect(self._drag_from, event.position().toPoint()).normalized(), announce=False)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None or event.button() != Qt.MouseButton.LeftButton:
            return
        r = QRect(self._drag_from, event.position().toPoint()).normalized()
        self._drag_from = None
        if r.width() >= MIN_SIZE and r.height() >= MIN_SIZE:
            self._set(r, announce=False)
            self._finish(True)

    # --- drawing: dim outside, thick two-colour border, a large help line ---
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.drawPixmap(0, 0, self._pixmap)
        shade = QColor(0, 0, 0, 150)
        full, sel = self.rect(), self.selection
        for part in (QRect(0, 0, full.width(), sel.top()),
                     QRect(0, sel.bottom() + 1, full.width(), full.height() - sel.bottom() - 1),
                     QRect(0, sel.top(), sel.left(), sel.height()),
                     QRect(sel.right() + 1, sel.top(), full.width() - sel.right() - 1, sel.height())):
            p.fillRect(part, shade)
        p.setPen(QPen(QColor("#000000"), 7))
        p.drawRect(sel)
        p.setPen(QPen(QColor("#ffff00"), 3))
        p.drawRect(sel)
        font = QFont(self.font())
        font.setPointSizeF(max(14.0, font.pointSizeF() * 1.2))
        font.setBold(True)
        p.setFont(font)
        d = self.device_rect()
        text = f"{HELP}   ({d.width()} × {d.height()})"
        box = p.fontMetrics().boundingRect(QRect(0, 0, full.width() - 40, 400),
                                           Qt.TextFlag.TextWordWrap, text)
        banner = QRect(QPoint(20, 20), QSize(box.width() + 24, box.height() + 16))
        if banner.intersects(sel):  # keep the help off the region being chosen
            banner.moveBottom(full.height() - 20)
        p.fillRect(banner, QColor("#000000"))
        p.setPen(QColor("#ffffff"))
        p.drawText(banner.adjusted(12, 8, -12, -8), Qt.TextFlag.TextWordWrap, text)
        p.end()
