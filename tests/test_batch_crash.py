"""A `lumen batch` killed with SIGKILL at varied moments, then run again: no torn line, no
duplicate, nothing lost, the same captions as a run never stopped.

The suite kills 3 times; `LUMEN_SOAK=full python -m pytest -s -q tests/test_batch_crash.py` kills
20 times (issue 24's count), over 24 pictures, more if a fast machine finishes them first.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import soak
from tests.test_batch import ROOT, lumen, noise, rows_of

KILLS = soak.count(3, 20)
PICTURES = soak.count(12, 24)


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_at_varied_moments_loses_nothing(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(PICTURES):
        noise(pics / f"p{i:03d}.png", 100 + i)
    args = ("batch", str(pics), "--model", str(tiny_florence2_onnx), "--max-tokens", "6", "--quiet",
            "--threads", "1")
    out = tmp_path / "killed.jsonl"
    chance = random.Random(KILLS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = rounds = 0
    while killed < KILLS and rounds < 5 * KILLS:
        before = _lines(out)
        present = len(list(pics.iterdir()))
        if before >= present:  # a fast machine finished the archive: it grows, as archives do
            for i in range(present, present + 3):
                noise(pics / f"p{i:03d}.png", 100 + i)
        wanted = before + rounds % 3  # after 0, 1 or 2 more pictures: start, middle
        rounds += 1
        process = subprocess.Popen([sys.executable, "-m", "desktop.cli", *args, "--out", str(out)],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait for the moment (the journal's growth, not a clock), then a little more at random.
        while process.poll() is None and _lines(out) < wanted:
            time.sleep(0.002)
        time.sleep(chance.uniform(0.0, 0.05))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
    assert killed == KILLS, f"{killed} kills in {rounds} runs"
    final = lumen(*args, "--out", str(out))
    assert final.returncode == 0, final.stderr
    reference = tmp_path / "reference.jsonl"  # the same folder, never stopped
    assert lumen(*args, "--out", str(reference)).returncode == 0

    text = out.read_bytes()
    assert text.endswith(b"\n")
    rows = [json.loads(line) for line in text.splitlines()]  # no torn line: every one parses
    images = [r["image"] for r in rows]
    total = len(list(pics.iterdir()))
    assert len(images) == len(set(images)) == total  # no duplicate, none lost
    expected = {r["image"]: r["token_ids"] for r in rows_of(reference)}
    assert {r["image"]: r["token_ids"] for r in rows} == expected
    soak.report(f"lumen batch: {killed} kills over {total} pictures, then run again: 0 torn lines, "
                f"0 duplicates, 0 lost, the same token ids as a run never stopped")
