"""Lumen with a real screen reader: Orca (speech through speech-dispatcher's dummy voice) on its
own X display, D-Bus and AT-SPI bus (tests/support/orca_session.py). Lumen's own voice is off, so what
the user hears is what speech-dispatcher is given, from Orca or from Lumen's SSIP client.

One Orca for the module; each test starts Lumen as a user would (`lumen --model DIR`).
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from services import latency_trace
from tests.support.orca_app import CLIPBOARD_HOLDER, NOTES_APP, ROOT, Lumen, heard_after
from tests.support.orca_session import OrcaSession

pytestmark = [pytest.mark.gui, pytest.mark.slow]
SPOKEN_WITHIN_S = 2.0  # the bound, from the result to the speech server
TEXT_EVENTS = ("object:text-changed", "object:text-caret-moved")


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
