"""`lumen batch` as a user runs it: real processes, a tiny exported Florence-2, real files.

Captions equal `lumen describe --json`'s; a second run resumes; a torn last line is repaired; a
changed picture is described again; Parquet holds the same rows.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.text_pages import blank, text_pages

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = ("--max-tokens", "8", "--beams", "2", "--alternatives", "2", "--seed", "3")
SAME = ("caption", "token_ids", "confidence", "uncertain", "alternatives", "objects", "task", "detail",
        "model", "provider", "kind", "lines", "tags", "english_captions")


def lumen(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=ROOT)


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def noise(path: Path, seed: int, fmt: str | None = None, size: tuple[int, int] = (80, 60)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, fmt)
    return path


@pytest.fixture()
def folder(tmp_path: Path) -> dict[str, Path]:
    pics = tmp_path / "pics"
    (pics / "sub" / "deeper").mkdir(parents=True)
    (pics / ".hidden").mkdir()
    made = {
        "png": noise(pics / "a.png", 1),
        "jpg": noise(pics / "B.JPG", 2, "JPEG"),
        "tif": noise(pics / "sub" / "c.tif", 3, "TIFF"),
        "webp": noise(pics / "sub" / "d.webp", 4, "WEBP"),
        "noext": noise(pics / "sub" / "deeper" / "scan", 5, "PNG"),
    }
    noise(pics / ".hidden" / "secret.png", 6)
    (pics / "notes.txt").write_text("not a picture")
    broken = pics / "broken.png"
    broken.write_bytes(made["png"].read_bytes()[:120])
    made["broken"] = broken
    return {"root": pics, **made}


def test_captions_equal_describe_and_a_second_run_resumes(tiny_florence2_onnx: Path, folder, tmp_path: Path) -> None:
    out = tmp_path / "captions.jsonl"
    model = ("--model", str(tiny_florence2_onnx))
    done = lumen("batch", str(folder["root"]), "--out", str(out), *model, *OPTIONS)
    assert done.returncode == 11, done.stderr  # some described, the broken picture failed
    assert "Traceback" not in done.stderr
    assert "5 described, 1 failed, 1 skipped (not pictures)" in done.stderr
    rows = {r["image"]: r for r in rows_of(out)}
    pictures = ["png", "jpg", "tif", "webp", "noext"]
    assert set(rows) == {str(folder[k]) for k in (*pictures, "broken")}  # no hidden, no text file
    assert set(rows[str(folder["broken"])]) == {"image", "error", "file_size", "file_mtime_ns"}
    assert "broken.png" in rows[str(folder["broken"])]["error"]

    described = lumen("describe", "--json", *(str(folder[k]) for k in pictures), *model, *OPTIONS)
    assert described.returncode == 0, described.stderr
    for reference in map(json.loads, described.stdout.splitlines()):
        row = rows[reference["image"]]
        assert set(row) == set(reference) | {"file_size", "file_mtime_ns"}
        assert {k: row.get(k) for k in SAME} == {k: reference.get(k) for k in SAME}
        assert len(row["alternatives"]) == 2

    # Again: nothing new; only the picture that failed is tried again (and fails again).
    before = {r["image"]: r for r in rows_of(out) if "error" not in r}
    again = lumen("batch", str(folder["root"]), "--out", str(out), *model, *OPTIONS)
    assert again.returncode == 11  # the pictures done before count as described
    assert "0 described, 1 failed, 1 skipped (not pictures), 5 already done" in again.stderr
    after = rows_of(out)
    assert len(after) == 6 and {r["image"]: r for r in after if "error" not in r} == before

    # A changed picture is described again; a repaired one too; the file keeps one line each.
    noise(folder["png"], 11, size=(90, 70))
    noise(folder["broken"], 12)
    third = lumen("batch", str(folder["root"]), "--out", str(out), *model, *OPTIONS)
    assert third.returncode == 0, third.stderr
    assert "2 described, 0 failed" in third.stderr
    final = rows_of(out)
    assert sorted(r["image"] for r in final) == sorted(rows)
    assert all("error" not in r for r in final)
    fixed = next(r for r in final if r["image"] == str(folder["png"]))
    assert fixed["file_size"] == folder["png"].stat().st_size != rows[str(folder["png"])]["file_size"]


def test_a_torn_last_line_is_repaired_and_restart_starts_over(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(3):
        noise(pics / f"p{i}.png", i)
    out = tmp_path / "out.jsonl"
    model = ("--model", str(tiny_florence2_onnx), "--max-tokens", "6")
    assert lumen("batch", str(pics), "--out", str(out), *model).returncode == 0
    whole = out.read_bytes()
    lines = whole.splitlines(keepends=True)
    timeless = lambda rows: sorted((json.dumps({**r, "timings_ms": None}) for r in rows))  # noqa: E731
    out.write_bytes(b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # a write cut short
    repaired = lumen("batch", str(pics), "--out", str(out), *model)
    assert repaired.returncode == 0, repaired.stderr
    assert "was cut off" in repaired.stderr and "1 described" in repaired.stderr
    assert timeless(rows_of(out)) == timeless(map(json.loads, lines))  # the same lines, none torn

    restarted = lumen("batch", str(pics), "--out", str(out), *model, "--restart", "--quiet")
    assert restarted.returncode == 0 and "3 described, 0 failed" in restarted.stderr
    assert len(rows_of(out)) == 3


def test_parquet_output_holds_the_lines_and_resumes(tiny_florence2_onnx: Path, folder, tmp_path: Path) -> None:
    from services.batch.parquet import read_parquet_rows

    out = tmp_path / "captions.parquet"
    model = ("--model", str(tiny_florence2_onnx), "--max-tokens", "6")
    first = lumen("batch", str(folder["png"]), str(folder["jpg"]), "--out", str(out), *model)
    assert first.returncode == 0, first.stderr
    second = lumen("batch", str(folder["root"] / "*"), "--from-list", str(_list(tmp_path, folder["tif"])),
                   "--out", str(out), *model)
    assert second.returncode == 11, second.stderr  # broken.png
    assert "2 already done" in second.stderr
    rows = read_parquet_rows(out)
    journal = rows_of(out.with_name(out.name + ".journal.jsonl"))
    assert [r["image"] for r in rows] == [r["image"] for r in journal]
    assert len(rows) == 6 == len({r["image"] for r in rows})  # a.png, B.JPG, broken, sub/*
    for row, line in zip(rows, journal):
        assert row["caption"] == line.get("caption") and row["token_ids"] == line.get("token_ids")
        assert row["error"] == line.get("error")
        assert dict(row["timings_ms"] or []) == (line.get("timings_ms") or {})


def _list(tmp_path: Path, *paths: Path) -> Path:
    listed = tmp_path / "list.txt"
    listed.write_text("# pictures\n" + "".join(f"{p}\n" for p in paths))
    return listed


def test_task_auto_equals_describe(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    text_pages()[6].image.save(pics / "dialog.png")
    blank("black").save(pics / "black.png")
    noise(pics / "photo.png", 9, size=(120, 90))
    out = tmp_path / "auto.jsonl"
    args = ("--task", "auto", "--model", str(tiny_florence2_onnx), "--max-tokens", "6")
    done = lumen("batch", str(pics), "--out", str(out), *args)
    assert done.returncode == 0, done.stderr
    rows = {r["image"]: r for r in rows_of(out)}
    described = lumen("describe", "--json", *sorted(rows), *args)
    for reference in map(json.loads, described.stdout.splitlines()):
        row = rows[reference["image"]]
        assert {k: row.get(k) for k in SAME} == {k: reference.get(k) for k in SAME}
    assert sorted(r["kind"] for r in rows.values()) == ["blank", "photo", "text"]


def test_bad_requests_fail_in_one_line(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    model = ("--model", str(tiny_florence2_onnx))
    wrong = lumen("batch", str(tmp_path), "--out", str(tmp_path / "out.csv"), *model)
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines() == [
        f"error: --out {tmp_path / 'out.csv'}: name a .jsonl or a .parquet file."]
    missing = lumen("batch", str(tmp_path), "--out", str(tmp_path / "no" / "out.jsonl"), *model)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    noise(tmp_path / "one.png", 1)
    no_model = lumen("batch", str(tmp_path), "--out", str(tmp_path / "out.jsonl"), "--model", str(tmp_path / "none"))
    assert no_model.returncode == 3 and "Traceback" not in no_model.stderr
    assert not (tmp_path / "out.jsonl").exists() or not (tmp_path / "out.jsonl").read_text()


def test_a_pdf_gives_one_line_per_page_and_a_stopped_one_is_read_again(tiny_florence2_onnx: Path,
                                                                        tmp_path: Path) -> None:
    from tests.support.pdf_writer import Block, PageSpec, prose_page, write_pdf

    pics = tmp_path / "pics"
    pics.mkdir()
    pages = [prose_page(1), PageSpec([[Block("The last page says goodbye.")]])]
    pdf = write_pdf(pics / "report.pdf", pages)
    noise(pics / "photo.png", 3)
    out = tmp_path / "out.jsonl"
    model = ("--model", str(tiny_florence2_onnx), "--max-tokens", "6")
    done = lumen("batch", str(pics), "--out", str(out), *model)
    assert done.returncode == 0, done.stderr
    described = lumen("describe", "--json", str(pdf), *model)
    by_page = {r.get("page"): r for r in rows_of(out) if r["image"] == str(pdf)}
    for reference in map(json.loads, described.stdout.splitlines()):
        row = by_page[reference["page"]]
        assert (row["caption"], row["pages"], row["kind"]) == (reference["caption"], 2, reference["kind"])
    assert sorted(by_page) == [1, 2]

    # Stopped after the first page: the document is read again whole, the photo is not.
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(line for line in lines if b'"page": 2' not in line))
    again = lumen("batch", str(pics), "--out", str(out), *model)
    assert again.returncode == 0, again.stderr
    assert "1 already done" in again.stderr
    rows = rows_of(out)
    assert sorted((r["image"], r.get("page")) for r in rows) == sorted(
        [(str(pdf), 1), (str(pdf), 2), (str(pics / "photo.png"), None)])


def test_a_bug_met_on_one_picture_is_that_pictures_line(tiny_florence2_onnx: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception that is not one of ours (a bug) on one picture of an archive ended the whole
    batch, and a resumed batch met it again before the pictures after it, so they were never
    described. Now it is that picture's error line (exit 1, "please report this") and the others
    are described; a resumed run tries that picture again, as any failed one."""
    from models.captioner import Captioner
    from services.batch.describer import BatchOptions
    from services.batch.pipeline import BatchRequest, run_batch

    pics = tmp_path / "pics"
    pics.mkdir()
    noise(pics / "b.png", 2, size=(97, 61))  # the batch hands the describer decoded pictures:
    for name, seed in (("a.png", 1), ("c.png", 3)):  # this one is told by its size
        noise(pics / name, seed)
    real = Captioner.describe

    def failing_on_one(self, image, *args, **kwargs):  # noqa: ANN001, ANN202
        if getattr(image, "size", None) == (97, 61):
            raise KeyError("width")
        return real(self, image, *args, **kwargs)

    monkeypatch.setattr(Captioner, "describe", failing_on_one)
    monkeypatch.setattr(Captioner, "encode_together", lambda self, pictures: None)  # one by one
    out = tmp_path / "out.jsonl"
    options = BatchOptions(model=str(tiny_florence2_onnx), max_tokens=4)
    result = run_batch(BatchRequest([str(pics)], out, options))
    rows = {Path(r["image"]).name: r for r in rows_of(out)}
    assert result.exit_code == 1 and result.counts.described == 2 and result.counts.failed == 1
    assert rows["b.png"]["error"] == "unexpected KeyError: 'width'; please report this"
    assert "caption" in rows["a.png"] and "caption" in rows["c.png"]
    again = run_batch(BatchRequest([str(pics)], out, options))
    assert (again.exit_code, again.counts.already, again.counts.failed, len(rows_of(out))) == (1, 2, 1, 3)
