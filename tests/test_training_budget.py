"""`lumen train --minutes M` without --epochs trains until the patience or the budget ends, not
for the default 10 epochs. The budget is measured on a fake clock, so no test depends on speed."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.support.require import require

from training.loop import TrainingSettings

require("torch")


def test_the_epoch_limit_of_each_combination() -> None:
    assert TrainingSettings().epoch_limit == 10
    assert TrainingSettings(default_epochs=15).epoch_limit == 15
    assert TrainingSettings(minutes=10).epoch_limit == math.inf
    assert TrainingSettings(epochs=3, minutes=10).epoch_limit == 3
    assert TrainingSettings(epochs=30).epoch_limit == 30


class Clock:
    """Advances one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_a_time_budget_alone_trains_past_the_default_epochs(shapes_data: Path, shapes_blip: Path,
                                                            tmp_path: Path) -> None:
    from training.data import load_dataset
    from training.families import TrainingFamily
    from training.loop import Trainer

    split = load_dataset(shapes_data, 0.1)
    # 36 s on the fake clock, which the loop reads 3 times an epoch: 12 epochs.
    settings = TrainingSettings(minutes=0.6, lr=1e-3, batch=4, patience=1000, samples=0)
    trainer = Trainer(TrainingFamily(shapes_blip), split.train[:4], split.validation[:2], tmp_path / "work",
                      settings, identity={"test": 1}, log=lambda _: None, clock=Clock())
    _, state = trainer.run()
    assert state.stopped == "time budget"
    assert state.epoch > settings.default_epochs
    assert state.history[-1]["val_loss"] < state.history[0]["val_loss"]
