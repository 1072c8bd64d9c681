"""`lumen capture` when no Lumen is running: it captures and describes by itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(LUMEN_INSTANCE=str(tmp_path / "nobody.sock"), LUMEN_CONFIG_DIR=str(tmp_path / "config"),
               LUMEN_DATA_DIR=str(tmp_path / "data"), LUMEN_MODELS_DIR=str(tmp_path / "models"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), **extra)
    return env


def _lumen(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def test_capture_alone_reads_the_screen_text_and_prints_describe_json(tmp_path, tiny_florence2_onnx):
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    # --text reads with PP-OCR, which needs no description model.
    out = _lumen("capture", "--text", "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["image"] == "screen" and data["task"] == "ocr" and data["model"] == "PP-OCRv4"
    assert data["caption"] == "" and data["lines"] == []  # the offscreen screen is one flat colour
    assert _lumen("capture", "--text", env=env).stdout.strip() == "No text found."
    # A capture decides the kind first, as the window's shortcuts do: a blank screen is named,
    # never captioned, even with a description model at hand.
    plain = _lumen("capture", "--screen", "--detail", "more", "--model", str(tiny_florence2_onnx), env=env)
    assert plain.returncode == 0 and plain.stdout.strip() == "The screen is black."
    kind = json.loads(_lumen("capture", "--screen", "--json", env=env).stdout)
    assert (kind["kind"], kind["task"]) == ("blank", "none")


def test_capture_errors_are_one_line_with_an_exit_status(tmp_path):
    no_display = _lumen("capture", "--screen", env=_env(tmp_path, QT_QPA_PLATFORM=""))
    assert no_display.returncode == 10  # NoDisplayError
    assert no_display.stderr.startswith("error: ") and no_display.stderr.count("\n") == 1
    # No description model: a blank screen is still named (a photo would need one: exit 3,
    # tests/test_picture_kind.py).
    no_model = _lumen("capture", "--screen", env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert no_model.returncode == 0 and no_model.stdout.strip() == "The screen is black."
