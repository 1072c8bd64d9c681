"""A real screen reader for tests: Orca with speech-dispatcher's dummy voice, on its own X display,
D-Bus session bus and AT-SPI bus, so nothing leaks to or from the desktop running the tests.

What Orca would say is read from its debug log; what reaches speech-dispatcher from other
clients (Lumen's own SSIP client) is read from speech-dispatcher's log. Orca buffers its debug
file, so it writes to a pseudo-terminal under `script -q -f` and lines arrive as they happen.
Orca refuses to start while another `orca` runs: tests that use it must not run in parallel.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

TOOLS = {"Xvfb": "xvfb", "orca": "orca", "speech-dispatcher": "speech-dispatcher",
         "dbus-daemon": "dbus-daemon", "script": "bsdutils", "xdpyinfo": "x11-utils"}
BUS_LAUNCHER = Path("/usr/libexec/at-spi-bus-launcher")
SD_DUMMY = Path("/usr/lib/speech-dispatcher-modules/sd_dummy")
# Orca's debug lines for speech: `SPEECH OUTPUT: 'text'` (one per utterance it sends).
SPOKEN = re.compile(r"SPEECH OUTPUT: '(.*)'(?:\{.*\})?$", re.MULTILINE)
# speech-dispatcher at log level 5 logs each message a client hands it:
# `[Fri Nov 27 09:51:28 2026 : 170278] speechd:     Queueing message |text| with priority 2`.
QUEUED = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4} : \d+)\] speechd: +Queueing message \|(.*?)\| with priority",
                    re.MULTILINE | re.DOTALL)


def _speechd_time(stamp: str) -> float:
    day, micro = stamp.rsplit(" : ", 1)
    return datetime.strptime(" ".join(day.split()), "%a %b %d %H:%M:%S %Y").timestamp() + int(micro) / 1e6


def missing_tools() -> list[str]:
    """Debian packages to install for this harness (empty when all are present)."""
    need = {pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)}
    if not BUS_LAUNCHER.exists():
        need.add("at-spi2-core")
    if not SD_DUMMY.exists():
        need.add("speech-dispatcher")
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import pyatspi, speechd"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        need.add("python3-pyatspi")
    return sorted(need)


def _orca_running() -> bool:
    """A live `orca` process (a zombie waiting to be reaped does not count)."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "orca":
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X"):
                    return True
        except (OSError, IndexError):
            continue
    return False


def _orca_turn() -> Any:
    """One Orca at a time among the test processes (`make test` runs several): `orca --replace`
    stops every other Orca of the user. The lock is held until the file is closed."""
    import fcntl

    turn = open(Path(tempfile.gettempdir()) / f".lumen-test-orca-{os.getuid()}.lock", "w")
    fcntl.flock(turn, fcntl.LOCK_EX)
    return turn


def _wait_for_no_orca(timeout: float = 20.0) -> bool:
    """The previous module's Orca may still be exiting: give it a moment."""
    deadline = time.monotonic() + timeout
    while _orca_running():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@dataclass
