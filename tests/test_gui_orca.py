"""Lumen with a real screen reader: Orca (speech through speech-dispatcher's dummy voice) on its
own X display, D-Bus and AT-SPI bus (tests/orca_session.py). Lumen's own voice is off, so what
the user hears is what speech-dispatcher is given, from Orca or from Lumen's SSIP client.

One Orca for the module; each test starts Lumen as a user would (`lumen --model DIR`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services import latency_trace
from tests.support.orca_session import OrcaSession, missing_tools

pytestmark = [pytest.mark.gui, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
SPOKEN_WITHIN_S = 2.0  # the bound, from the result to the speech server
TEXT_EVENTS = ("object:text-changed", "object:text-caret-moved")
NOTES_APP = """
import sys
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication(sys.argv[:1]); app.setApplicationName("Notes")
edit = QLineEdit(); edit.setAccessibleName("Note"); edit.setWindowTitle("Notes"); edit.show()
edit.activateWindow(); edit.setFocus(); app.exec()
"""


CLIPBOARD_HOLDER = """
import sys
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
mime = QMimeData(); mime.setUrls([QUrl.fromLocalFile(sys.argv[1])])
app.clipboard().setMimeData(mime); print("copied", flush=True); app.exec()
"""


@pytest.fixture(scope="module")
def orca(tmp_path_factory):
    need = missing_tools()
    if need:
        pytest.skip(f"the screen reader run needs: apt-get install {' '.join(need)}")
    session = OrcaSession(tmp_path_factory.mktemp("orca"))
    try:
        session.start()
    except BaseException:
        session.stop()
        raise
    yield session
    session.stop()


class Lumen:
    """One `lumen` window inside the Orca session, with its own settings and instance socket."""

    def __init__(self, orca: OrcaSession, tmp: Path, model: Path) -> None:
        config = tmp / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "lumen.ini").write_text("[General]\nspeak=false\nspeak_with=auto\nglobal_hotkeys=false\n")
        self.env = {**orca.env, "QT_QPA_PLATFORM": "xcb", "LUMEN_CONFIG_DIR": str(config),
                    "LUMEN_DATA_DIR": str(tmp / "data"), "LUMEN_INSTANCE": str(tmp / "lumen.sock"),
                    "LUMEN_MODELS_DIR": str(tmp / "models"), "LUMEN_LOG": "INFO",
                    "LUMEN_LATENCY_TRACE": str(tmp / "trace.jsonl")}
        self.trace = tmp / "trace.jsonl"
        self.env.pop("LUMEN_SCREEN_READER", None)  # detected, as for a user
        self.log_path = tmp / "lumen.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "desktop.cli", "--model", str(model)], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def status(self) -> dict | None:
        code = "import json; from desktop.single_instance import send; print(json.dumps(send({'cmd': 'status'})))"
        out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                             timeout=60, cwd=ROOT)
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None

    def wait(self, check, what: str, timeout: float = 120.0) -> dict:
        deadline, status = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            status = self.status()
            if status and check(status):
                return status
            assert self.proc.poll() is None, f"Lumen ended while waiting for {what}:\n{self.log()}"
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; last status {status}\n{self.log()}")

    def key(self, keys: str) -> None:
        subprocess.run(["xdotool", "key", "--clearmodifiers", keys], env=self.env, check=True, timeout=30)

    def focus(self) -> None:
        subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "^Lumen$", "windowfocus"],
                       env=self.env, check=True, timeout=60)

    def capture(self) -> tuple[dict, float]:
        """`lumen capture --screen --json`: the result, and when the running window answered."""
        out = subprocess.run([sys.executable, "-m", "desktop.cli", "capture", "--screen", "--json"],
                             env=self.env, capture_output=True, text=True, timeout=180, cwd=ROOT)
        answered = time.time()
        assert out.returncode == 0, f"lumen capture failed: {out.stderr}\n{self.log()}"
        return self.wait(lambda s: s["results"] >= 1, "the result")["last"], answered

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            code = "from desktop.single_instance import send; send({'cmd': 'quit'})"
            subprocess.run([sys.executable, "-c", code], env=self.env, timeout=60, cwd=ROOT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def heard_after(orca: OrcaSession, text: str, since: float, timeout: float = 30.0) -> float:
    """When speech-dispatcher had been given all of `text`, verbatim (in one message or in
    sentences, after `since`); fails with everything it was given."""
    want = " ".join(text.split())
    assert want, "nothing to listen for"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queued = [(t, m) for t, m in orca.queued(since) if not m.startswith("<speak>")]  # not Orca's
        for i in range(len(queued)):
            if want in " ".join(" ".join(m.split()) for _, m in queued[: i + 1]):
                return queued[i][0]
        time.sleep(0.1)
    said = "\n".join(f"  {t:.3f} {m}" for t, m in orca.queued(since)) or "  (nothing)"
    raise AssertionError(f"{text!r} was not spoken within {timeout:.0f} s; speech-dispatcher was given:\n{said}"
                         f"\nOrca said: {orca.spoken()[-15:]}")


def settled_events(orca: OrcaSession, mark: int, quiet_s: float = 1.5, timeout: float = 30.0) -> list[str]:
    """Text events from Lumen's description that reached Orca, once no more arrive for `quiet_s`
    (Orca runs behind the application on a busy machine)."""
    deadline, events, since = time.monotonic() + timeout, [], time.monotonic()
    while time.monotonic() < deadline:
        now = orca.app_events("Lumen", TEXT_EVENTS, mark, "Description")
        if len(now) != len(events):
            events, since = now, time.monotonic()
        elif events and time.monotonic() - since >= quiet_s:
            break
        time.sleep(0.1)
    return events


def result_time(lumen: Lumen, after: float) -> float:
    """When the window showed its latest result (time.time() clock), from Lumen's trace."""
    offset = time.time() - time.monotonic()  # one CLOCK_MONOTONIC for every process
    shown = [e["t"] + offset for e in latency_trace.read(lumen.trace) if e["event"] == "result_shown"]
    shown = [t for t in shown if t >= after]
    assert shown, f"no result_shown in Lumen's trace\n{lumen.log()}"
    return shown[-1]


