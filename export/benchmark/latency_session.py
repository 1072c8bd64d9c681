"""The real app on a private X server, driven as a user would: for `lumen bench --latency`.

`XServer` starts Xvfb on a display of its own; `AppSession` starts `lumen --model DIR` there with its
own settings, data, instance socket and trace file, presses keys with xdotool and reads the
trace (services/latency_trace.py). Nothing here touches the user's own session or settings.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from models.errors import LumenError
from models.exit_status import ExitStatus
from services import latency_trace

ROOT = Path(__file__).resolve().parents[2]
# Lumen's voice is played by a real player process; ALSA's null device needs no sound card.
NULL_PLAYER = "aplay -q -D null {path}"


class LatencyError(LumenError):
    """The app could not be started or driven on the virtual display."""

    exit_code = ExitStatus.FAILED


def missing_tools() -> list[str]:
    return [t for t in ("Xvfb", "xdotool", "xdpyinfo", "aplay") if shutil.which(t) is None]


class XServer:
    """Xvfb on a display number it picks itself (`-displayfd`: two servers started at once never
    take the same one). The RECORD extension is on: pynput's global shortcuts listen through it."""

    def __init__(self, size: str = "1280x900x24", extra: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 timeout: float = 30.0) -> None:
        read, write = os.pipe()
        try:
            self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp",
                                          "+extension", "RECORD", *extra],
                                         pass_fds=(write,), env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        except OSError as e:
            os.close(read)
            raise LatencyError(f"Xvfb would not start ({e}); check that the xvfb package is installed") from e
        finally:
            os.close(write)
        number = _read_line(read, timeout)
        if not number.isdigit():
            self.close()
            raise LatencyError("Xvfb would not start; check that the xvfb package is installed")
        self.display = f":{number}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _read_line(fd: int, timeout: float) -> str:
    """The first line written to `fd` (closed here), or "" after `timeout` or at its end."""
    import select

    data = b""
    deadline = time.monotonic() + timeout
    with os.fdopen(fd, "rb", buffering=0) as f:
        while b"\n" not in data and time.monotonic() < deadline:
            if select.select([f], [], [], max(0.0, deadline - time.monotonic()))[0]:
                chunk = f.read(64)
                if not chunk:
                    break
                data += chunk
    return data.decode(errors="replace").strip()


