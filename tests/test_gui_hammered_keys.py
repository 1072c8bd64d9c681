"""Hammered keys: every global shortcut pressed 50 times within 5 s (xdotool, Xvfb) while a
description is computed and spoken, on the real window (export/benchmark/latency_session.py:
a new photo-like picture under it, Lumen's voice played to ALSA's null device, its trace read).

Holds for each shortcut (all five hammered once in the suite, LUMEN_SOAK=full 5 times): the app runs on, no error and no extra window, Lumen's voice never
plays two things at once, at most one describe starts after the last press (the one it asked
for, or one still running), a result is shown after the last capture (the last press wins);
then a single press is answered, and resident memory after the round (and after the single
press, or with LUMEN_SOAK=full each later round) is back within 20% and 10% in the suite and
within the issue's 5% in the full soak (README, Reliability, has the figures). Memory is read at rest (the window's status says
its work and the memory return after it are done), starting after one press of each shortcut.
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import soak

PRESSES, DELAY_MS = 50, 100  # 50 presses in 5 s
ROUNDS = soak.count(1, 5)  # every shortcut hammered, this many times over (1 in the suite: CI time)
# A round of all five took 2-3 minutes on a 2-core machine; the suite's 600 s is for one.
pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.timeout(300 + 300 * ROUNDS)]
LIMITS = (0.05, 0.05) if soak.full() else (0.20, 0.10)  # memory after the first round, then after the rest
SHORTCUTS = {"screen": "ctrl+alt+shift+d", "window": "ctrl+alt+shift+w", "text": "ctrl+alt+shift+t",
             "stop": "ctrl+alt+shift+x", "region": "ctrl+alt+shift+a"}


def _rss_kb(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def _rest_rss_kb(app) -> int:
    """Resident kB once the window's workers are idle and it has returned free memory after them."""
    assert app.wait_settled(timeout=60), "the window was still busy 60 s after the presses"
    return _rss_kb(app.proc.pid)


def _windows(app) -> list[str]:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(app.proc.pid)],
                           env=app.env, capture_output=True, text=True, timeout=30)
    return found.stdout.split()


def _overlaps(events: list[dict]) -> int:
    """Times Lumen's voice started while it was still playing."""
    playing, overlaps = False, 0
    for e in sorted(events, key=lambda e: e["t"]):
        if e["event"] == "speech_play":
            overlaps += playing
            playing = True
        elif e["event"] == "speech_end":
            playing = False
    return overlaps


def _quiet(events: list[dict]) -> bool:
    """The voice has finished and nothing has happened for 2 s (the work the presses asked for
    is done: a result, or a spoken error)."""
    plays = sum(e["event"] == "speech_play" for e in events)
    ends = sum(e["event"] == "speech_end" for e in events)
    return bool(events) and plays == ends and time.monotonic() - max(e["t"] for e in events) > 2.0


def _answered(events: list[dict]) -> bool:
    captured = [e["t"] for e in events if e["event"] == "captured"]
    shown = [e["t"] for e in events if e["event"] == "result_shown"]
    return bool(shown) and bool(captured) and shown[-1] > captured[-1] and _quiet(events)


def _focused_target(display: str):
    """A plain X window with the keyboard focus, for Describe window (Xvfb has no window manager)."""
    from Xlib import X, display as xdisplay

    x = xdisplay.Display(display)
    screen = x.screen()
    target = screen.root.create_window(100, 120, 300, 200, 0, screen.root_depth, X.InputOutput,
                                       X.CopyFromParent, background_pixel=0x3366CC)
    target.set_wm_name("colour target")
    target.map()
    x.sync()
    target.set_input_focus(X.RevertToParent, X.CurrentTime)
    x.sync()
    return x, target


def _press(app, display: str, action: str, presses: int) -> list[dict]:
    """Press `action`'s shortcut `presses` times, DELAY_MS apart, with a new picture on the screen
    (and a focused window for Describe window); the trace's events once the work has ended."""
    app.next_picture(text=action == "text")
    target = _focused_target(display) if action == "window" else None
    since = app.xdotool("key", SHORTCUTS["screen"]) if action == "stop" else None  # to stop
    started = app.xdotool("key", "--delay", str(DELAY_MS), *[SHORTCUTS[action]] * presses)
    if action == "region":  # the chooser opened once; Esc closes it
        chooser = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "choose a region"],
                                 env=app.env, capture_output=True, text=True, timeout=30)
        assert len(chooser.stdout.split()) <= 1, "more than one region chooser"
        app.xdotool("key", "Escape")
    events = app.wait_for(since or started, _quiet if action in ("stop", "region") else _answered, 180)
    if target is not None:
        target[1].destroy()
        target[0].close()
    return events