def test_results_in_the_foreground_and_the_background_are_spoken(orca, tmp_path, tiny_florence2_onnx):
    from PIL import Image

    picture = tmp_path / "red.png"
    Image.new("RGB", (96, 72), (200, 30, 30)).save(picture)
    lumen = Lumen(orca, tmp_path, tiny_florence2_onnx)
    notes = holder = None
    try:
        lumen.wait(lambda s: s["model"] == "ready" and s["visible"], "the window and the model")
        lumen.focus()  # as the user's click or Alt+Tab would (no window manager here)
        orca.wait_for_log(lambda log: "Lumen frame." in orca.spoken(), 60, "Orca to present Lumen's window")

        # Foreground, by keyboard: a picture file copied in another program, Ctrl+V in Lumen.
        holder = subprocess.Popen([sys.executable, "-c", CLIPBOARD_HOLDER, str(picture)], env=lumen.env,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert holder.stdout.readline().strip() == "copied"
        mark, since = orca.mark(), time.time()
        lumen.key("ctrl+v")
        status = lumen.wait(lambda s: s["results"] >= 1, "the result of the opened picture")
        text = status["last"]["text"]
        delay = heard_after(orca, text, since) - result_time(lumen, since)
        events = settled_events(orca, mark)
        print(f"foreground: result -> speech-dispatcher {delay:+.3f} s; {len(events)} text events; {text!r}")
        print("Orca said:", orca.spoken(mark))
        assert delay < SPOKEN_WITHIN_S
        # Focus reached the description before the result, which is not read there a second time.
        orca.wait_for_log(lambda log: "Description read only text." in orca.spoken(mark), 30,
                          "Orca to follow the focus to the description")
        focus_said = orca.spoken(mark)[orca.spoken(mark).index("Description read only text.") + 1]
        assert focus_said in ("red.png:", "red.png: Describing red.png…"), orca.spoken(mark)
        assert 1 <= len(events) <= 8, "a flood of text events (or none):\n" + "\n".join(events)
        said = " ".join(" ".join(m.split()) for _, m in orca.queued(since))
        assert said.count(" ".join(text.split())) == 1, f"said more than once: {said}"

        # Background: another application has focus; Lumen must not take it, and is still heard.
        notes = subprocess.Popen([sys.executable, "-c", NOTES_APP], env=lumen.env, cwd=ROOT)
        orca.wait_for_log(lambda log: "Note text." in orca.spoken(), 60, "Orca to present Notes")
        mark, since = orca.mark(), time.time()
        out = subprocess.run([sys.executable, "-m", "desktop.cli", "capture", "--screen", "--json"],
                             env=lumen.env, capture_output=True, text=True, timeout=180, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        status = lumen.wait(lambda s: s["results"] >= 2, "the background result")
        text = status["last"]["text"]
        delay = heard_after(orca, text, since) - result_time(lumen, since)
        print(f"background: result -> speech-dispatcher {delay:+.3f} s; {text!r}")
        assert delay < SPOKEN_WITHIN_S
        focus = orca.app_events("Lumen", ("focus:",), mark)
        assert not focus, f"Lumen took the focus from Notes: {focus}"
    finally:
        if holder is not None:
            holder.kill()
            holder.wait(10)
        if notes is not None:
            notes.kill()
            notes.wait(10)
        lumen.close()
        print(lumen.log())


def test_a_model_that_fails_at_start_is_spoken(orca, tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "lumen.json").write_text("{}")
    (broken / "config.json").write_text("{ not json")
    since = time.time()
    lumen = Lumen(orca, tmp_path / "run", broken)
    try:
        status = lumen.wait(lambda s: s["model"] == "failed", "the model to fail")
        assert status["visible"]
        heard_after(orca, "The description model could not be loaded", since)
    finally:
        lumen.close()
        print(lumen.log())