class AppSession:
    """One `lumen --model DIR` window on `display`, with private folders under `work`."""

    def __init__(self, model: Path, display: str, work: Path, settings: dict[str, str],
                 hotkeys: dict[str, str] | None = None, log: Callable[[str], Any] = print) -> None:
        hotkeys = hotkeys or {}
        self.work, self.log = work, log
        config = work / "config"
        config.mkdir(parents=True, exist_ok=True)
        ini = "[General]\n" + "".join(f"{k}={v}\n" for k, v in settings.items())
        ini += "[hotkeys]\n" + "".join(f"{k}={v}\n" for k, v in hotkeys.items())
        (config / "lumen.ini").write_text(ini)
        self.trace = work / "trace.jsonl"
        self.trace.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", LUMEN_CONFIG_DIR=str(config),
                   LUMEN_DATA_DIR=str(work / "data"), LUMEN_INSTANCE=str(work / "lumen.sock"),
                   LUMEN_MODELS_DIR=str(work / "models"), XDG_CONFIG_HOME=str(work / "xdg"),
                   LUMEN_SCREEN_READER="none", LUMEN_AUDIO_PLAYER=NULL_PLAYER,
                   **{latency_trace.ENV: str(self.trace)})
        env.setdefault("XDG_CACHE_HOME", str(work / "cache"))  # keep the user's optimised graphs
        self.env = env
        self._out = (work / "lumen.log").open("w")
        # Under the window: a picture that changes before every capture (desktop/window/bench_backdrop.py).
        self.backdrop = subprocess.Popen([sys.executable, "-m", "desktop.window.bench_backdrop"], env=env, cwd=ROOT,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._out,
                                         text=True)
        self._backdrop_ready()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "desktop", "--model", str(model)], env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT, cwd=ROOT)

    def _backdrop_ready(self) -> None:
        line = self.backdrop.stdout.readline() if self.backdrop.stdout else ""
        if line.strip() != "ok":
            raise LatencyError(f"the backdrop picture did not show: {self.output()[-400:]}")

    def next_picture(self, text: bool = False) -> None:
        """A new picture on the screen (a photo, or with `text` a screen of prose), painted
        before this returns."""
        assert self.backdrop.stdin is not None
        self.backdrop.stdin.write("text\n" if text else "next\n")
        self.backdrop.stdin.flush()
        self._backdrop_ready()

    # ----- talking to it -----
    def request(self, request: dict[str, Any], timeout: float = 60.0) -> dict[str, Any] | None:
        code = ("import json, sys; from desktop.capture.single_instance import send; "
                "print(json.dumps(send(json.loads(sys.argv[1]))))")
        out = subprocess.run([sys.executable, "-c", code, json.dumps(request)], env=self.env, cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout)
        try:
            return json.loads(out.stdout) if out.returncode == 0 else None
        except ValueError:
            return None

    def wait_settled(self, returns_before: int = -1, timeout: float = 120.0) -> bool:
        """Until the window's workers are idle and it has given free memory back after them (a
        return counted past `returns_before`); False when `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.request({"cmd": "status"}) or {}
            if status.get("memory_returns", 0) > returns_before and status.get("settling") is False:
                return True
            time.sleep(0.05)
        return False

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Until the window shows, the model and the text reader are loaded and warmed and the
        shortcuts listen."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LatencyError(f"the app exited ({self.proc.returncode}): {self.output()[-400:]}")
            status = self.request({"cmd": "status"}, timeout=30)
            warmed = any(e["event"] == "warm_up_reader" for e in self.events())
            if status and status.get("model") == "ready" and status.get("visible") and warmed:
                if not status["hotkeys"]["active"]:
                    raise LatencyError(f"global shortcuts did not start: {status['hotkeys']['reason']}")
                return status
            if status and status.get("model") == "failed":
                raise LatencyError(f"the model did not load: {status.get('error') or self.output()[-400:]}")
            time.sleep(0.3)
        raise LatencyError(f"the app was not ready after {timeout:.0f} s; last status: {status}")

    def xdotool(self, *args: str) -> float:
        """Run xdotool; returns the monotonic time just before it started (the press is later)."""
        t = time.monotonic()
        subprocess.run(["xdotool", *args], env=self.env, check=True, capture_output=True, timeout=30)
        return t

    def focus_window(self) -> None:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Lumen$"], env=self.env,
                               capture_output=True, text=True, timeout=30)
        ids = found.stdout.split()
        if not ids:
            raise LatencyError("the Lumen window is not on the virtual display")
        subprocess.run(["xdotool", "windowfocus", "--sync", ids[0]], env=self.env, capture_output=True,
                       timeout=30)

    def capture_command(self) -> tuple[float, subprocess.Popen]:
        """`lumen capture --screen` from a fresh process, as a desktop's own shortcut runs it."""
        t = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "desktop", "capture", "--screen"], env=self.env,
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return t, proc

    def events(self) -> list[dict[str, Any]]:
        return latency_trace.read(self.trace)

    def wait_for(self, since: float, done: Callable[[list[dict[str, Any]]], bool],
                 timeout: float) -> list[dict[str, Any]]:
        """The trace events after `since`, once `done` says they are complete."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LatencyError(f"the app exited ({self.proc.returncode}): {self.output()[-400:]}")
            after = [e for e in self.events() if e["t"] >= since]
            if done(after):
                return after
            time.sleep(0.05)
        raise LatencyError(f"no spoken result within {timeout:.0f} s; events: "
                           f"{[e['event'] for e in self.events() if e['t'] >= since]}")

    def output(self) -> str:
        self._out.flush()
        return (self.work / "lumen.log").read_text(errors="replace")

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.request({"cmd": "quit"}, timeout=30)
                self.proc.wait(30)
        except (subprocess.TimeoutExpired, OSError):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            if self.backdrop.poll() is None:
                self.backdrop.kill()
                self.backdrop.wait(10)
            self._out.close()
