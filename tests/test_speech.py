"""Speech with the real engine (pyttsx3 on eSpeak NG): WAV output, stop latency, failures.

There is no sound card in CI, so audible playback is stood in for by REALTIME_PLAYER, a player
process that takes as long as the audio lasts (like a sound device would); everything before
it, synthesis by eSpeak NG included, is the real thing.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from services.audio_player import CommandPlayer
from services.errors import SpeechError
from services.speech import Speaker, SpeechEvent

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "The quick brown fox jumps over the lazy dog."
LONG = ("This description is long on purpose: a dog sits on a red sofa next to a window, "
        "the sun shines in, and a cat sleeps on a wooden table in the kitchen behind them.")

# Writes its pid to argv[2], then "plays" for exactly as long as the WAV file lasts.
REALTIME_PLAYER = [
    sys.executable, "-c",
    "import os, sys, time, wave\n"
    "open(sys.argv[2], 'w').write(str(os.getpid()))\n"
    "w = wave.open(sys.argv[1])\n"
    "time.sleep(w.getnframes() / w.getframerate())\n",
]


def read_wav(path: Path) -> tuple[np.ndarray, int, wave._wave_params]:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return samples.astype(np.float64), params.framerate, params


def voiced_fraction(samples: np.ndarray, rate: int) -> float:
    """Share of 20 ms windows louder than -35 dBFS."""
    win = rate // 50
    frames = samples[: len(samples) // win * win].reshape(-1, win)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    return float((rms > 32768 * 10 ** (-35 / 20)).mean())


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[float, SpeechEvent]] = []
        self.cond = threading.Condition()

    def __call__(self, event: SpeechEvent) -> None:
        with self.cond:
            self.events.append((time.monotonic(), event))
            self.cond.notify_all()

    def wait_for(self, kind: str, text: str | None = None, timeout: float = 20.0) -> float:
        """Monotonic time of the first matching event."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, e in self.events:
                    if e.kind == kind and (text is None or e.text == text):
                        return at
                left = deadline - time.monotonic()
                assert left > 0, f"no {kind} event for {text!r}: {self.events}"
                self.cond.wait(left)

    def kinds(self) -> list[tuple[str, str]]:
        return [(e.kind, e.text) for _, e in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def speaker(tmp_path: Path, recorder: Recorder):
    player = CommandPlayer([*REALTIME_PLAYER, "{path}", str(tmp_path / "player.pid")])
    s = Speaker(player=player, on_event=recorder)
    yield s
    s.close()


def test_speaks_a_sentence_into_a_wav_file(tmp_path: Path, capfd) -> None:
    with Speaker(player=None) as speaker:
        out = speaker.save_wav(SENTENCE, tmp_path / "fox.wav")
    samples, rate, params = read_wav(out)
    assert (params.nchannels, params.sampwidth) == (1, 2)
    duration = len(samples) / rate
    # Nine words at 175 words per minute: about three seconds with eSpeak NG's pauses.
    assert 1.5 < duration < 6.0, duration
    assert np.sqrt((samples ** 2).mean()) > 1000  # -30 dBFS: clearly audible speech
    assert np.abs(samples).max() > 8000
    assert voiced_fraction(samples, rate) > 0.4
    assert "Audio saved" not in capfd.readouterr().out  # stdout stays clean for --json


def test_rate_and_volume_shape_the_audio(tmp_path: Path) -> None:
    with Speaker(player=None) as speaker:
        speaker.rate = 120
        slow, rate, _ = read_wav(speaker.save_wav(SENTENCE, tmp_path / "slow.wav"))
        speaker.rate = 320
        fast, _, _ = read_wav(speaker.save_wav(SENTENCE, tmp_path / "fast.wav"))
        speaker.volume = 0.25
        quiet, _, _ = read_wav(speaker.save_wav(SENTENCE, tmp_path / "quiet.wav"))
    assert len(fast) < 0.7 * len(slow)
    assert np.abs(quiet).max() < 0.5 * np.abs(fast).max()


def test_voice_follows_the_output_language(tmp_path: Path) -> None:
    with Speaker(player=None) as speaker:
        voices = {v.id: v for v in speaker.voices()}
        english = speaker.voice_for(None)
        assert voices[speaker.voice_for("ru")].speaks("ru")
        assert voices[speaker.voice_for("de")].speaks("de")
        assert speaker.voice_for("xx") == english  # nothing matches: keep the chosen voice
        german = next(v.id for v in voices.values() if v.speaks("de"))
        speaker.voice = german
        assert speaker.voice_for("de-AT") == german  # the chosen voice speaks it: kept
        assert voices[speaker.voice_for("en")].speaks("en")
        en_audio, _, _ = read_wav(speaker.save_wav("Guten Tag", tmp_path / "a.wav", "en"))
        de_audio, _, _ = read_wav(speaker.save_wav("Guten Tag", tmp_path / "b.wav", "de"))
    assert not np.array_equal(en_audio, de_audio)


def test_stop_kills_the_player_before_it_returns(speaker: Speaker, recorder: Recorder, tmp_path: Path) -> None:
    """Stop silences at once: when stop() returns, the player is gone (killed and reaped), not
    just told to stop; no timing bound here (speed lives in lumen bench, not in tests)."""
    speaker.say(LONG)
    recorder.wait_for("started", LONG)
    pid_file = tmp_path / "player.pid"
    for _ in range(600):  # the player writes its pid once it plays (the audio lasts ~10 s)
        if pid_file.is_file() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    speaker.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not speaker.speaking
    recorder.wait_for("stopped", LONG)
    assert ("finished", LONG) not in recorder.kinds()


def test_two_requests_in_a_row_do_not_hang(speaker: Speaker, recorder: Recorder) -> None:
    speaker.say(LONG)
    speaker.say("A cat.")
    assert speaker.wait(timeout=20), "speech hung"
    assert ("finished", "A cat.") in recorder.kinds()
    assert ("finished", LONG) not in recorder.kinds()
    for text in ("One.", "Two.", "Three."):  # and again, back to back, with stops between
        speaker.say(text)
        speaker.stop()
    speaker.say("Four.")
    assert speaker.wait(timeout=20)
    assert recorder.kinds()[-1] == ("finished", "Four.")


def test_repeat_says_the_last_text_again(speaker: Speaker, recorder: Recorder) -> None:
    speaker.say("A dog.", language="en")
    assert speaker.wait(timeout=20)
    speaker.repeat()
    assert speaker.wait(timeout=20)
    assert recorder.kinds().count(("finished", "A dog.")) == 2


def test_one_engine_serves_many_threads(tmp_path: Path) -> None:
    speakers = [Speaker(player=None) for _ in range(3)]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(3):
                speakers[i].save_wav(f"Thread {i}, sentence {j}.", tmp_path / f"{i}-{j}.wav")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in speakers:
        s.close()
    assert not errors and not any(t.is_alive() for t in threads)
    for f in tmp_path.glob("*.wav"):
        samples, rate, _ = read_wav(f)
        assert len(samples) / rate > 0.5
    assert len(list(tmp_path.glob("*.wav"))) == 9


def test_playback_failure_is_reported_not_raised(recorder: Recorder) -> None:
    broken = CommandPlayer(["aplay", "-q", "-D", "lumen-no-such-device", "{path}"])
    with Speaker(player=broken, on_event=recorder) as speaker:
        speaker.say(SENTENCE)
        assert speaker.wait(timeout=20)
        message = recorder.events[-1][1].message
        assert recorder.kinds()[-1] == ("error", SENTENCE)
        assert "sound device" in message and speaker.last_error == message


def test_without_a_player_speech_explains_itself(recorder: Recorder, tmp_path: Path) -> None:
    with Speaker(player=None, on_event=recorder) as speaker:
        assert not speaker.available
        assert speaker.unavailable_reason
        speaker.say("Hello.")
        assert speaker.wait(timeout=10)
        assert recorder.kinds() == [("error", "Hello.")]
        assert speaker.save_wav("Hello.", tmp_path / "still.wav").stat().st_size > 1000


def test_save_wav_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    """Each refusal is a SpeechError naming what to fix, leaves the folder as it was (no
    half-written or temporary file) and leaves the speaker working."""
    target = tmp_path / "taken.wav"
    target.mkdir()  # a folder where the file should go: the real engine runs, the write fails
    with Speaker(player=None) as speaker:
        with pytest.raises(SpeechError, match="There is no text to speak"):
            speaker.save_wav("   ", tmp_path / "empty.wav")
        with pytest.raises(SpeechError, match=f"the folder {tmp_path / 'missing'} does not exist"):
            speaker.save_wav("Hello.", tmp_path / "missing" / "x.wav")
        with pytest.raises(SpeechError, match=f"Cannot write {target}"):
            speaker.save_wav("Hello.", target)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.wav"] and not any(target.iterdir())
        before = speaker.rate
        with pytest.raises(ValueError, match="between 50 and 500"):
            speaker.rate = 5
        assert speaker.rate == before
        samples, rate, _ = read_wav(speaker.save_wav("Hello.", tmp_path / "after.wav"))
        assert len(samples) / rate > 0.2  # still speaks after every refusal


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="simulates a missing libespeak-ng")
@pytest.mark.parametrize("isolated", ["1", "0"])
def test_missing_espeak_gives_one_clear_sentence(tmp_path: Path, isolated: str) -> None:
    """In the speech engine's own process (the default on Linux) and in Lumen's."""
    # Every Python started with this path, the engine's child included, finds no eSpeak NG.
    (tmp_path / "sitecustomize.py").write_text("""
import ctypes
real = ctypes.cdll.LoadLibrary
def no_espeak(name, *args, **kwargs):
    if "espeak" in str(name):
        raise OSError(f"{name}: cannot open shared object file")
    return real(name, *args, **kwargs)
ctypes.cdll.LoadLibrary = no_espeak
""")
    script = f"""
from services.errors import SpeechError
from services.speech import Speaker
s = Speaker()
print("available", s.available)
print("reason", s.unavailable_reason)
s.say("Hello."); s.wait(5); s.repeat(); s.stop()
print("voices", s.voices())
try:
    s.save_wav("Hello.", {str(tmp_path / 'x.wav')!r})
except SpeechError as e:
    print("error", e)
s.close()
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), LUMEN_SPEECH_ISOLATED=isolated)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["available"] == "False"
    assert "espeak-ng" in lines["reason"] and "install" in lines["reason"]
    assert lines["voices"] == "[]"
    assert lines["error"] == lines["reason"]
    assert "Traceback" not in done.stderr


def test_sentences_follow_each_other_and_stop_silences_them_all(
        speaker: Speaker, recorder: Recorder, tmp_path: Path) -> None:
    """A result said sentence by sentence: `say_more` queues behind what is playing (nothing is
    cut off), and Stop during the second sentence silences it within 200 ms and drops the third."""
    first, second, third = "A dog sits on a sofa.", LONG, "A cat sleeps."
    speaker.say(first)
    speaker.say_more(second)
    speaker.say_more(third)
    recorder.wait_for("started", second)
    assert recorder.kinds()[:2] == [("started", first), ("finished", first)]
    time.sleep(0.3)
    pid = int((tmp_path / "player.pid").read_text())
    start = time.monotonic()
    speaker.stop()
    assert time.monotonic() - start < 0.2
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert recorder.wait_for("stopped", second) - start < 0.5
    time.sleep(0.5)  # the third sentence would have started by now
    assert all(text != third for _, text in recorder.kinds())
    assert not speaker.speaking
    speaker.repeat()  # repeat says the whole result that was being said
    assert recorder.wait_for("started", f"{first} {second} {third}")
    speaker.stop()


def test_say_more_waits_for_every_sentence(speaker: Speaker, recorder: Recorder) -> None:
    speaker.say("One.")
    speaker.say_more("Two.")
    assert speaker.wait(timeout=20)
    assert [k for k in recorder.kinds() if k[0] == "finished"] == [("finished", "One."), ("finished", "Two.")]
    speaker.say_more("Three.")  # nothing playing: it simply starts
    assert speaker.wait(timeout=20)
    assert recorder.kinds()[-1] == ("finished", "Three.")


def test_leading_silence_is_cut_before_playing(tmp_path: Path) -> None:
    """Leading silence (eSpeak NG makes 0.1 s of it for some texts) is cut to 20 ms before
    playing; the speech itself is untouched, and audio that starts at once is left alone."""
    from services.speech import leading_silence_s, trim_leading_silence

    with Speaker(player=None) as speaker:
        wav = speaker.save_wav("Hello.", tmp_path / "hello.wav")
    speech, rate, params = read_wav(wav)
    assert leading_silence_s(wav) < 0.02
    trim_leading_silence(wav)
    assert np.array_equal(read_wav(wav)[0], speech)  # nothing to cut
    padded = tmp_path / "padded.wav"
    with wave.open(str(padded), "wb") as w:
        w.setparams(params)
        w.writeframes(np.zeros(int(0.3 * rate), dtype="<i2").tobytes() + speech.astype("<i2").tobytes())
    assert abs(leading_silence_s(padded) - 0.3 - leading_silence_s(wav)) < 0.002
    trim_leading_silence(padded)
    after, rate_after, _ = read_wav(padded)
    assert rate_after == rate and abs(leading_silence_s(padded) - 0.02) < 0.002
    assert np.array_equal(after[-len(speech):], speech)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="eSpeak NG runs in a child process on Linux")
def test_a_crashed_engine_costs_one_utterance_not_lumen(tmp_path: Path) -> None:
    """eSpeak NG 1.51 reads past its buffers on some texts (services/speech_child.py); when its
    process dies of it, the text being said fails with a sentence, and the next is spoken by a
    new engine process."""
    import array
    import fcntl
    import signal
    import termios

    from services.speech_child import CRASHED, IsolatedEngine
    from services.speech_engine import SpeechSettings

    engine = IsolatedEngine()
    try:
        assert engine.unavailable_reason is None and engine.voices()
        first = engine.child_pid
        samples, rate, _ = read_wav(engine.synthesize(SENTENCE, tmp_path / "a.wav", SpeechSettings()))
        assert len(samples) / rate > 1.0
        # The engine dies while saying a text, as eSpeak NG's over-read makes it: held still, it
        # is sent the request, and once the request waits in its pipe it is killed.
        os.kill(first, signal.SIGSTOP)
        failed: list[BaseException] = []

        def say() -> None:
            try:
                engine.synthesize(SENTENCE, tmp_path / "b.wav", SpeechSettings())
            except SpeechError as exc:
                failed.append(exc)

        speaking = threading.Thread(target=say)
        speaking.start()
        pipe, waiting = engine._child.stdin.fileno(), array.array("i", [0])
        deadline = time.monotonic() + 30
        while not waiting[0] and time.monotonic() < deadline:
            fcntl.ioctl(pipe, termios.FIONREAD, waiting)  # bytes written, not yet read
            time.sleep(0.01)
        os.kill(first, signal.SIGSEGV)
        os.kill(first, signal.SIGCONT)
        speaking.join(30)
        assert len(failed) == 1 and str(failed[0]) == CRASHED and not (tmp_path / "b.wav").exists()
        samples, rate, _ = read_wav(engine.synthesize(SENTENCE, tmp_path / "c.wav", SpeechSettings()))
        assert len(samples) / rate > 1.0 and engine.starts == 2 and engine.child_pid not in (None, first)
    finally:
        engine.close()
    assert engine.child_pid is None  # closing ends the child
