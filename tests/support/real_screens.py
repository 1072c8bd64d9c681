"""Screenshots of real programs on a private X server (Xvfb), for the picture-kind check.

Each program (a terminal, a GTK dialog, a text editor, a browser page, Lumen's own window, a
picture viewer showing a photograph) starts on its own Xvfb, all side by side; once its window is
mapped and painted the screen is grabbed the way an X11 screenshot is taken (Pillow's ImageGrab
over XCB: the root window's pixels, what Qt's grabWindow(0) reads too), whole and cropped to the
window (Lumen's "describe the window").
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageGrab

from export.benchmark.latency_session import XServer

ROOT = Path(__file__).resolve().parents[2]
SIZE = (1280, 800)
# What every program shows: ordinary prose, as a user's screen would.
PROSE = ("The quarterly report is due on Friday. Please review the figures in section three,\n"
         "check the spelling of every heading, and send your comments to the whole team before\n"
         "noon. The meeting on Thursday moves to room 214; bring the printed agenda with you.\n")
PAGE = """<!DOCTYPE html><html><head><title>Train timetable</title></head><body>
<h1>Changes to the weekend timetable</h1>
<p>From Saturday the first train leaves the central station at 6:15 instead of 5:45. Trains run
every twenty minutes until midnight; after that, night buses replace them on every line.</p>
<h2>Tickets</h2>
<ul><li>Day tickets are valid on buses and trains.</li><li>Children under six travel free.</li>
<li>Season tickets bought before May stay valid until they expire.</li></ul>
<p>Questions? Ask at any ticket office or call the help line, open every day from 7 to 22.</p>
</body></html>"""


TOOLS = ("Xvfb", "xdotool", "xterm", "yad", "mousepad", "dillo")
INSTALL = "sudo apt-get install xvfb xdotool xterm yad mousepad dillo (packaging/system-packages.txt)"


@dataclass(frozen=True)
class Program:
    name: str
    command: list[str]
    title: str  # a regular expression xdotool finds the window by
    kind: str  # what the picture-kind check must answer for it


def programs(work: Path, photo: Path) -> list[Program]:
    """The programs to photograph; `photo` is a photograph the picture viewer shows."""
    text = work / "notes.txt"
    text.write_text(PROSE * 3)
    page = work / "timetable.html"
    page.write_text(PAGE)
    listing = f"printf '%s' {PROSE!r}; ls -l /usr/bin | head -30; sleep 600"
    return [
        Program("terminal (xterm)", ["xterm", "-geometry", "110x36+0+0", "-fa", "DejaVu Sans Mono", "-fs", "11",
                                     "-T", "terminal", "-e", "sh", "-c", listing], "^terminal$", "text"),
        Program("GTK dialog (yad)", ["yad", "--title=Save changes", "--width=460", "--center",
                                     "--text=Save changes to the document before closing?\n\n"
                                     "If you do not save, your changes will be lost.",
                                     "--button=Close without saving:1", "--button=Cancel:2",
                                     "--button=Save:0"], "^Save changes$", "text"),
        Program("text editor (mousepad)", ["mousepad", "--disable-server", str(text)], "notes", "text"),
        Program("browser page (dillo)", ["dillo", "-g", "1100x760+0+0", str(page)], "timetable", "text"),
        Program("Lumen's window", [sys.executable, "-m", "desktop"], "^Lumen$", "text"),
        Program("picture viewer (yad)", ["yad", "--title=Photo", "--picture", f"--filename={photo}",
                                         "--size=fit", "--width=1200", "--height=780", "--no-buttons"],
                "^Photo$", "photo"),
    ]


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


class ProgramScreen:
    """One program alone on its own Xvfb (the programs of a test start side by side)."""

    def __init__(self, program: Program, work: Path) -> None:
        self.program = program
        # A desktop's usual plain background (-br: black), not the server's stipple.
        self.server = XServer(f"{SIZE[0]}x{SIZE[1]}x24", extra=("-br",))
        self.display = self.server.display
        home = work / f"home{self.display[1:]}"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb", HOME=str(home),
                   XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                   XDG_CACHE_HOME=str(home / "cache"), LUMEN_CONFIG_DIR=str(home / "lumen-config"),
                   LUMEN_DATA_DIR=str(home / "lumen-data"), LUMEN_MODELS_DIR=str(home / "models"),
                   LUMEN_INSTANCE=str(home / "lumen.sock"), LUMEN_SCREEN_READER="none", NO_AT_BRIDGE="1")
        self.env = env
        self.proc: subprocess.Popen | None = None
        deadline = time.monotonic() + 30
        while subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode:
            if time.monotonic() > deadline or self.server.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"Xvfb would not start on {self.display}")
            time.sleep(0.1)
        self.proc = subprocess.Popen(program.command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def shot(self, timeout: float = 180.0) -> tuple[Image.Image, Image.Image]:
        """(the whole screen, the program's window) once its window shows and has settled."""
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", self.program.title],
                               env=self.env, capture_output=True, text=True, timeout=timeout).stdout.split()
        if not found:
            raise RuntimeError(f"{self.program.name} showed no window")
        geometry = dict(line.split("=") for line in subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", found[0]], env=self.env, capture_output=True,
            text=True, timeout=30).stdout.split())
        screen = self._settled(timeout)
        x, y, w, h = (int(geometry[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
        return screen, screen.crop((max(0, x), max(0, y), min(SIZE[0], x + w), min(SIZE[1], y + h)))

    def _settled(self, timeout: float) -> Image.Image:
        """The screen once two grabs a moment apart are the same (the program has painted)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            grabbed = ImageGrab.grab(xdisplay=self.display).convert("RGB")
            if last is not None and grabbed.tobytes() == last.tobytes() and grabbed.getbbox():
                return grabbed
            last = grabbed
            time.sleep(0.5)
        raise TimeoutError(f"{self.program.name}: the screen kept changing")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(30)
        self.server.close()
