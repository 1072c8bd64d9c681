"""`lumen bench --ocr`: the full-screen reading figure is produced (the speed goal itself is a
bench figure, not a timed test)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_ocr_reads_a_full_screen_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "ocr.json"
    done = subprocess.run([sys.executable, "-m", "desktop.cli", "bench", "--ocr", "--runs", "1",
                           "--app-runs", "0", "--json", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "Reading a full screen of text" in done.stdout and "load average" in done.stdout
    data = json.loads(out.read_text())
    assert data["size"] == [1280, 800] and data["lines"] >= 30 and data["characters"] > 4000
    assert 0 < data["detect_ms"] < data["wall_s"] * 1000
