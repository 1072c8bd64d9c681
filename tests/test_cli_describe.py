"""`lumen describe` as a user scripts it: real process, tiny exported model."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

JSON_KEYS = {"image", "caption", "token_ids", "confidence", "uncertain", "alternatives", "model",
             "provider", "timings_ms"}


def lumen(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    good = folder / "photo.png"
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(good)
    jpeg = folder / "photo two.jpg"
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(jpeg)
    text = folder / "notes.png"
    text.write_text("this is not an image")
    return {"good": good, "jpeg": jpeg, "bad": text, "missing": folder / "missing.png"}


def test_plain_output_is_the_description(tiny_florence2_onnx: Path, images) -> None:
    done = lumen("describe", str(images["good"]), "--model", str(tiny_florence2_onnx), "--max-tokens", "8")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].strip()
    js = lumen("describe", str(images["good"]), "--model", str(tiny_florence2_onnx), "--max-tokens", "8", "--json")
    assert json.loads(js.stdout)["caption"] == lines[0]


def test_json_contract_and_partial_failure(tiny_florence2_onnx: Path, images) -> None:
    done = lumen("describe", str(images["good"]), str(images["bad"]), str(images["missing"]),
                 str(images["jpeg"]), "--model", str(tiny_florence2_onnx), "--json",
                 "--max-tokens", "10", "--beams", "2", "--alternatives", "2", "--seed", "4")
    assert done.returncode == 11  # some pictures described, the others could not be read
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["image"] for r in rows] == [str(images["good"]), str(images["jpeg"])]
    for row in rows:
        assert JSON_KEYS <= set(row)
        assert row["provider"] == "CPUExecutionProvider"
        assert len(row["alternatives"]) == 2
        assert set(row["timings_ms"]) >= {"load", "preprocess", "vision", "encoder", "decode"}
        assert row["uncertain"] == (row["confidence"] < 0.64)
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)
    assert "notes.png" in errors[0] and "missing.png" in errors[1]
    assert "Traceback" not in done.stderr


def test_alternatives_are_reproducible_with_a_seed(tiny_florence2_onnx: Path, images) -> None:
    args = ("describe", str(images["good"]), "--model", str(tiny_florence2_onnx), "--json",
            "--max-tokens", "8", "--alternatives", "3")
    first = json.loads(lumen(*args, "--seed", "11").stdout)["alternatives"]
    again = json.loads(lumen(*args, "--seed", "11").stdout)["alternatives"]
    other = json.loads(lumen(*args, "--seed", "12").stdout)["alternatives"]
    assert first == again and first != other


@pytest.mark.parametrize("breakage", ["missing_folder", "no_decoder", "corrupt_decoder", "bad_config"])
def test_broken_model_folder_exits_3(tiny_florence2_onnx: Path, images, tmp_path: Path, breakage: str) -> None:
    import shutil

    folder = tmp_path / "model"
    if breakage != "missing_folder":
        shutil.copytree(tiny_florence2_onnx, folder)
        decoder = folder / "onnx" / "decoder_model_merged.onnx"
        if breakage == "no_decoder":
            for f in (folder / "onnx").glob("decoder_model_merged*.onnx"):
                f.unlink()
        elif breakage == "corrupt_decoder":
            decoder.write_bytes(decoder.read_bytes()[:5000])
        else:
            (folder / "config.json").write_text("{not json")
    done = lumen("describe", str(images["good"]), "--model", str(folder), "--dtype", "fp32")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    expected = {"missing_folder": "does not exist", "no_decoder": "decoder_model_merged.onnx",
                "corrupt_decoder": "decoder_model_merged.onnx", "bad_config": "config.json"}[breakage]
    assert expected in done.stderr


def test_no_default_model_says_how_to_install(images, tmp_path: Path) -> None:
    import os

    env = dict(os.environ, LUMEN_MODELS_DIR=str(tmp_path / "empty"))
    done = lumen("describe", str(images["good"]), env=env)
    assert done.returncode == 3
    assert "lumen models install" in done.stderr and "Traceback" not in done.stderr


def test_a_bug_met_on_one_picture_costs_that_picture_only(tiny_florence2_onnx: Path, images, monkeypatch,
                                                          capsys) -> None:
    """An exception that is not one of ours (a bug) on the first picture: one line naming it,
    the next picture still described; status 1, as a bug is more serious than a partial batch
    (models/exit_status.py); the traceback only with LUMEN_LOG=DEBUG."""
    from desktop.cli import main
    from models.captioner import Captioner

    real = Captioner.describe

    def failing_on_the_photo(self, image, *args, **kwargs):  # noqa: ANN001, ANN202
        if Path(image) == images["good"]:
            raise IndexError("list index out of range")
        return real(self, image, *args, **kwargs)

    monkeypatch.setattr(Captioner, "describe", failing_on_the_photo)
    argv = ["describe", str(images["good"]), str(images["jpeg"]), "--model", str(tiny_florence2_onnx),
            "--max-tokens", "4", "--json"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["image"] for line in out.splitlines()] == [str(images["jpeg"])]
    assert err.strip() == (f"error: {images['good']}: unexpected IndexError: list index out of range; "
                           "please report this")
    monkeypatch.setenv("LUMEN_LOG", "DEBUG")
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "Traceback" in err and err.strip().endswith("please report this") and len(out.splitlines()) == 1
