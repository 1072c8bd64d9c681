"""The one thread that owns the pyttsx3 engine: voices, and synthesis into audio files.

pyttsx3 hangs when two threads drive it, and its espeak driver initialises eSpeak NG once per
process, so every engine call in the process runs on a single worker thread (on Linux that
process is a child of Lumen's: services/speech_child.py, `shared_engine`).
Playback is not done here: pyttsx3's own playback on Linux blocks inside the synthesis
callback (`os.system("aplay ...")`) and cannot be interrupted, so we only synthesise to a file
and `services.audio_player` plays it in a process that can be killed at once.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from services.errors import SpeechError
from services.worker import SerialWorker

T = TypeVar("T")

# Synthesis runs far faster than real time; this only catches an engine that stopped answering.
ENGINE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Voice:
    """One voice of the engine; `languages` are lower-case tags such as "en-gb" or "ru"."""

    id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None

    @property
    def language(self) -> str:
        return self.languages[0] if self.languages else ""

    def speaks(self, language: str) -> bool:
        """True when one of the voice's languages has the primary subtag of `language`."""
        primary = _primary(language)
        return any(_primary(tag) == primary for tag in self.languages)


@dataclass(frozen=True)
class SpeechSettings:
    """What the user chose. voice None: the engine's default voice. rate in words per minute."""

    voice: str | None = None
    rate: int = 175
    volume: float = 1.0

    def __post_init__(self) -> None:
        if not 50 <= self.rate <= 500:
            raise ValueError("rate must be between 50 and 500 words per minute")
        if not 0.0 <= self.volume <= 1.0:
            raise ValueError("volume must be between 0.0 and 1.0")


@dataclass
class _EngineState:
    engine: Any = None
    reason: str | None = None
    default_voice: str | None = None
    voices: list[Voice] = field(default_factory=list)


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def missing_engine_reason(error: BaseException | None = None) -> str:
    """One sentence saying what to install for speech on this platform."""
    if sys.platform.startswith("linux"):
        return ("Speech needs eSpeak NG: install the espeak-ng package "
                "(for example `sudo apt install espeak-ng`).")
    if sys.platform == "darwin":
        return "Speech needs macOS's speech synthesiser through pyobjc: reinstall Lumen."
    if sys.platform == "win32":
        return ("Speech needs the Windows speech service (SAPI5) and comtypes: "
                "reinstall Lumen or enable Windows speech.")
    return f"No speech engine is available on this system ({error})."


def audio_suffix() -> str:
    """The format the platform engine writes: macOS's NSSpeechSynthesizer only writes AIFF."""
    return ".aiff" if sys.platform == "darwin" else ".wav"


class SpeechEngine:
    """pyttsx3 on its own serial worker. Every public method is safe from any thread."""

    def __init__(self, driver: str | None = None) -> None:
        self._driver = driver
        self._worker = SerialWorker("lumen-speech-engine")
        self._state: _EngineState | None = None

    def _run(self, fn: Callable[[_EngineState], T], timeout: float = ENGINE_TIMEOUT_S) -> T:
        job = self._worker.submit(lambda job: fn(self._ensure()), name="speech engine")
        return engine_result(job, timeout, "The speech engine stopped responding: restart Lumen.")

    def _ensure(self) -> _EngineState:
        """Runs on the engine thread: start pyttsx3 once, remembering why it failed."""
        if self._state is not None:
            return self._state
        state = _EngineState()
        try:
            import pyttsx3

            engine = pyttsx3.init(self._driver)
            _silence_driver_prints(engine)
            state.engine = engine
            state.default_voice = engine.getProperty("voice")
            state.voices = [_voice_of(v) for v in engine.getProperty("voices")]
        except Exception as exc:  # a missing library shows up as OSError, RuntimeError, ...
            state.engine = None
            state.reason = missing_engine_reason(exc)
        self._state = state
        return state

    @property
    def unavailable_reason(self) -> str | None:
        """None when the engine works, else one sentence saying what to install."""
        return self._run(lambda s: s.reason)

    def default_voice(self) -> str | None:
        return self._run(lambda s: s.default_voice)

    def voices(self) -> list[Voice]:
        return self._run(lambda s: list(s.voices))

    def synthesize(self, text: str, path: Path, settings: SpeechSettings) -> Path:
        """Write `text` spoken with `settings` to `path` (format: `audio_suffix()`)."""
        return self._run(lambda s: self._synthesize(s, text, Path(path), settings))

    def _synthesize(self, state: _EngineState, text: str, path: Path, settings: SpeechSettings) -> Path:
        if state.engine is None:
            raise SpeechError(state.reason or missing_engine_reason())
        engine = state.engine
        for _attempt in range(2):  # a second try covers a driver left in a bad state
            path.unlink(missing_ok=True)
            try:
                engine.setProperty("voice", settings.voice or state.default_voice)
                engine.setProperty("rate", settings.rate)
                engine.setProperty("volume", settings.volume)
                _settle_espeak(engine)
                engine.save_to_file(text, str(path))
                engine.runAndWait()
            except Exception as exc:
                raise SpeechError(f"The speech engine failed ({exc}): try another voice.") from exc
            # A WAV header alone is 44 bytes: anything that small holds no speech.
            if path.is_file() and path.stat().st_size > 44:
                return path
        raise SpeechError("The speech engine produced no audio: try another voice.")

    def close(self) -> None:
        self._worker.shutdown(0, cancel_running=False)


