"""Page Down in the real window, for `lumen bench --document`.

    python -m desktop.window.bench_pages PDF [--model DIR]    # prints one JSON object

The window (Qt offscreen, its settings, history and caches in a temporary folder, nothing
spoken) opens a scanned PDF and reads it as a user would: page 1, then Page Down pressed in the
description box. Each figure runs from the key press (or the open) to the first text of the
page's own (after "Page 2 of 5", which is said at once) handed to speech:

* `open_first_text_s`: the document opened, page 1 rendered and read cold;
* `page_down_read_ahead_s`: Page Down once the next page has been read ahead (a user who
  listened to the page before it for as long as reading it takes);
* `page_down_at_once_s`: Page Down pressed the moment the page before was shown (its read
  ahead only just started), the worst case.

Like desktop/window/bench_backdrop.py, it lives in desktop/ because it is a Qt window;
export/benchmark/documents.py starts it as a separate process, so no import goes up a layer.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TIMEOUT_S = 300.0


def _wait(app, until: Callable[[], bool], what: str) -> None:  # noqa: ANN001 - the QApplication
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + TIMEOUT_S
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {TIMEOUT_S:.0f} s for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.window.bench_pages")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--model", type=Path, help="a description model folder (figures; default: none)")
    args = parser.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="lumen-bench-pages-") as tmp:
        for name in ("LUMEN_CONFIG_DIR", "LUMEN_DATA_DIR", "LUMEN_MODELS_DIR", "XDG_CONFIG_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        os.environ["LUMEN_INSTANCE"] = str(Path(tmp) / "lumen.sock")
        os.environ["LUMEN_SCREEN_READER"] = "none"
        print(json.dumps(_measure(args.pdf, args.model, Path(tmp))), flush=True)
    return 0


def _measure(pdf: Path, model: Path | None, tmp: Path) -> dict[str, float]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.settings import Settings
    from desktop.window.launch import build_window

    app = QApplication(sys.argv[:1])
    window = build_window(Settings(global_hotkeys=False, speak=False), model, history_root=tmp / "history")
    window.show()
    window.start(open_setup=False)
    engine, describer = window.engine, window.describer
    if model is not None:
        _wait(app, lambda: engine.state in ("ready", "failed"), "the model to load")
    _wait(app, lambda: not engine.busy, "the text reader to warm up")
    firsts: dict[int, float] = {}

    def settled(request, text: str) -> None:  # noqa: ANN001 - a Request
        own = text.split("\n\n", 1)[1].strip() if "\n\n" in text else ""
        if own and request.source.page not in firsts:
            firsts[request.source.page] = time.perf_counter()

    describer.settled.connect(settled)
    box = window.result_view.text_box
    box.setFocus()
    figures: dict[str, float] = {}
    t = time.perf_counter()
    window.documents.open(pdf)
    _wait(app, lambda: 1 in firsts, "page 1's first text")
    figures["open_first_text_s"] = firsts[1] - t
    _wait(app, lambda: engine.reading_ahead, "page 2's read ahead to start")
    _wait(app, lambda: not engine.reading_ahead, "page 2 to be read ahead")
    t = time.perf_counter()
    QTest.keyClick(box, Qt.Key.Key_PageDown)
    _wait(app, lambda: 2 in firsts, "page 2's first text")
    figures["page_down_read_ahead_s"] = firsts[2] - t
    _wait(app, lambda: not describer.busy and engine.reading_ahead, "page 3's read ahead to start")
    t = time.perf_counter()
    QTest.keyClick(box, Qt.Key.Key_PageDown)
    _wait(app, lambda: 3 in firsts, "page 3's first text")
    figures["page_down_at_once_s"] = firsts[3] - t
    window.shutdown()
    return {k: round(v, 3) for k, v in figures.items()}


if __name__ == "__main__":
    sys.exit(main())
