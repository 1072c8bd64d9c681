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
    from models.captioner import Captioner

    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    out = _lumen("capture", "--text", "--json", "--model", str(tiny_florence2_onnx), env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["image"] == "screen" and data["task"] == "ocr" and data["detail"] == "brief"
    # The offscreen screen is one flat colour: the engine says the same about such a picture.
    from PIL import Image

    from models.results import DescribeOptions

    blank = Image.new("RGB", (800, 800), (0, 0, 0))
    expected = Captioner.load(tiny_florence2_onnx, threads=1).describe(blank, DescribeOptions(task="ocr"))
    assert data["caption"] == expected.caption

    plain = _lumen("capture", "--screen", "--detail", "more", "--model", str(tiny_florence2_onnx), env=env)
    more = Captioner.load(tiny_florence2_onnx, threads=1).describe(blank, DescribeOptions(detail="more"))
    assert plain.returncode == 0 and plain.stdout.strip() == more.caption.strip()


def test_capture_errors_are_one_line_with_an_exit_status(tmp_path):
    no_display = _lumen("capture", "--screen", env=_env(tmp_path, QT_QPA_PLATFORM=""))
    assert no_display.returncode == 10  # NoDisplayError
    assert no_display.stderr.startswith("error: ") and no_display.stderr.count("\n") == 1
    no_model = _lumen("capture", "--screen", env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert no_model.returncode == 3 and "no model is installed" in no_model.stderr