def _voice_of(v: Any) -> Voice:
    languages = []
    for tag in getattr(v, "languages", None) or []:
        if isinstance(tag, bytes):
            tag = tag.decode("utf-8", "ignore")
        tag = str(tag).strip().lower().replace("_", "-")
        if tag and tag != "unknown":
            languages.append(tag)
    gender = getattr(v, "gender", None)
    return Voice(str(v.id), str(getattr(v, "name", "") or v.id), tuple(languages),
                 str(gender) if gender else None)


def _settle_espeak(engine: Any) -> None:
    """Let eSpeak NG finish its command queue before pyttsx3 runs.

    In the asynchronous mode pyttsx3 uses, eSpeak queues parameter changes, and
    `runAndWait` begins with `stop()`, which calls `espeak_Cancel` while anything is queued:
    that drops the queued rate/volume and restores the previous ones. It also leaves the
    driver's `_stopping` flag set when it races eSpeak's thread, which cancels the next
    synthesis (no file is written). So wait until eSpeak is idle and clear the flag.
    """
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    espeak = sys.modules.get("pyttsx3.drivers._espeak")
    if driver is None or espeak is None or not hasattr(driver, "_stopping"):
        return
    deadline = time.monotonic() + 2.0
    while espeak.IsPlaying() and time.monotonic() < deadline:
        time.sleep(0.001)
    driver._stopping = False


def _silence_driver_prints(engine: Any) -> None:
    """pyttsx3's espeak driver prints "Audio saved to ..." on stdout, which would corrupt
    `lumen describe --json`; shadow `print` in that driver module only (thread-safe, unlike
    redirecting sys.stdout)."""
    module = getattr(getattr(engine, "proxy", None), "_module", None)
    if module is not None and getattr(module, "__name__", "").endswith(".espeak"):
        module.print = lambda *args, **kwargs: None


def engine_result(job: Any, timeout: float, stalled: str, on_stall: Callable[[], None] | None = None) -> Any:
    """The engine worker's answer to `job`, or SpeechError(`stalled`) once `timeout` passes
    (after `on_stall`, which may unstick the worker) or when the engine was closed."""
    try:
        return job.result(timeout=timeout)
    except FutureTimeout:
        if on_stall is not None:
            on_stall()
        raise SpeechError(stalled) from None
    except FutureCancelled:
        raise SpeechError("The speech engine was closed: restart Lumen.") from None


def convert_to_wav(source: Path, target: Path) -> None:
    """macOS writes AIFF; `afconvert` (part of macOS) turns it into 16-bit PCM WAV."""
    afconvert = shutil.which("afconvert")
    if afconvert is None:
        raise SpeechError("Writing WAV files on macOS needs afconvert, which ships with macOS.")
    done = subprocess.run([afconvert, "-f", "WAVE", "-d", "LEI16", str(source), str(target)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SpeechError(f"Could not convert speech to WAV: {done.stderr.strip()}")
