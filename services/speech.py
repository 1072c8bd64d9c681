"""`Speaker`: speaks results, stops at once, repeats, and writes speech to WAV files.

    speaker = Speaker(SpeechSettings(rate=190), on_event=print)
    speaker.say("A dog on a sofa.")           # returns at once; new speech interrupts old
    speaker.say_more("It is asleep.")         # queued after it (sentence by sentence)
    speaker.stop()                             # silent within milliseconds
    speaker.save_wav("Un chien.", "out.wav", language="fr")
    speaker.close()

Each utterance is synthesised by the process's single pyttsx3 engine thread
(`services.speech_engine`) into a temporary file, then played by a player process
(`services.audio_player`) that Stop kills. A serial worker per Speaker (`services.worker`)
runs that pipeline in one lane, so
no call here blocks on audio except `wait()` and `save_wav()`. Nothing raises into the caller
except `save_wav` (SpeechError) and invalid settings (ValueError); failures while speaking
are reported through `last_error` and the `on_event` callback, which runs on the worker
thread (a GUI must hand it to its own thread). No Qt here.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import shutil
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from services import latency_trace
from services.audio_player import AudioPlayer, find_player
from services.errors import SpeechError
from services.speech_child import IsolatedEngine, shared_engine
from services.speech_engine import SpeechEngine, SpeechSettings, Voice, audio_suffix, convert_to_wav
from services.worker import Job, SerialWorker

__all__ = ["Speaker", "SpeechEvent", "SpeechSettings", "Voice"]

log = logging.getLogger(__name__)

EventKind = Literal["started", "finished", "stopped", "error"]


@dataclass(frozen=True)
class SpeechEvent:
    """started: audio began; finished: it ended; stopped: it was interrupted; error: message."""

    kind: EventKind
    text: str
    message: str = ""


SPEAK = "speak"  # the worker's one lane: say() supersedes it, say_more() queues in it, stop() empties it


class Speaker:
    """Speech for the window and the CLI; every method is safe from any thread."""

    def __init__(
        self,
        settings: SpeechSettings | None = None,
        *,
        player: AudioPlayer | None | Literal["auto"] = "auto",
        engine: SpeechEngine | IsolatedEngine | None = None,
        on_event: Callable[[SpeechEvent], None] | None = None,
    ) -> None:
        self._settings = settings or SpeechSettings()
        self._engine = engine or shared_engine()
        if player == "auto":
            self._player, self._player_reason = find_player()
        else:
            self._player = player
            self._player_reason = None if player else "No audio player is configured."
        self._on_event = on_event
        # Held while the lane changes and while a playback starts, so stop() cannot slip in between.
        self._lock = threading.Lock()
        self._last: tuple[str, str | None] | None = None
        self._last_error: str | None = None
        self._closed = False
        self._tmp = Path(tempfile.mkdtemp(prefix="lumen-speech-"))
        weakref.finalize(self, shutil.rmtree, self._tmp, True)  # also at exit without close()
        self._names = itertools.count()
        self._worker = SerialWorker("lumen-speech")

    # ---- availability -------------------------------------------------------------------

    @property
    def unavailable_reason(self) -> str | None:
        """None when `say` can be heard; else one sentence saying what to install."""
        return self._engine.unavailable_reason or self._player_reason

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def last_error(self) -> str | None:
        """The latest failure while speaking (e.g. no sound device), as one sentence."""
        return self._last_error

    # ---- settings -----------------------------------------------------------------------

    @property
    def settings(self) -> SpeechSettings:
        return self._settings

    @settings.setter
    def settings(self, value: SpeechSettings) -> None:
        self._settings = value

    @property
    def voice(self) -> str | None:
        return self._settings.voice

    @voice.setter
    def voice(self, voice_id: str | None) -> None:
        self._settings = dataclasses.replace(self._settings, voice=voice_id or None)

    @property
    def rate(self) -> int:
        return self._settings.rate

    @rate.setter
    def rate(self, words_per_minute: int) -> None:
        self._settings = dataclasses.replace(self._settings, rate=int(words_per_minute))

    @property
    def volume(self) -> float:
        return self._settings.volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._settings = dataclasses.replace(self._settings, volume=float(value))

    def set_voice(self, voice_id: str | None) -> None:
        self.voice = voice_id

    def voices(self) -> list[Voice]:
        """The engine's voices; empty when no engine is available."""
        try:
            return self._engine.voices()
        except SpeechError:
            return []

    def voice_for(self, language: str | None) -> str | None:
        """The voice to use: the chosen one, unless it cannot speak `language` and one can."""
        chosen = self._settings.voice or self._engine.default_voice()
        if not language:
            return chosen
        voices = self.voices()
        by_id = {v.id: v for v in voices}
        if chosen in by_id and by_id[chosen].speaks(language):
            return chosen
        tag = language.strip().lower().replace("_", "-")
        exact = [v for v in voices if tag in v.languages]
        close = [v for v in voices if v.speaks(tag)]
        match = (exact or close or [None])[0]
        return match.id if match else chosen

    # ---- speaking -----------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """True from `say` until its audio has ended, failed or been stopped."""
        return not self._worker.idle(SPEAK)

    def say(self, text: str, language: str | None = None) -> None:
        """Speak `text` (in `language`, e.g. "ru", choosing a matching voice), interrupting
        whatever is being said. Returns at once."""
        if self._closed or not text or not text.strip():
            return
        with self._lock:
            self._last = (text, language)
            self._worker.submit(self._utterance(text, language), lane=SPEAK, name="say")

    def say_more(self, text: str, language: str | None = None) -> None:
        """Speak `text` after what is being said now (the next sentence of the same result);
        Stop and the next `say` drop it too. Returns at once."""
        if self._closed or not text or not text.strip():
            return
        with self._lock:
            if self._worker.idle(SPEAK):  # nothing left to follow: a fresh start, alone
                self._last = (text, language)
            else:
                self._last = (f"{self._last[0]} {text}" if self._last else text, language)
            self._worker.submit(self._utterance(text, language), lane=SPEAK, replace=False, name="say more")

    def warm(self) -> None:
        """Start the engine and synthesise once (nothing is played), so the first result is
        not slowed by loading voices. Blocking: call it from a background thread."""
        try:
            self._engine.synthesize("Lumen.", self._tmp / f"warm{audio_suffix()}", self._settings)
        except (SpeechError, OSError) as exc:
            log.info("speech warm-up failed: %s", exc)

    def repeat(self) -> None:
        """Say the last text again."""
        if self._last is not None:
            self.say(*self._last)

    def stop(self) -> None:
        """Silence now and drop anything waiting to be said."""
        with self._lock:
            self._worker.cancel(SPEAK)  # its cancel hook kills the playing sound

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is being said; False if `timeout` ran out first."""
        return self._worker.wait_idle(SPEAK, timeout)

    def save_wav(self, text: str, path: str | Path, language: str | None = None) -> Path:
        """Write `text` as speech to a WAV file (16-bit mono). Raises SpeechError."""
        if not text or not text.strip():
            raise SpeechError("There is no text to speak.")
        path = Path(path)
        if not path.parent.is_dir():
            raise SpeechError(f"Cannot write {path}: the folder {path.parent} does not exist.")
        settings = dataclasses.replace(self._settings, voice=self.voice_for(language))
        raw = path.parent / f".{path.name}.{os.getpid()}{audio_suffix()}"
        try:
            self._engine.synthesize(text, raw, settings)
            if raw.suffix == ".wav":
                os.replace(raw, path)
            else:
                convert_to_wav(raw, path)
        except OSError as exc:
            raise SpeechError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        finally:
            raw.unlink(missing_ok=True)
        return path

    def close(self) -> None:
        """Stop speaking and end the worker; the Speaker cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        self._worker.shutdown(timeout=5)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- worker -------------------------------------------------------------------------

    def _utterance(self, text: str, language: str | None) -> Callable[[Job[None]], None]:
        def run(job: Job[None]) -> None:
            if self._closed or job.cancelled:
                return
            try:
                self._speak(job, text, language)
            except Exception as exc:  # never let speech end quietly: report and carry on
                log.exception("speech failed")
                self._report(SpeechEvent("error", text, f"Speech failed: {exc}"))
        return run

    def _speak(self, job: Job[None], text: str, language: str | None) -> None:
        if self._player is None:
            self._report(SpeechEvent("error", text, self.unavailable_reason or ""))
            return
        path = self._tmp / f"utterance-{next(self._names)}{audio_suffix()}"
        try:
            settings = dataclasses.replace(self._settings, voice=self.voice_for(language))
            latency_trace.mark("speech_synth_start", chars=len(text))
            self._engine.synthesize(text, path, settings)
            trim_leading_silence(path)  # eSpeak NG starts most utterances with ~0.1 s of silence
            silence = leading_silence_s(path) if latency_trace.enabled() else 0.0
            with self._lock:  # start under the lock so stop() cannot slip in between
                if self._closed or job.cancelled:
                    return
                playback = self._player.play(path)
                job.on_cancel(playback.stop)
            # The first audible sample plays `silence` seconds after the file is handed over.
            latency_trace.mark("speech_play", leading_silence_s=silence, text=text[:80])
            self._report(SpeechEvent("started", text))
            playback.wait()
            latency_trace.mark("speech_end", stopped=playback.stopped)  # overlap checks (tests)
            if playback.stopped:
                self._report(SpeechEvent("stopped", text))
            elif playback.error:
                self._report(SpeechEvent("error", text, playback.error))
            else:
                self._report(SpeechEvent("finished", text))
        except SpeechError as exc:
            self._report(SpeechEvent("error", text, str(exc)))
        except OSError as exc:  # the player could not start
            self._report(SpeechEvent("error", text, f"Could not start the audio player: {exc}."))
        finally:
            path.unlink(missing_ok=True)

    def _report(self, event: SpeechEvent) -> None:
        if event.kind == "error":
            self._last_error = event.message
            log.info("%s", event.message)  # callers show it (events, last_error): no echo
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("speech event handler failed")