class OrcaSession:
    """Start with `start()`, stop with `stop()`; `env` runs an application inside the session."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _server: Any = None  # the XServer (export/benchmark/latency_session.py)
    _turn: Any = None  # the open lock file while this session's Orca runs

    @property
    def orca_log(self) -> Path:
        return self.root / "orca.log"

    @property
    def speechd_log_dir(self) -> Path:
        return self.root / "speechd-log"

    @property
    def speechd_socket(self) -> Path:
        return self.root / "runtime" / "speech-dispatcher" / "speechd.sock"

    def start(self, timeout: float = 60.0, with_orca: bool = True) -> OrcaSession:
        """The whole session; `with_orca=False`: speech-dispatcher alone (no display, no Orca)."""
        if with_orca:
            self._turn = _orca_turn()
        if with_orca and not _wait_for_no_orca():
            raise RuntimeError("another orca process is running; Orca refuses to start beside it")
        runtime, home, prefs = self.root / "runtime", self.root / "home", self.root / "orca-prefs"
        for d in (runtime, home, prefs, self.speechd_log_dir, home / ".config" / "speech-dispatcher"):
            d.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        (home / ".config" / "speech-dispatcher" / "speechd.conf").write_text(
            'LogLevel 5\nLogDir "{}"\nAddModule "dummy" "sd_dummy" ""\nDefaultModule dummy\n'
            # No sound device here: ALSA's null device takes the dummy voice's audio.
            'AudioOutputMethod "alsa"\nAudioALSADevice "null"\n'
            'SymbolsPreproc "char"\nSymbolsPreprocFile "symbols.dic"\n'.format(self.speechd_log_dir))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DBUS_", "AT_SPI", "SPEECHD_", "WAYLAND", "XDG_SESSION"))}
        env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_DATA_HOME=str(home / ".local" / "share"), XDG_CACHE_HOME=str(home / ".cache"),
                   NO_AT_BRIDGE="0", GTK_MODULES="gail:atk-bridge", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1",
                   QT_ACCESSIBILITY="1", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        if with_orca:
            self._start_desktop(env, timeout)
        self._spawn(["speech-dispatcher", "--run-single", "--timeout", "0", "--log-level", "5",
                     "--log-dir", str(self.speechd_log_dir)], env)
        self._wait(self.speechd_socket.exists, timeout, "speech-dispatcher's socket")
        self.env = env
        if not with_orca:
            return self
        orca = f"orca --replace -u {prefs} --debug-file=/dev/stdout"
        self._spawn(["script", "-q", "-f", "-e", "-c", orca, str(self.orca_log)], env,
                    stdout=subprocess.DEVNULL)
        self.wait_for_log(lambda text: "SPEECH OUTPUT: 'Screen reader on.'" in text, timeout,
                          "Orca to start and say 'Screen reader on.'")
        return self

    def _start_desktop(self, env: dict[str, str], timeout: float) -> None:
        """An X display, a private session bus and the AT-SPI bus on it."""
        from export.benchmark.latency_session import XServer

        self._server = XServer(env=env)
        env["DISPLAY"] = self._server.display
        self._wait(lambda: subprocess.run(["xdpyinfo"], env=env, capture_output=True).returncode == 0,
                   timeout, "Xvfb to start")
        bus = self._spawn(["dbus-daemon", "--session", "--nofork", "--print-address"], env,
                          stdout=subprocess.PIPE)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()  # type: ignore[union-attr]
        self._spawn([str(BUS_LAUNCHER), "--launch-immediately"], env)

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self._procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self._procs.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._turn is not None:
            self._turn.close()  # the next test process's Orca may start
            self._turn = None

    # ----- reading what was said -----
    def log_text(self) -> str:
        try:
            return self.orca_log.read_text(errors="replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def spoken(self, since: int = 0) -> list[str]:
        """What Orca sent to speech, in order, from character `since` of its log."""
        return SPOKEN.findall(self.log_text()[since:])

    def speechd_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.speechd_log_dir.glob("*.log")))

    def queued(self, since: float = 0.0) -> list[tuple[float, str]]:
        """(time, text) of every message speech-dispatcher took to speak (from Orca or any other
        client, Lumen's own SSIP client included) at or after `since` (time.time() clock)."""
        found = []
        for stamp, text in QUEUED.findall(self.speechd_text()):
            when = _speechd_time(stamp)
            if when >= since:
                found.append((when, text))
        return found

    def app_events(self, app: str, kinds: tuple[str, ...], since: int = 0, name: str = "") -> list[str]:
        """Accessibility events Orca received from application `app` (from its object `name`, if
        given) after log position `since`."""
        pattern = re.compile(r"EVENT MANAGER: (%s)\S* for \[[^]|]*\| %s[^]]*\] in \[application \| %s\]" % (
            "|".join(re.escape(k) for k in kinds), re.escape(name), re.escape(app)))
        return [m.group(0) for m in pattern.finditer(self.log_text()[since:])]

    def mark(self) -> int:
        return len(self.log_text())

    def wait_for_log(self, check, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            if check(text):
                return text
            time.sleep(0.1)
        tail = "\n".join(self.log_text().splitlines()[-60:])
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; Orca's log ends:\n{tail}")

    # ----- internals -----
    def _spawn(self, argv: list[str], env: dict, stdout=subprocess.DEVNULL) -> subprocess.Popen:
        proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs.append(proc)
        return proc

    def _wait(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)
