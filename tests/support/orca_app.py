"""A `lumen` window and the Orca session around it, shared by the screen-reader test modules."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.orca_session import OrcaSession, missing_tools

ROOT = Path(__file__).resolve().parents[2]
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
        # `make test` installs them (packaging/system-packages.txt): missing here is a broken set-up.
        pytest.fail(f"the screen reader run needs: apt-get install {' '.join(need)} (or run `make test`)")
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

    def __init__(self, orca: OrcaSession, tmp: Path, model: Path, *, voice: bool = False) -> None:
        """`voice`: Lumen's own voice on (played to ALSA's null device), else off."""
        config = tmp / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "lumen.ini").write_text(f"[General]\nspeak={str(voice).lower()}\nspeak_with=auto\n"
                                          "global_hotkeys=false\n")
        self.env = {**orca.env, "QT_QPA_PLATFORM": "xcb", "LUMEN_CONFIG_DIR": str(config),
                    "LUMEN_DATA_DIR": str(tmp / "data"), "LUMEN_INSTANCE": str(tmp / "lumen.sock"),
                    "LUMEN_MODELS_DIR": str(tmp / "models"), "LUMEN_LOG": "INFO",
                    "LUMEN_LATENCY_TRACE": str(tmp / "trace.jsonl"),
                    "LUMEN_AUDIO_PLAYER": "aplay -q -D null {path}"}
        self.trace = tmp / "trace.jsonl"
        self.env.pop("LUMEN_SCREEN_READER", None)  # detected, as for a user
        self.log_path = tmp / "lumen.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "desktop.cli", "--model", str(model)], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def status(self) -> dict | None:
        code = "import json; from desktop.capture.single_instance import send; print(json.dumps(send({'cmd': 'status'})))"
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
            code = "from desktop.capture.single_instance import send; send({'cmd': 'quit'})"
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
