"""Speech servers come and go while Lumen runs: speech-dispatcher killed and started again, Orca
quit and started again (tests/support/orca_session.py: Orca on Xvfb with its own buses, speech-
dispatcher's dummy voice, its log as the record of what would be heard).

Lumen speaks with "my screen reader when one is running, else Lumen's voice" and its voice on
(played to ALSA's null device; Lumen's trace records what it played). Holds: while a server is
gone the result is said by Lumen's voice and the window answers; once it is back, the next
result reaches speech-dispatcher again (Lumen reconnects by itself). The window's own stall
marks (desktop/window/stall_watch.py) say how long its event loop was held while a server was gone.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from services import latency_trace
from tests.support import soak
from tests.support.orca_app import ROOT, Lumen, heard_after
from tests.support.orca_session import OrcaSession

CYCLES = soak.count(1, 5)  # speech-dispatcher killed and back, then Orca quit and back, this many times
# The goal for the window while a server is gone; the suite's single cycle on CI's two
# shared cores fails only past 1 s (0 stalls over 50 ms were measured quiet).
STALL_LIMIT_MS = 100 if soak.full() else 1000
pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.timeout(300 + 240 * CYCLES)]


def _ping(lumen: Lumen) -> float:
    """Seconds the window took to answer a status request on its socket."""
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(lumen.env["LUMEN_INSTANCE"])
        sock.sendall(b'{"cmd": "status"}\n')
        assert json.loads(sock.makefile(encoding="utf-8").readline())["ok"]
    return time.monotonic() - started


def _capture(lumen: Lumen, pings: list[float]) -> tuple[str, float]:
    """`lumen capture --screen --json` on a new picture, the window pinged meanwhile; returns the
    text and when the capture was asked for (time.time() clock)."""
    since = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "desktop.cli", "capture", "--screen", "--json"],
                            env=lumen.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    while proc.poll() is None:
        pings.append(_ping(lumen))
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, f"lumen capture failed: {err}\n{lumen.log()}"
    status = lumen.wait(lambda s: s["last"] is not None and s["last"]["text"], "the result")
    return status["last"]["text"], since


def _voice_said(lumen: Lumen, text: str, since: float, timeout: float = 60.0) -> None:
    """Lumen's own voice started playing `text` (its first 80 characters) after `since`."""
    offset = time.time() - time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        played = [e.get("text", "") for e in latency_trace.read(lumen.trace)
                  if e["event"] == "speech_play" and e["t"] + offset >= since]
        if any(p and " ".join(text.split()).startswith(" ".join(p.split())[:40]) for p in played):
            return
        time.sleep(0.1)
    raise AssertionError(f"Lumen's voice did not say {text!r}; it played {played}\n{lumen.log()}")


def _proc(orca: OrcaSession, program: str) -> subprocess.Popen:
    return next(p for p in orca._procs if p.args[0] == program and p.poll() is None)


def _kill(proc: subprocess.Popen, sig: int) -> None:
    os.killpg(proc.pid, sig)
    proc.wait(30)


def test_speech_dispatcher_and_orca_restarted(orca: OrcaSession, tmp_path, tiny_florence2_onnx) -> None:
    lumen = Lumen(orca, tmp_path, tiny_florence2_onnx, voice=True)
    pings: list[float] = []
    outage: list[float] = []  # status requests answered while a server was gone
    gone: list[tuple[float, float]] = []  # monotonic spans while a server was gone
    try:
        lumen.wait(lambda s: s["model"] == "ready" and s["visible"] and s["reader"] == "Orca",
                   "the window, the model and Orca found")
        text, since = _capture(lumen, pings)
        heard_after(orca, text, since)  # the baseline: through speech-dispatcher

        for _ in range(CYCLES):
            # speech-dispatcher killed: the result is said by Lumen's voice, the window answers
            speechd = _proc(orca, "speech-dispatcher")
            argv = list(speechd.args)
            started = time.monotonic()
            _kill(speechd, signal.SIGKILL)
            text, since = _capture(lumen, outage)
            _voice_said(lumen, text, since)

            # speech-dispatcher back: the next result reaches it (Lumen reconnects)
            orca.speechd_socket.unlink(missing_ok=True)
            orca._spawn(argv, orca.env)
            orca._wait(orca.speechd_socket.exists, 60, "speech-dispatcher's socket")
            gone.append((started, time.monotonic()))
            text, since = _capture(lumen, pings)
            heard_after(orca, text, since)

            # Orca quit: Lumen finds no screen reader and speaks with its own voice
            started = time.monotonic()
            _kill(_proc(orca, "script"), signal.SIGTERM)
            lumen.wait(lambda s: s["reader"] == "", "Lumen to see that Orca quit", timeout=60)
            text, since = _capture(lumen, outage)
            _voice_said(lumen, text, since)

            # Orca started again: found, and the next result goes to speech-dispatcher again
            prefs = orca.root / "orca-prefs"
            orca._spawn(["script", "-q", "-f", "-e", "-c", f"orca --replace -u {prefs} --debug-file=/dev/stdout",
                         str(orca.orca_log)], orca.env)
            orca.wait_for_log(lambda log: "Screen reader on." in log, 60, "Orca to start again")
            lumen.wait(lambda s: s["reader"] == "Orca", "Lumen to find Orca again", timeout=60)
            gone.append((started, time.monotonic()))
            text, since = _capture(lumen, pings)
            heard_after(orca, text, since)
        assert lumen.proc.poll() is None
        stalls = [e for e in latency_trace.read(lumen.trace) if e["event"] == "gui_stall"]
    finally:
        lumen.close()
    during = [e["ms"] for e in stalls if any(a <= e["since"] <= b for a, b in gone)]
    soak.report(f"speech servers: GUI thread stalls over 50 ms: {sorted(e['ms'] for e in stalls)} ms "
                f"({sorted(during)} while a server was gone)")
    soak.report(f"speech servers: speech-dispatcher killed and restarted, Orca quit and restarted, {CYCLES} times: "
                f"every result heard (Lumen's voice while a server was gone); window answered "
                f"{len(pings) + len(outage)} status requests, slowest {max(pings + outage) * 1000:.0f} ms "
                f"({max(outage) * 1000:.0f} ms while a server was gone)")
    assert max(pings + outage) < 5.0  # answered: never stuck behind a dead speech server
    # A call waiting on the dead server (a connect timeout) would fail either limit.
    assert max(during, default=0) < STALL_LIMIT_MS, during
