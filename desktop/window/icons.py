"""Lumen's icon, drawn in code so it is sharp at every size and needs no image plugin."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap


def _draw(size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64
    p.setBrush(QColor("#0b3d91"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(2 * s, 2 * s, 60 * s, 60 * s), 14 * s, 14 * s)
    # an eye whose pupil is a small sun: seeing, and light
    p.setPen(QPen(QColor("#ffffff"), 4 * s))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QRectF(9 * s, 20 * s, 46 * s, 24 * s))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#ffd54a"))
    p.drawEllipse(QPointF(32 * s, 32 * s), 9 * s, 9 * s)
    p.end()
    return pm


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(_draw(size))
    return icon
