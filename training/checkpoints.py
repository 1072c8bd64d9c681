"""Per-epoch checkpoints in a work folder, written so that a crash at any moment leaves the last
complete one usable.

    <work>/epoch-0003/    a whole checkpoint: model files (save_pretrained), optimizer.pt,
                          state.json (the run's progress after that epoch)
Each is built as `epoch-NNNN.tmp` and renamed into place when complete (rename is atomic), so a
folder without the suffix is always whole. Only the latest and the best are kept.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.fsutil import fsync_dir, fsync_tree, write_atomic

_EPOCH = re.compile(r"epoch-(\d{4})")


@dataclass
class RunState:
    """Progress of one training run; stored in every checkpoint."""

    identity: dict[str, Any]  # base, data, settings that must match to resume
    epoch: int = 0  # epochs completed
    best_epoch: int = 0
    best_val: float | None = None
    bad_epochs: int = 0  # epochs since the validation loss last improved
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    seconds: float = 0.0  # training time over all sessions of the run
    stopped: str = ""  # why the run ended: "epochs", "early stop", "time budget"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def epoch_dir(work: Path, epoch: int) -> Path:
    return work / f"epoch-{epoch:04d}"


def checkpoints(work: Path) -> list[int]:
    """Epochs with a complete checkpoint, ascending."""
    if not work.is_dir():
        return []
    return sorted(int(m.group(1)) for p in work.iterdir()
                  if (m := _EPOCH.fullmatch(p.name)) and (p / "state.json").is_file())


def latest(work: Path) -> tuple[Path, RunState] | None:
    done = checkpoints(work)
    if not done:
        return None
    folder = epoch_dir(work, done[-1])
    return folder, RunState(**json.loads((folder / "state.json").read_text()))


def save(work: Path, state: RunState, write_model: Any, optimizer_state: dict | None) -> Path:
    """Write checkpoint `state.epoch` atomically, then drop those neither latest nor best."""
    final = epoch_dir(work, state.epoch)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_model(tmp)
    if optimizer_state is not None:
        import torch

        torch.save(optimizer_state, tmp / "optimizer.pt")
    write_state(tmp, state)
    fsync_tree(tmp)  # whole on the disk before the name says it is complete
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    fsync_dir(work)
    for epoch in checkpoints(work):
        if epoch not in (state.epoch, state.best_epoch):
            shutil.rmtree(epoch_dir(work, epoch), ignore_errors=True)
    return final


def write_state(folder: Path, state: RunState) -> None:
    write_atomic(folder / "state.json", json.dumps(state.to_json(), indent=2))