SILENCE = 0.01  # of full scale: quieter samples are silence
KEEP_SILENCE_S = 0.02  # left before the first sound, so its onset is not clipped


def _read_wav(path: Path) -> tuple[Any, int, int] | None:
    """(16-bit samples, frame rate, channels), or None for anything but a 16-bit WAV."""
    import wave

    import numpy as np

    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                return None
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate(), w.getnchannels()
    except (OSError, EOFError, wave.Error):
        return None


def _first_sound(samples: Any, channels: int) -> int | None:
    """The frame of the first sample louder than SILENCE, or None when all are silent."""
    import numpy as np

    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE * 32767)
    return int(loud[0]) // max(1, channels) if loud.size else None


def leading_silence_s(path: Path) -> float:
    """Seconds before the first sound in a 16-bit WAV; 0.0 for anything else."""
    read = _read_wav(path)
    if read is None:
        return 0.0
    samples, rate, channels = read
    first = _first_sound(samples, channels)
    return first / rate if first is not None else 0.0


def trim_leading_silence(path: Path) -> None:
    """Cut a 16-bit WAV's leading silence down to KEEP_SILENCE_S: speech starts sooner."""
    import wave

    read = _read_wav(path)
    if read is None:
        return
    samples, rate, channels = read
    first = _first_sound(samples, channels)
    cut = (first or 0) - int(KEEP_SILENCE_S * rate)
    if first is None or cut <= 0:
        return
    try:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(samples[cut * channels:].tobytes())
    except OSError as exc:
        log.info("could not trim the silence of %s: %s", path, exc)


if __name__ == "__main__":  # pragma: no cover - manual check: python -m services.speech TEXT
    with Speaker(on_event=lambda e: print(e, file=sys.stderr)) as s:
        if s.unavailable_reason:
            print(s.unavailable_reason, file=sys.stderr)
        s.say(" ".join(sys.argv[1:]) or "Lumen speaks.")
        s.wait(60)
