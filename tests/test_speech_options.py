"""`--speak`, `--audio-out` and `--lang` as `lumen describe` uses them (add_arguments, apply,
finish), with the real speech engine and tiny translation packages, and no network."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

import services.speech
from desktop.cli import speech_options
from models.results import Caption
from services.argos_install import install_translation_package
from services.audio_player import CommandPlayer
from services.errors import TranslationError
from tests.support.net_guard import NETWORK_EXIT_CODE, guard_site_dir
from services.translation import Translator
from tests.support.tiny_argos import argosmodel_name

ROOT = Path(__file__).resolve().parent.parent
HEAVY_MODULES = ("argostranslate", "stanza", "spacy", "torch", "ctranslate2", "transformers",
                 "pyttsx3")

S1 = "A dog sits on a red sofa."
S2 = "A cat sleeps on a wooden table."

# Appends "start end" (monotonic seconds) to argv[2] for each file it "plays" in real time.
LOGGING_PLAYER = [
    sys.executable, "-c",
    "import sys, time, wave\n"
    "w = wave.open(sys.argv[1]); start = time.monotonic()\n"
    "time.sleep(w.getnframes() / w.getframerate())\n"
    "open(sys.argv[2], 'a').write(f'{start} {time.monotonic()}\\n')\n",
]


@pytest.fixture(scope="module")
def packages(tiny_argos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("argos-packages")
    install_translation_package(tiny_argos / argosmodel_name("en", "de"), folder,
                                fetch_splitter=False)
    return folder


@pytest.fixture
def with_packages(packages: Path, monkeypatch) -> Path:
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(packages))
    return packages


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    speech_options.add_arguments(parser)
    return parser.parse_args(list(argv))


def caption(text: str) -> Caption:
    return Caption(caption=text, token_ids=[1, 2], confidence=0.9)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_without_options_nothing_happens() -> None:
    data = caption(S1).to_json("a.png")
    with speech_options.output(parse()) as speech:
        assert speech.apply(caption(S1), data) is data
        assert speech._speaker is None  # no engine was started


def test_the_engine_is_released_when_the_block_ends(tmp_path: Path) -> None:
    with speech_options.output(parse("--audio-out", str(tmp_path / "a.wav"))) as speech:
        assert speech._speaker is not None
    assert speech._speaker is None


def test_lang_adds_language_and_text_beside_caption(no_network, with_packages: Path) -> None:
    with speech_options.output(parse("--lang", "de")) as speech:
        data = speech.apply(caption(S1), caption(S1).to_json("a.png"))
    assert data["caption"] == S1 and data["image"] == "a.png"
    assert data["language"] == "de"
    assert data["text"] == Translator(with_packages).translate(S1, "de") != S1


def test_audio_out_records_every_translated_result(no_network, with_packages: Path,
                                                   tmp_path: Path, capfd) -> None:
    out = tmp_path / "spoken.wav"
    with speech_options.output(parse("--lang", "de", "--audio-out", str(out))) as speech:
        speech.apply(caption(S1), caption(S1).to_json("a.png"))
        first = wav_seconds(out)
        speech.apply(caption(S2), caption(S2).to_json("b.png"))
    assert first > 0.3 and wav_seconds(out) > first + 0.3  # both results are in the file
    assert capfd.readouterr().out == ""  # stdout belongs to the results


def test_speak_plays_each_result_in_turn(no_network, tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "played.txt"
    player = CommandPlayer([*LOGGING_PLAYER, "{path}", str(log)])
    monkeypatch.setattr(services.speech, "find_player", lambda: (player, None))
    with speech_options.output(parse("--speak")) as speech:
        for text in ("A dog.", "A cat."):
            speech.apply(caption(text), caption(text).to_json("x.png"))
    # leaving the block returns once everything was heard
    played = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    assert len(played) == 2
    assert played[1][0] >= played[0][1] - 0.05  # the second began after the first ended


def test_speak_without_a_player_warns_once_and_keeps_the_text(monkeypatch, capsys) -> None:
    reason = "Playing speech needs an audio player: install alsa-utils."
    monkeypatch.setattr(services.speech, "find_player", lambda: (None, reason))
    with speech_options.output(parse("--speak")) as speech:
        for text in (S1, S2):
            data = caption(text).to_json("x.png")
            assert speech.apply(caption(text), data) == data
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and reason in err and "still printed" in err


def test_uninstalled_language_is_refused_with_the_fix(with_packages: Path) -> None:
    with pytest.raises(TranslationError, match="lumen models install-translation en-ru"):
        speech_options.output(parse("--lang", "ru"))  # refused before any work starts


def _lumen(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(path)
    return path


def test_lumen_describe_translates_and_speaks_offline(tiny_florence2_onnx: Path, packages: Path,
                                                      photo: Path, tmp_path: Path) -> None:
    """The whole command under a socket guard: describing, translating, writing speech."""
    wav = tmp_path / "spoken.wav"
    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(packages),
           "PYTHONPATH": os.pathsep.join([str(guard_site_dir(tmp_path)), str(ROOT)])}
    done = _lumen("describe", str(photo), "--model", str(tiny_florence2_onnx), "--max-tokens", "8",
                  "--json", "--lang", "de", "--audio-out", str(wav), env=env)
    assert done.returncode == 0, done.stderr
    assert done.returncode != NETWORK_EXIT_CODE and "network access" not in done.stderr
    row = json.loads(done.stdout)
    assert row["language"] == "de" and row["caption"].strip()
    assert row["text"] == Translator(packages).translate(row["caption"], "de") != row["caption"]
    assert wav_seconds(wav) > 0.2


# Describing a picture reads no text and no PDF: OpenCV (45 MB) and PDFium stay unloaded.
PICTURE_ONLY = ("cv2", "pypdfium2")


def test_lumen_describe_without_lang_stays_light(tiny_florence2_onnx: Path, packages: Path,
                                                 photo: Path) -> None:
    script = (
        "import sys\n"
        "from desktop.cli import main\n"
        f"code = main(['describe', {str(photo)!r}, '--model', {str(tiny_florence2_onnx)!r},"
        " '--max-tokens', '4', '--json'])\n"
        f"print(sorted(m for m in {HEAVY_MODULES + PICTURE_ONLY!r} if m in sys.modules), code)\n"
    )
    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(packages)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    row, modules = done.stdout.strip().splitlines()
    assert "language" not in json.loads(row)  # silent and untranslated without the options
    assert modules == "[] 0"
