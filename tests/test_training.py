"""`lumen train` as a user runs it: real processes, a tiny random BLIP, synthetic shapes.

One short run proves learning (held-out loss falls far below the untrained model's), Ctrl+C
during training then the same command resumes from the last epoch's checkpoint, and the
installed ONNX model captions held-out pictures exactly as the PyTorch checkpoint does. The full
10-minute BLEU-4 figure is produced by the CLI itself (README, "Training").
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lumen(*args: str, models: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "LUMEN_MODELS_DIR": str(models), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "desktop.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_train_learns_survives_ctrl_c_resumes_and_exports_the_same_captions(
        shapes_data: Path, shapes_blip: Path, tmp_path: Path) -> None:
    models, keep = tmp_path / "models", tmp_path / "checkpoint"
    args = ["train", str(shapes_blip), "--data", str(shapes_data), "--out", "shapes", "--epochs", "4",
            "--lr", "2e-3", "--batch", "16", "--threads", "1", "--val-split", "0.1",
            "--keep-checkpoint", str(keep)]
    first = lumen(*args, models=models)
    lines = []
    for line in first.stdout:  # stop it like Ctrl+C once epoch 1's checkpoint is on disk
        lines.append(line)
        if line.startswith("epoch 1:"):
            first.send_signal(signal.SIGINT)
            break
    out, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert (models / ".training" / "shapes" / "epoch-0001" / "state.json").is_file()

    second = lumen(*args, models=models)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err[-2000:]
    assert "resuming after epoch 1" in out
    assert "batches" in err and "left, loss" in err  # the bar: progress, time left, loss
    assert f"lumen describe --model {models / 'shapes'}" in out
    assert not (models / ".training" / "shapes").exists()  # work folder gone once installed

    origin = json.loads((models / "shapes" / "origin.json").read_text())
    assert origin["origin"] == "trained" and origin["epochs"] == 4
    history = origin["history"]
    assert [row["epoch"] for row in history] == [0, 1, 2, 3, 4]  # no epoch trained twice
    assert min(r["val_loss"] for r in history[1:]) < 0.5 * history[0]["val_loss"]
    assert (models / "shapes" / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    listed = json.loads(subprocess.run(
        [sys.executable, "-m", "desktop.cli", "models", "list", "--json"], cwd=ROOT, capture_output=True,
        text=True, env={**os.environ, "LUMEN_MODELS_DIR": str(models)}).stdout)
    assert any(m["name"] == "shapes" and m["source"].startswith("trained here")
               for m in listed.get("installed", listed) if isinstance(m, dict))

    from models.captioner import Captioner
    from training.data import load_dataset
    from training.families import TrainingFamily

    held_out = [p.image for p in load_dataset(shapes_data, 0.1).validation][:8]
    torch_captions = TrainingFamily(keep).captions(held_out)
    onnx = Captioner.load(models / "shapes", device="cpu")
    assert [onnx.describe(p).caption for p in held_out] == torch_captions
    assert len(set(torch_captions)) > 1  # it looks at the picture


def test_corrections_are_given_back(shapes_blip: Path, tmp_path: Path) -> None:
    """The corrections saved from the window are a dataset `lumen train` reads as it is."""
    import random

    from models.captioner import Captioner
    from services.training_set import TrainingSet
    from tests.support.shapes_data import COLOURS, KINDS, PLACES, SIZES, picture

    rng = random.Random(3)
    corrections = TrainingSet(tmp_path / "corrections")
    for i in range(12):  # three batches of four: 450 steps (twenty took 750, CI time)
        spec = (1 + i % 3, rng.choice(list(SIZES)), rng.choice(list(COLOURS)), rng.choice(KINDS),
                PLACES[i % 4])
        words = ["one", "two", "three"][spec[0] - 1]
        corrections.add(picture(rng, *spec), f"{words} {spec[2]} {spec[3]} at the {spec[4]}")
    models = tmp_path / "models"
    done = lumen("train", str(shapes_blip), "--data", str(corrections.root), "--out", "mine",
                 "--val-split", "0", "--epochs", "150", "--lr", "1e-3", "--batch", "4",
                 "--threads", "1", models=models)
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err[-2000:]
    model = Captioner.load(models / "mine", device="cpu")
    given = {e.text: model.describe(e.path).caption for e in corrections.examples()}
    assert given == {text: text for text in given}


def test_bad_datasets_and_taken_names_are_one_line_errors(shapes_blip: Path, tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "captions.csv").write_text("picture,words\na.png,hello\n")
    (tmp_path / "models" / "taken").mkdir(parents=True)
    cases = [
        (["--data", str(tmp_path / "nowhere")], 2, "is not a folder"),
        (["--data", str(tmp_path / "csv")], 2, "image,caption"),
        (["--data", str(tmp_path / "csv"), "--out", "bad name"], 2, "cannot be a model name"),
    ]
    for extra, code, words in cases:
        done = lumen("train", str(shapes_blip), *extra, models=tmp_path / "models")
        out, err = done.communicate(timeout=120)
        assert done.returncode == code, (extra, err)
        assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    done = lumen("train", str(shapes_blip), "--data", str(tmp_path), "--lr", "-1", models=tmp_path)
    assert done.wait(60) == 2 and "--lr: must be above 0" in done.stderr.read()  # argparse's usage


def test_csv_and_split_folders_are_read(tmp_path: Path) -> None:
    from PIL import Image

    from training.data import load_dataset

    for sub in ("train", "validation"):
        (tmp_path / sub).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / sub / f"{i}.png")
        (tmp_path / sub / "labels.csv").write_text(
            "Image,Caption\n" + "".join(f"{i}.png,\"{sub} picture, number {i}\"\n" for i in range(3)))
    split = load_dataset(tmp_path)
    assert [p.text for p in split.validation] == [f"validation picture, number {i}" for i in range(3)]
    assert len(split.train) == 3 and split.layout.startswith("train/ + validation/")
    flat = load_dataset(tmp_path / "train", val_split=0.34)
    assert len(flat.validation) == 1 and len(flat.train) == 2
    assert load_dataset(tmp_path / "train", val_split=0.34).validation == flat.validation  # seeded
