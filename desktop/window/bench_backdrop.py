"""A full-screen picture under Lumen's window, for `lumen bench --latency`.

    python -m desktop.window.bench_backdrop        # then "next\n" on stdin: a new picture, "ok\n" back
                                            # or "text\n": a new screen of text

Each press of the bench must capture a new picture (the same pixels would come from the
encoded-picture cache), so this window shows a different photo-like picture
(export.benchmark.inputs.bench_image), or a different screen of prose
(export.benchmark.ocr.screen_of_text), each time it is told, and answers once it is painted.
It never takes the keyboard focus.

It is the one piece of benchmark code outside export/benchmark/ because it is a Qt window and
only desktop/ imports Qt; export/benchmark/latency_session.py starts it as a separate process, so
no import goes up a layer.
"""
from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QLabel


class _Commands(QObject):
    next = Signal(str)
    done = Signal()


def main() -> int:
    from export.benchmark.inputs import bench_image
    from export.benchmark.ocr import screen_of_text

    app = QApplication(sys.argv[:1])
    size = QGuiApplication.primaryScreen().geometry().size()
    label = QLabel()
    label.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowDoesNotAcceptFocus)
    label.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    label.setGeometry(0, 0, size.width(), size.height())
    seed = [0]

    def show_next(kind: str = "next") -> None:
        seed[0] += 1
        wanted = (size.width(), size.height())
        picture = screen_of_text(wanted, start=seed[0]) if kind == "text" else bench_image(wanted, seed=seed[0])
        rgb = picture.convert("RGB").tobytes()
        image = QImage(rgb, size.width(), size.height(), 3 * size.width(), QImage.Format.Format_RGB888)
        label.setPixmap(QPixmap.fromImage(image.copy()))
        label.repaint()
        QApplication.sync()
        print("ok", flush=True)

    commands = _Commands()
    commands.next.connect(show_next, Qt.ConnectionType.QueuedConnection)
    commands.done.connect(app.quit, Qt.ConnectionType.QueuedConnection)

    def read() -> None:
        for line in sys.stdin:
            if line.strip() in ("next", "text"):
                commands.next.emit(line.strip())
        commands.done.emit()

    label.show()
    show_next()
    threading.Thread(target=read, daemon=True).start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
