"""The local training set: imagefolder layout, atomic writes, replace-on-recorrect, export, clear."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from models.errors import ImageError
from services.training_set import METADATA, TrainingSet, TrainingSetError, storage_statement

ROOT = Path(__file__).resolve().parent.parent


def _png(colour: tuple[int, int, int], size: int = 24) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, "PNG")
    return buf.getvalue()


def test_add_writes_imagefolder_layout_and_recorrecting_replaces(tmp_path: Path) -> None:
    ts = TrainingSet(tmp_path / "set")
    a = ts.add(_png((255, 0, 0)), "  a red\nsquare ")
    ts.add(_png((0, 0, 255)), "a blue square", source="api")
    ts.add(_png((255, 0, 0)), "a bright red square")  # the same picture corrected again
    rows = [json.loads(line) for line in (tmp_path / "set" / METADATA).read_text().splitlines()]
    assert [(r["file_name"], r["text"]) for r in rows][-1] == (a.file_name, "a bright red square")
    assert sorted(r["text"] for r in rows) == ["a blue square", "a bright red square"]
    assert {r["source"] for r in rows} == {"api", "window"}
    for r in rows:  # every file_name is a readable picture beside metadata.jsonl
        with Image.open(tmp_path / "set" / r["file_name"]) as im:
            assert im.mode == "RGB"
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == sorted(
        [METADATA] + [r["file_name"] for r in rows])
    assert len(ts) == 2 and ts.size_bytes() > 0
    assert str(tmp_path / "set") in storage_statement(tmp_path / "set")


def test_bad_input_is_refused_in_one_line(tmp_path: Path) -> None:
    ts = TrainingSet(tmp_path / "set")
    with pytest.raises(TrainingSetError, match="empty"):
        ts.add(_png((1, 2, 3)), "   ")
    with pytest.raises(ImageError):
        ts.add(b"not a picture", "text")
    assert len(ts) == 0


def test_failed_metadata_write_keeps_the_previous_set(tmp_path: Path, monkeypatch) -> None:
    ts = TrainingSet(tmp_path / "set")
    ts.add(_png((10, 20, 30)), "first")
    real = os.replace

    def crash_on_metadata(src, dst):
        if str(dst).endswith(METADATA):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_metadata)
    with pytest.raises(TrainingSetError, match="No space left"):
        ts.add(_png((40, 50, 60)), "second")
    monkeypatch.setattr(os, "replace", real)
    assert [e.text for e in ts.examples()] == ["first"]
    assert not [p for p in (tmp_path / "set").iterdir() if p.name.startswith(".")]  # no temp left
    ts.add(_png((70, 80, 90)), "third")  # the orphan picture of "second" is swept
    assert len(list((tmp_path / "set").glob("*.png"))) == 2


_WRITER = """
import io, sys
from PIL import Image
from services.training_set import TrainingSet
ts = TrainingSet(sys.argv[1])
for i in range(10_000):
    buf = io.BytesIO(); Image.new("RGB", (16, 16), (i % 256, i // 256 % 256, 7)).save(buf, "PNG")
    ts.add(buf.getvalue(), f"picture {i}")
    print(i, flush=True)
"""


def test_a_killed_writer_loses_nothing_already_saved(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "set")], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    saved = [proc.stdout.readline() for _ in range(25)]
    proc.send_signal(signal.SIGKILL)  # mid-write, most likely
    proc.wait()
    assert all(saved)
    texts = [e.text for e in TrainingSet(tmp_path / "set").examples()]
    assert texts[:25] == [f"picture {i}" for i in range(25)]  # nothing saved was lost
    lines = (tmp_path / "set" / METADATA).read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # and the file is whole


def test_export_zip_and_folder_then_clear(tmp_path: Path) -> None:
    ts = TrainingSet(tmp_path / "set")
    with pytest.raises(TrainingSetError, match="empty"):
        ts.export(tmp_path / "out.zip")
    ts.add(_png((1, 1, 1)), "a black square")
    ts.add(_png((250, 250, 250)), "a white square")
    with zipfile.ZipFile(ts.export(tmp_path / "out.zip")) as z:
        names = set(z.namelist())
        meta = [json.loads(line) for line in z.read(METADATA).decode().splitlines()]
    assert names == {METADATA} | {m["file_name"] for m in meta} and len(meta) == 2
    copy = TrainingSet(ts.export(tmp_path / "copy"))
    assert [e.text for e in copy.examples()] == ["a black square", "a white square"]
    with pytest.raises(TrainingSetError, match="not an empty folder"):
        ts.export(tmp_path / "copy")
    assert ts.clear() == 2
    assert len(ts) == 0 and ts.size_bytes() == 0
