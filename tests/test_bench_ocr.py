"""`lumen bench --ocr`: the figure's machinery runs end to end and writes its JSON (a small
screen, one run: the speed goal itself is a bench figure, not a timed test)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_ocr_reads_a_screen_of_text_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "ocr.json"
    done = subprocess.run([sys.executable, "-m", "desktop.cli", "bench", "--ocr", "--runs", "1",
                           "--threads", "1", "--ocr-size", "400x120", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Reading a full screen of text" in done.stdout and "load average" in done.stdout
    assert "400x120, 4 lines" in done.stdout
    data = json.loads(out.read_text())
    assert data["size"] == [400, 120] and data["runs"] == 1 and data["threads"] == 1
    assert data["lines"] == 4 and data["characters"] > 150
    assert 0 < data["detect_ms"] < data["wall_s"] * 1000 and 0 < data["recognize_ms"] < data["wall_s"] * 1000
    assert 0 < data["first_text_s"] < data["streamed_wall_s"]  # 4 lines: two groups
    assert data["read_peak_mb"] >= 0 and "resident memory a read adds at its peak" in done.stdout


def test_bench_ocr_size_must_be_width_x_height() -> None:
    done = subprocess.run([sys.executable, "-m", "desktop.cli", "bench", "--ocr", "--ocr-size", "wide"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "WIDTHxHEIGHT" in done.stderr
