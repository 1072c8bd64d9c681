"""`lumen distill`: the loss is α·CE + (1−α)·T²·KL, the student has half the layers and starts
from the teacher's, and the CLI exports and installs it as "distilled here". The quality and
speed figures (student CIDEr vs teacher's) come from running the CLI (README, "Training")."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_loss_is_alpha_ce_plus_t2_kl() -> None:
    import torch

    from training.distill import distillation_loss

    gen = torch.Generator().manual_seed(0)
    s, t = torch.randn(2, 3, 5, generator=gen), torch.randn(2, 3, 5, generator=gen)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    ce, T, alpha = torch.tensor(1.7), 2.0, 0.3
    kl, n = 0.0, 0
    for b in range(2):
        for i in range(3):
            if labels[b, i] == -100:
                continue
            p_t = [math.exp(v) for v in (t[b, i] / T).tolist()]
            p_s = [math.exp(v) for v in (s[b, i] / T).tolist()]
            zt, zs = sum(p_t), sum(p_s)
            kl += sum(pt / zt * math.log((pt / zt) / (ps / zs)) for pt, ps in zip(p_t, p_s))
            n += 1
    expected = alpha * 1.7 + (1 - alpha) * T * T * kl / n
    assert float(distillation_loss(s, t, labels, ce, alpha, T)) == pytest.approx(expected, rel=1e-5)
    assert float(distillation_loss(t, t, labels, ce, alpha, T)) == pytest.approx(alpha * 1.7, abs=1e-6)


def test_student_has_half_the_layers_copied_from_the_teacher(shapes_blip: Path) -> None:
    import torch

    from training.distill import make_student
    from training.families import TrainingFamily

    teacher = TrainingFamily(shapes_blip).model
    student = make_student(teacher, "blip", None, None)
    assert student.config.text_config.num_hidden_layers == 1
    assert len(student.vision_model.encoder.layers) == 1
    assert torch.equal(student.text_decoder.bert.encoder.layer[0].attention.self.query.weight,
                       teacher.text_decoder.bert.encoder.layer[0].attention.self.query.weight)
    narrow = make_student(teacher, "blip", 1, 32)
    assert narrow.config.text_config.hidden_size == 32 == narrow.config.text_config.encoder_hidden_size
    assert sum(p.numel() for p in narrow.parameters()) < sum(p.numel() for p in student.parameters())


def test_distill_cli_installs_a_smaller_student(shapes_blip: Path, shapes_data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LUMEN_MODELS_DIR": str(tmp_path / "models")}
    done = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "distill", str(shapes_blip), "--data", str(shapes_data),
         "--out", "student", "--epochs", "1", "--lr", "1e-3", "--batch", "16", "--threads", "1",
         "--temperature", "2", "--alpha", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "student:" in done.stdout and "parameters" in done.stdout
    folder = tmp_path / "models" / "student"
    config = json.loads((folder / "config.json").read_text())
    assert config["text_config"]["num_hidden_layers"] == 1 == config["vision_config"]["num_hidden_layers"]
    origin = json.loads((folder / "origin.json").read_text())
    assert origin["origin"] == "distilled" and origin["student_parameters"] < origin["teacher_parameters"]
    from services.model_notes import origin_label

    assert origin_label(folder) == "distilled here"
