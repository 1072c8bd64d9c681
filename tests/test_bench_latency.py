"""`lumen bench --latency` machinery on the tiny model: the real window on Xvfb, the global
shortcut pressed with xdotool, describe-again keys, `lumen capture`, the trace read back into
stages and the JSON contract. Figures are not judged here (speed targets live in the bench).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from export.benchmark.latency import STAGES, bench_folder
from models.folder import ModelFolder

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_bench_folder_is_one_dtype_with_forced_length(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    dtype = bench_folder(tiny_florence2_onnx, "int8", 7, tmp_path / "view")
    view = ModelFolder.open(tmp_path / "view")
    assert dtype == view.dtype == "int8"
    assert all("_int8" in f.name or f.name.endswith("_data") for f in (tmp_path / "view" / "onnx").iterdir())
    gen = json.loads((tmp_path / "view" / "generation_config.json").read_text())
    assert gen["min_new_tokens"] == gen["max_new_tokens"] == 7
    assert (tiny_florence2_onnx / "generation_config.json").read_text() != json.dumps(gen, indent=2)


def test_latency_bench_on_the_tiny_model(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    done = subprocess.run(
        [sys.executable, "-m", "desktop", "bench", "--latency", "--model", str(tiny_florence2_onnx),
         "--dtype", "int8", "--presses", "2", "--tokens", "6", "--screen", "1024x768", "--json", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text())
    for key in ("shortcut_to_speech_s", "redescribe_to_speech_s", "shortcut_to_screen_reader_s",
                "capture_command_to_speech_s", "text_screen_to_speech_s"):
        assert isinstance(data[key], float) and 0 < data[key] < 120, (key, data[key])
    assert len(data["runs"]["shortcut"]) == 2 and len(data["runs"]["redescribe"]) == 4
    assert len(data["runs"]["text_screen"]) == 2 and "a screen of text |" in done.stdout
    shortcut = data["stages"]["shortcut"]
    assert set(STAGES) <= set(shortcut), shortcut
    assert "shortcut" not in data["stages"]["redescribe"] and "capture" not in data["stages"]["redescribe"]
    for kind, stages in data["stages"].items():
        assert all(math.isfinite(v) and v >= 0 for v in stages.values()), (kind, stages)
        # the voice is handed the text only after the screen reader route got it
        assert stages["to_speech_s"] >= stages["to_screen_reader_s"]
    assert shortcut["to_speech_s"] >= shortcut["shortcut"] + shortcut["capture"] + shortcut["vision"]
    assert data["hotkeys"]["active"] and data["app_peak_rss_mb"] > 50
    assert 50 < data["app_rest_rss_mb"] <= data["app_peak_rss_mb"]
    assert 50 < data["app_rest_after_rss_mb"] <= data["app_peak_rss_mb"]
    assert 0 < data["app_rest_private_mb"] < data["app_rest_rss_mb"]
    # The peak is the one while describing: the start (which optimises the model's graphs into
    # a fresh cache here) is reported apart.
    assert data["app_peak_is_describing"] is sys.platform.startswith("linux")
    assert data["app_start_peak_rss_mb"] >= data["app_rest_rss_mb"] * 0.9
    # Photos' and screens of text's peaks apart (the text reader's detector grows with the screen).
    assert data["app_rest_rss_mb"] * 0.9 <= data["app_photo_peak_rss_mb"] <= data["app_peak_rss_mb"]
    assert data["app_rest_rss_mb"] * 0.9 <= data["app_text_peak_rss_mb"] <= data["app_peak_rss_mb"]
    assert data["screen"] == "1024x768" and "screen 1024x768" in done.stdout
    assert 0 < data["app_rest_after_private_mb"] < data["app_rest_after_rss_mb"]
    # The window, after loading, warming and describing, holds no torch or other heavy module.
    assert data["app_heavy_modules"] == []
    # A screen of text: "A page of text:" first, then the screen's own first word, later.
    text = data["stages"]["text_screen"]
    assert data["text_screen_to_text_speech_s"] == text["to_text_speech_s"] > text["to_speech_s"]
    assert text["to_text_screen_reader_s"] >= text["to_screen_reader_s"]
    assert "| **→ first word of the screen's own text (Lumen's voice)** |" in done.stdout
    assert "| **→ first word (Lumen's voice)** |" in done.stdout


def test_a_screen_of_text_times_its_own_first_word() -> None:
    """The trace of one press on a screen of text: the fixed intro is said first, the screen's
    own first line after it; both are timed, from the moment before the press."""
    events = [
        {"event": "hotkey", "t": 10.02}, {"event": "captured", "t": 10.10},
        {"event": "describe_start", "t": 10.11},
        {"event": "screen_reader", "t": 10.50, "first": True, "text": "A page of text:"},
        {"event": "speech_play", "t": 10.55, "leading_silence_s": 0.01, "text": "A page of text:"},
        {"event": "screen_reader", "t": 11.00, "first": False, "text": "Quarterly report"},
        {"event": "speech_play", "t": 11.60, "leading_silence_s": 0.02, "text": "Quarterly report"},
        {"event": "describe_done", "t": 12.00, "timings_ms": {"classify": 300.0}},
    ]
    from export.benchmark.latency import stages_of

    out = stages_of(10.0, events)
    assert out["to_speech_s"] == pytest.approx(0.56) and out["to_screen_reader_s"] == pytest.approx(0.50)
    assert out["to_text_speech_s"] == pytest.approx(1.62) and out["to_text_screen_reader_s"] == pytest.approx(1.00)
    photo = [{**e, "text": "A dog runs on the grass."} if "text" in e else e for e in events]
    assert "to_text_speech_s" not in stages_of(10.0, photo)  # a caption: no intro, no own text
