"""One real run of the app on an X server (Xvfb, xcb platform), as a user would run it.

The window appears; `lumen capture --screen --json` is answered by the running instance; a
global shortcut pressed with xdotool triggers a description; a screenshot of the main window is
saved under test-output/ for review.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.require import require_tool

pytestmark = [pytest.mark.gui, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"


@pytest.fixture
def xvfb():
    """A fresh X server on a free display number; skipped only where Xvfb is not installed."""
    require_tool("Xvfb", "xvfb")  # the real-display run
    require_tool("xdotool", "xdotool")  # it presses the global shortcut
    from export.benchmark.latency_session import XServer

    server = XServer()
    yield server.display
    server.close()


def _status(env: dict) -> dict | None:
    code = "import json; from desktop.capture.single_instance import send; print(json.dumps(send({'cmd': 'status'})))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _wait_for(env: dict, check, what: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = _status(env)
        if status and check(status):
            return status
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last status: {status}")


def _capture_window_and_region(env: dict, model: Path) -> None:
    """Describe window and Describe region against a plain X window of one known colour."""
    from Xlib import X, display

    x_display = display.Display(env["DISPLAY"])
    screen = x_display.screen()
    colour, box = (0x33, 0x66, 0xCC), (100, 120, 300, 200)  # x, y, width, height
    target = screen.root.create_window(*box, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
                                       background_pixel=(colour[0] << 16) | (colour[1] << 8) | colour[2])
    target.set_wm_name("colour target")
    target.map()
    x_display.sync()
    time.sleep(0.3)
    target.set_input_focus(X.RevertToParent, X.CurrentTime)
    x_display.sync()
    try:
        out = subprocess.run([sys.executable, "-m", "desktop.cli", "capture", "--window", "--json"],
                             env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        printed = json.loads(out.stdout)
        # One colour: the kind check names it instead of captioning it.
        assert printed["image"] == "window" and (printed["kind"], printed["task"]) == ("blank", "none")
        assert printed["caption"] == "The picture is blank, all one colour."

        # Region by keyboard: the chooser starts on the middle of the screen; two steps right.
        region = subprocess.Popen([sys.executable, "-m", "desktop.cli", "capture", "--region", "--json"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        deadline = time.monotonic() + 60
        while subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "choose a region"],
                             env=env, capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and region.poll() is None, "the region chooser did not open"
            time.sleep(0.2)
        time.sleep(0.3)
        subprocess.run(["xdotool", "key", "Right", "Right", "Return"], env=env, check=True)
        stdout, stderr = region.communicate(timeout=180)
        assert region.returncode == 0, stderr
        width, height = screen.width_in_pixels, screen.height_in_pixels
        left, top = width // 4 + 40, height // 4
        overlap = ((min(box[0] + box[2], left + width // 2) - max(box[0], left))
                   * (min(box[1] + box[3], top + height // 2) - max(box[1], top)))
        printed = json.loads(stdout)
        # The region holds a sliver of the coloured window on the black root: under 2% of its
        # pixels, no text, so near-blank: named, never captioned.
        assert 0 < overlap < 0.02 * (width // 2) * (height // 2)
        assert printed["image"] == "region" and (printed["kind"], printed["task"]) == ("blank", "none")
        assert printed["caption"] == "The picture is blank, all black."
    finally:
        target.destroy()
        x_display.close()


def test_the_app_on_a_real_x_display(xvfb, tmp_path, tiny_florence2_onnx):
    config = tmp_path / "config"
    config.mkdir()
    # Lumen's own voice off: the machine running the tests may have no sound device.
    (config / "lumen.ini").write_text("[General]\nspeak=false\ntheme=system\ntext_scale=150\n")
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", LUMEN_CONFIG_DIR=str(config),
               LUMEN_DATA_DIR=str(tmp_path / "data"), LUMEN_INSTANCE=str(tmp_path / "lumen.sock"),
               LUMEN_MODELS_DIR=str(tmp_path / "models"), XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    log = (tmp_path / "lumen.log").open("w")
    app = subprocess.Popen([sys.executable, "-m", "desktop.cli", "--model", str(tiny_florence2_onnx)],
                           env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        status = _wait_for(env, lambda s: s["model"] == "ready" and s["visible"], "the window and the model")
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Lumen$"], env=env,
                               capture_output=True, text=True)
        assert found.returncode == 0 and found.stdout.split(), "the Lumen window is not on the X display"
        assert status["hotkeys"]["active"], f"global shortcuts did not register: {status['hotkeys']}"

        capture = subprocess.run([sys.executable, "-m", "desktop.cli", "capture", "--screen", "--json"],
                                 env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
        assert capture.returncode == 0, capture.stderr
        printed = json.loads(capture.stdout)
        # Lumen hides itself to capture: the bare X root is black, and is named, not captioned.
        assert printed["image"] == "screen" and (printed["kind"], printed["task"]) == ("blank", "none")
        assert printed["caption"] == "The screen is black."
        status = _wait_for(env, lambda s: s["results"] == 1, "the capture's result in the window")
        last = dict(status["last"])
        last.pop("text")
        assert last == printed  # the running instance described it, and printed its result

        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+alt+shift+d"], env=env, check=True)
        status = _wait_for(env, lambda s: s["results"] == 2, "a description from Ctrl+Alt+Shift+D", timeout=60)
        assert status["last"]["image"] == "screen" and status["visible"]

        _capture_window_and_region(env, tiny_florence2_onnx)

        OUTPUT.mkdir(exist_ok=True)
        shot = OUTPUT / "main-window-xvfb.png"
        shot.unlink(missing_ok=True)
        code = ("import json, sys; from desktop.capture.single_instance import send; "
                "print(json.dumps(send({'cmd': 'screenshot', 'path': sys.argv[1]})))")
        saved = subprocess.run([sys.executable, "-c", code, str(shot)], env=env, capture_output=True, text=True)
        assert json.loads(saved.stdout)["ok"] and shot.stat().st_size > 10_000

        quit_code = "from desktop.capture.single_instance import send; send({'cmd': 'quit'})"
        subprocess.run([sys.executable, "-c", quit_code], env=env, timeout=60)
        assert app.wait(30) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        log.close()
        print((tmp_path / "lumen.log").read_text())