def test_every_shortcut_pressed_50_times_in_5_seconds(tmp_path: Path, tiny_florence2_onnx: Path) -> None:
    from export.benchmark.latency_session import AppSession, XServer, missing_tools

    if missing_tools():
        pytest.fail(f"needs {', '.join(missing_tools())}; install them: `make system-test` (packaging/system-packages.txt)", pytrace=False)
    server = XServer()
    settings = {"speak": "true", "speak_with": "voice", "detail": "brief", "history": "false",
                "earcons": "false", "global_hotkeys": "true"}
    app = AppSession(tiny_florence2_onnx, server.display, tmp_path / "app", settings, log=lambda _: None)
    figures = []
    try:
        app.wait_ready(180)
        for action in SHORTCUTS:  # warm: each once, so the first round is not also each one's first use
            _press(app, server.display, action, 1)
        windows, rss = _windows(app), [_rest_rss_kb(app)]
        for round_, action in enumerate([*SHORTCUTS] * ROUNDS):
            events = _press(app, server.display, action, PRESSES)
            presses = [e["t"] for e in events if e["event"] == "hotkey"]
            starts_after = [e for e in events if e["event"] == "describe_start" and e["t"] > presses[-1]]
            status = app.request({"cmd": "status"})
            assert app.proc.poll() is None, app.output()[-2000:]
            # the last error the window showed: none, or our own Esc on the region chooser
            allowed = {"Region capture cancelled."} if action == "region" else {"", "Region capture cancelled."}
            assert status and status["error"] in allowed, status
            assert sorted(_windows(app)) == sorted(windows), "a dialog or another window opened"
            assert _overlaps(events) == 0
            assert len(starts_after) <= 1, f"{len(starts_after)} describes queued after the last press"
            if round_ % len(SHORTCUTS) == len(SHORTCUTS) - 1:
                rss.append(_rest_rss_kb(app))
            if round_ >= len(SHORTCUTS):
                continue
            figures.append(f"{action}: {len(presses)} presses reached Lumen, "
                           f"RSS {_rss_kb(app.proc.pid) // 1024} MB after, "
                           f"{sum(e['event'] == 'captured' for e in events)} captures, "
                           f"{sum(e['event'] == 'result_shown' for e in events)} results shown, "
                           f"{len(starts_after)} describe after the last press")
        app.next_picture()
        since = app.xdotool("key", SHORTCUTS["screen"])  # then one press is answered
        events = app.wait_for(since, _answered, 120)
        answered = next(e["t"] for e in events if e["event"] == "result_shown") - since
        rss.append(_rest_rss_kb(app))
        assert _overlaps(app.events()) == 0
        trace = app.events()
        stall_events = sorted((e for e in trace if e["event"] == "gui_stall"), key=lambda e: -e["ms"])
        stalls = [e["ms"] for e in stall_events]
        # what the GUI thread had last done before each of the three longest (where to look)
        longest = [(e["ms"], next((p["event"] for p in reversed(trace) if p["t"] <= e["since"]
                                   and p["event"] != "gui_stall"), "start"))
                   for e in stall_events[:3]]
    finally:
        app.close()
        server.close()
    first, again = (rss[1] - rss[0]) / rss[0], (rss[-1] - rss[1]) / rss[1]
    soak.report("hammered keys: " + "; ".join(figures) + f"; {ROUNDS} rounds of all five, 0 crashes, "
                f"0 error dialogs, 0 speech overlaps; next single press answered in {answered:.2f} s; "
                f"GUI thread stalls over 50 ms: {len(stalls)}, longest {max(stalls, default=0)} ms "
                f"(the three longest, after: {longest}); "
                f"RSS MB before / after each round / after the single press: "
                f"{[r // 1024 for r in rss]} (first round {first:+.1%}, then {again:+.1%})")
    # The full soak holds the goal (5%: +3.3% and +2.4% measured quiet). The suite's one
    # round on CI's shared cores is held to what catches the leaks this test found: every captured
    # picture kept (+60% a round) and superseded describes' pictures in reference cycles (+50% a
    # round, growing); a round alone ended 3.7-11.1% up, depending on how much work finished.
    assert first <= LIMITS[0] and again <= LIMITS[1], (first, again)
