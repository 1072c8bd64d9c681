"""The speech engine in a process of its own, so that a crash of eSpeak NG cannot take Lumen with it.

eSpeak NG 1.51 (Debian 12's) reads past the end of its buffers on some texts: valgrind shows
invalid reads in `memmove` under `espeak_ng_Synthesize` for a caption made of Florence-2
location tokens (45 against 5 for a plain sentence) and for an ordinary sentence holding a
400-character hash (23). When such a read crosses into an unmapped page the process dies: the
window did, twice, during long runs of captures (SIGSEGV in libc's memmove at the moment
synthesis started). On Linux, where eSpeak NG is the engine, Lumen therefore synthesises
through a child process (`IsolatedEngine`): one JSON line per request, one back. When the
child dies, that utterance fails with a message saying so, and the next one starts a new child.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from services.errors import SpeechError
from services.speech_engine import (ENGINE_TIMEOUT_S, SpeechEngine, SpeechSettings, Voice, engine_result,
                                    missing_engine_reason)
from services.worker import SerialWorker

CHILD_ENV = "LUMEN_SPEECH_CHILD"  # set for the child: the bundled `lumen` serves speech instead
CRASHED = ("The voice stopped while saying this text (eSpeak NG failed on it, and Lumen restarted "
           "it); the result is in the window and the next text will be spoken.")


def child_command() -> list[str]:
    """How to start the child: this Python running this module, or the bundled executable
    (which checks CHILD_ENV first, desktop/__main__.py)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "services.speech_child"]


class IsolatedEngine:
    """SpeechEngine's interface, served by a child process. Every public method is safe from
    any thread: requests go one at a time through a serial worker."""

    def __init__(self, driver: str | None = None) -> None:
        self._driver = driver
        self._worker = SerialWorker("lumen-speech-engine")
        self._child: subprocess.Popen[str] | None = None
        self._child_lock = threading.Lock()  # the caller may kill a child that stopped answering
        self._state: dict[str, Any] | None = None
        self.starts = 0  # children started (tests read it)

    @property
    def child_pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def _run(self, payload: dict[str, Any], timeout: float = ENGINE_TIMEOUT_S) -> dict[str, Any]:
        job = self._worker.submit(lambda job: self._request(payload), name="speech engine")
        # Stopping the child ends the worker's read, and the next request starts a new child.
        return engine_result(job, timeout, "The speech engine stopped responding; Lumen restarted it.",
                             on_stall=self._stop)

    def _start(self) -> subprocess.Popen[str]:
        with self._child_lock:
            if self._child is None or self._child.poll() is not None:
                env = dict(os.environ, **{CHILD_ENV: "1"})
                if self._driver:
                    env["LUMEN_SPEECH_DRIVER"] = self._driver
                self._child = subprocess.Popen(child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               env=env, text=True, encoding="utf-8", bufsize=1)
                self._state = None
                self.starts += 1
            return self._child

    def _stop(self) -> None:
        with self._child_lock:
            child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()

    def _request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Runs on the worker: one request to the child, started when needed."""
        try:
            child = self._start()
        except OSError as exc:
            return {"reason": missing_engine_reason(exc)} if payload["op"] == "state" else {"error": str(exc)}
        try:
            child.stdin.write(json.dumps(payload) + "\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
            line = child.stdout.readline()  # type: ignore[union-attr]
        except (OSError, ValueError):  # the child is gone (or was killed by _stop)
            line = ""
        if not line:
            self._stop()
            return {"error": CRASHED}
        return json.loads(line)

    def _engine_state(self) -> dict[str, Any]:
        state = self._state
        if state is None or self.child_pid is None:
            state = self._run({"op": "state"})
            if "error" in state:  # the child died answering: once more with a new one
                state = self._run({"op": "state"})
            if "error" in state:
                state = {"reason": state["error"]}
            self._state = state
        return state

    @property
    def unavailable_reason(self) -> str | None:
        return self._engine_state().get("reason")

    def default_voice(self) -> str | None:
        return self._engine_state().get("default_voice")

    def voices(self) -> list[Voice]:
        return [Voice(v["id"], v["name"], tuple(v["languages"]), v["gender"])
                for v in self._engine_state().get("voices", [])]

    def synthesize(self, text: str, path: Path, settings: SpeechSettings) -> Path:
        reply = self._run({"op": "synthesize", "text": text, "path": str(path),
                           "settings": dataclasses.asdict(settings)})
        if "error" in reply:
            raise SpeechError(reply["error"])
        return Path(path)

    def close(self) -> None:
        self._worker.shutdown(0, cancel_running=False)
        self._stop()


_shared: SpeechEngine | IsolatedEngine | None = None
_shared_lock = threading.Lock()


def shared_engine() -> SpeechEngine | IsolatedEngine:
    """The process's single speech engine (created on first use): in a child process on Linux,
    where it is eSpeak NG (unless LUMEN_SPEECH_ISOLATED=0), in this one elsewhere."""
    global _shared
    with _shared_lock:
        if _shared is None:
            driver = os.environ.get("LUMEN_SPEECH_DRIVER") or None
            isolated = sys.platform.startswith("linux") and os.environ.get("LUMEN_SPEECH_ISOLATED", "1") != "0"
            _shared = IsolatedEngine(driver) if isolated else SpeechEngine(driver)
        return _shared


def serve(requests: IO[str], replies: IO[str], driver: str | None) -> None:
    """The child's loop: a SpeechEngine answering one JSON request per line until EOF."""
    engine = SpeechEngine(driver)
    for line in requests:
        request = json.loads(line)
        try:
            if request["op"] == "state":
                reason = engine.unavailable_reason
                reply: dict[str, Any] = {"reason": reason}
                if reason is None:
                    reply.update(default_voice=engine.default_voice(),
                                 voices=[dataclasses.asdict(v) for v in engine.voices()])
            else:
                engine.synthesize(request["text"], Path(request["path"]), SpeechSettings(**request["settings"]))
                reply = {"ok": True}
        except SpeechError as exc:
            reply = {"error": str(exc)}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    engine.close()


def main() -> None:
    # The replies keep their own copy of stdout; anything the engine's libraries print goes to
    # stderr instead of into the replies.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin, replies, os.environ.get("LUMEN_SPEECH_DRIVER") or None)


if __name__ == "__main__":
    main()
