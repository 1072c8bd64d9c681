"""`lumen distill`: a smaller student of the teacher's family learns from the teacher's logits and
the labels: loss = α·CE(student, labels) + (1−α)·T²·KL(teacher_T ‖ student_T), where _T is the
softmax at temperature T (Hinton et al., 2015; T² keeps the soft term's gradient scale).

The student has `layers` transformer layers in the vision encoder and in the text decoder (default
half the teacher's). With the teacher's width its layers start as copies of every other teacher
layer and the rest of its weights (embeddings, heads) as the teacher's (DistilBERT's recipe), so it
starts close to the teacher; with another `width` it starts from transformers' random init.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from models.registry import Registry
from training.api import (RunReport, ends_as_lumen_errors, quiet_transformers, resolve_base,
                          run_and_install)
from training.data import load_dataset
from training.families import Batch, TrainingFamily, TrainingError
from training.install import check_free, default_name
from training.loop import TrainingSettings


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      ce: torch.Tensor, alpha: float, temperature: float) -> torch.Tensor:
    """α·ce + (1−α)·T²·KL(teacher‖student), the KL averaged over the labelled positions."""
    keep = labels != -100
    s = student_logits[keep] / temperature
    t = teacher_logits[keep] / temperature
    kl = F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), log_target=True, reduction="batchmean")
    return alpha * ce + (1 - alpha) * temperature ** 2 * kl


def _layer_lists(model: Any, family: str) -> list[tuple[str, Any]]:
    """(config attribute holder, ModuleList of layers) for each stack the student shrinks."""
    if family == "blip":
        return [("vision_config", model.vision_model.encoder.layers),
                ("text_config", model.text_decoder.bert.encoder.layer)]
    raise TrainingError("lumen distill makes BLIP students; Florence-2 students are not supported yet.")


def make_student(teacher: Any, family: str, layers: int | None, width: int | None) -> Any:
    """A same-family model with `layers` per stack (and `width` hidden units when given)."""
    config = copy.deepcopy(teacher.config)
    stacks = _layer_lists(teacher, family)
    counts = [len(s) for _, s in stacks]
    layers = layers or max(1, min(counts) // 2)
    if layers < 1 or layers > min(counts):
        raise TrainingError(f"--student-layers must be between 1 and {min(counts)} (the teacher has {counts}).")
    for attr, _ in stacks:
        sub = getattr(config, attr)
        sub.num_hidden_layers = layers
        if width:
            heads = sub.num_attention_heads
            if width % heads:
                raise TrainingError(f"--student-width must be a multiple of {heads} (the attention heads).")
            ratio = sub.intermediate_size / sub.hidden_size
            sub.hidden_size, sub.intermediate_size = width, int(width * ratio)
    if width:
        config.text_config.encoder_hidden_size = config.vision_config.hidden_size
        config.vision_config.initializer_range = config.vision_config.initializer_range or 0.02
    student = type(teacher)(config)
    if not width or width == teacher.config.text_config.hidden_size:
        _copy_teacher(teacher, student, family, layers)
    return student


def _copy_teacher(teacher: Any, student: Any, family: str, layers: int) -> None:
    """Every weight that exists in both; student layer i = teacher layer round(i·n/layers)."""
    student.load_state_dict(teacher.state_dict(), strict=False)
    for (_, t_stack), (_, s_stack) in zip(_layer_lists(teacher, family), _layer_lists(student, family)):
        n = len(t_stack)
        for i in range(layers):
            s_stack[i].load_state_dict(t_stack[min(n - 1, round(i * n / layers))].state_dict())


@ends_as_lumen_errors("distillation")
def distill(teacher_src: str, data: Path, name: str | None, settings: TrainingSettings, *,
            layers: int | None = None, width: int | None = None, alpha: float = 0.5,
            temperature: float = 2.0, val_split: float = 0.1, restart: bool = False,
            registry: Registry | None = None, keep_checkpoint: Path | None = None,
            log: Callable[[str], Any] = print) -> RunReport:
    quiet_transformers()
    folder = resolve_base(teacher_src)
    name = name or default_name(teacher_src, "student")
    check_free(name, registry or Registry())
    split = load_dataset(data, val_split)
    teacher = TrainingFamily(folder)
    teacher.model.eval().requires_grad_(False)
    student = TrainingFamily(folder, model=make_student(teacher.model, teacher.name, layers, width))
    sizes = [sum(p.numel() for p in m.parameters()) for m in (teacher.model, student.model)]
    log(f"teacher {folder}: {sizes[0]:,} parameters; student: {sizes[1]:,} parameters "
        f"({_layers(student.model)} layers per stack)")

    def loss_fn(family: TrainingFamily, batch: Batch, outputs: Any) -> torch.Tensor:
        with torch.no_grad():
            t_logits = teacher.logits_for(teacher.model(**batch.inputs))
        return distillation_loss(family.logits_for(outputs), t_logits, batch.labels, outputs.loss,
                                 alpha, temperature)

    identity = {"command": "distill", "base": str(folder.resolve()), "layers": _layers(student.model),
                "width": width, "alpha": alpha, "temperature": temperature}
    return run_and_install(
        student, data, split, name, settings, val_split=val_split, restart=restart, identity=identity,
        origin={"origin": "distilled", "base": str(teacher_src), "teacher_parameters": sizes[0],
                "student_parameters": sizes[1], "layers": _layers(student.model), "alpha": alpha,
                "temperature": temperature},
        loss_fn=loss_fn, registry=registry, keep_checkpoint=keep_checkpoint, log=log)


def _layers(model: Any) -> int:
    return int(model.config.text_config.num_hidden_layers)
