"""The training loop shared by `lumen train` and `lumen distill`.

AdamW over shuffled batches (order seeded by epoch, so a resumed run sees what an unbroken one
would); validation loss after every epoch; a checkpoint every epoch (training/checkpoints.py);
early stop after `patience` epochs without improvement; `minutes` is a hard budget checked
between batches, after which the best checkpoint so far is the result. With a budget and no
epoch count, epochs go on until the patience or the budget ends. Ctrl+C or a crash
loses at most the epoch in progress: running the same command again resumes.
"""
from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.image_io import load_image
from training import checkpoints
from training.checkpoints import RunState
from training.data import Pair
from training.families import Batch, TrainingFamily, TrainingError

# Pictures are decoded and preprocessed once and kept in memory up to this size.
PIXEL_CACHE_BYTES = 2 << 30

LossFn = Callable[[TrainingFamily, Batch, Any], torch.Tensor]


@dataclass(frozen=True)
class TrainingSettings:
    epochs: int | None = None  # None: default_epochs, or no limit when `minutes` is set
    minutes: float | None = None
    lr: float = 5e-5
    batch: int = 8
    patience: int = 3
    weight_decay: float = 0.01
    seed: int = 0
    samples: int = 2  # validation captions printed after each epoch
    default_epochs: int = 10

    @property
    def epoch_limit(self) -> float:
        """The most epochs to run: a time budget alone leaves it to the patience and the clock."""
        if self.epochs is not None:
            return self.epochs
        return math.inf if self.minutes else self.default_epochs


def plain_loss(family: TrainingFamily, batch: Batch, outputs: Any) -> torch.Tensor:
    return outputs.loss


class Trainer:
    def __init__(self, family: TrainingFamily, train: list[Pair], validation: list[Pair], work: Path,
                 settings: TrainingSettings, identity: dict[str, Any], loss_fn: LossFn = plain_loss,
                 log: Callable[[str], Any] = print, clock: Callable[[], float] = time.monotonic) -> None:
        if not train:
            raise TrainingError("The training split is empty; add pictures or lower --val-split.")
        self.family, self.train, self.validation = family, list(train), list(validation)
        self.work, self.settings, self.loss_fn, self.log = Path(work), settings, loss_fn, log
        self.identity = identity
        self.clock = clock  # seconds; the time budget is measured on it
        self.optimizer = torch.optim.AdamW(family.model.parameters(), lr=settings.lr,
                                           weight_decay=settings.weight_decay)
        self._pixels: dict[Path, torch.Tensor] = {}
        self._cache_ok = True

    # --- batches --------------------------------------------------------------------------

    def _batch(self, pairs: list[Pair]) -> Batch:
        missing = [p.image for p in pairs if p.image not in self._pixels]
        if missing:
            values = self.family.pixels([load_image(p) for p in missing])
            if self._cache_ok:
                per_image = values[0].numel() * values.element_size()
                self._cache_ok = per_image * (len(self.train) + len(self.validation)) <= PIXEL_CACHE_BYTES
            fresh = dict(zip(missing, values))
            if self._cache_ok:
                self._pixels.update(fresh)
        else:
            fresh = {}
        pixels = torch.stack([self._pixels.get(p.image, fresh.get(p.image)) for p in pairs])
        return self.family.batch_from_pixels(pixels, [p.text for p in pairs])

    def _chunks(self, pairs: list[Pair], seed: int | None) -> list[list[Pair]]:
        order = list(pairs)
        if seed is not None:
            random.Random(seed).shuffle(order)
        size = self.settings.batch
        return [order[i:i + size] for i in range(0, len(order), size)]

    @torch.no_grad()
    def validation_loss(self) -> float:
        if not self.validation:
            return float("nan")
        self.family.model.eval()
        total, count = 0.0, 0
        for chunk in self._chunks(self.validation, None):
            batch = self._batch(chunk)
            loss = self.loss_fn(self.family, batch, self.family.model(**batch.inputs))
            total, count = total + float(loss) * len(chunk), count + len(chunk)
        return total / count

    # --- the run --------------------------------------------------------------------------

    def _resume(self, restart: bool) -> RunState:
        found = None if restart else checkpoints.latest(self.work)
        if found is None:
            return RunState(identity=self.identity)
        folder, state = found
        if state.identity != self.identity:
            changed = sorted(k for k in set(state.identity) | set(self.identity)
                             if state.identity.get(k) != self.identity.get(k))
            raise TrainingError(
                f"{self.work} holds an unfinished run with other settings ({', '.join(changed)}); "
                "run with the same settings to resume it, or add --restart to start over.")
        loaded = self.family.load_model(folder)
        self.family.model.load_state_dict(loaded.state_dict())
        if (folder / "optimizer.pt").is_file():
            self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt"))
        self.log(f"resuming after epoch {state.epoch} (best so far: epoch {state.best_epoch}, "
                 f"validation loss {state.best_val:.4f})" if state.best_val is not None
                 else f"resuming after epoch {state.epoch}")
        return state

    def run(self, restart: bool = False) -> tuple[Path, RunState]:
        """Train; returns the best checkpoint folder and the final state."""
        from tqdm import tqdm

        s = self.settings
        state = self._resume(restart)
        if state.stopped:
            self.log(f"this run already finished ({state.stopped}); using its best checkpoint")
            return checkpoints.epoch_dir(self.work, state.best_epoch), state
        if not state.history:  # the untrained model's validation loss: where the curve starts
            state.history.append({"epoch": 0, "train_loss": float("nan"),
                                  "val_loss": self.validation_loss(), "seconds": 0.0})
            self.log(f"before training: validation loss {state.history[0]['val_loss']:.4f}")
        start = self.clock()
        deadline = start + s.minutes * 60 if s.minutes else math.inf
        steps = math.ceil(len(self.train) / s.batch)
        limit = s.epoch_limit
        of = "" if math.isinf(limit) else f"/{int(limit)}"
        bar = tqdm(total=None if math.isinf(limit) else int(limit) * steps, initial=state.epoch * steps, unit="batch",
                   file=sys.stderr, dynamic_ncols=True, mininterval=1.0,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} batches [{elapsed}<{remaining} left{postfix}]")
        try:
            while state.epoch < limit and not state.stopped:
                epoch = state.epoch + 1
                bar.set_description(f"epoch {epoch}{of}")
                torch.manual_seed(s.seed * 100_003 + epoch)  # dropout: resumed = unbroken run
                self.family.model.train()
                t0, losses, out_of_time = self.clock(), [], False
                for chunk in self._chunks(self.train, s.seed * 100_003 + epoch):
                    if self.clock() >= deadline:
                        out_of_time = True
                        break
                    batch = self._batch(chunk)
                    loss = self.loss_fn(self.family, batch, self.family.model(**batch.inputs))
                    if not torch.isfinite(loss):
                        raise TrainingError(f"the loss became {float(loss)} in epoch {epoch}; "
                                            "lower --lr and run again with --restart.")
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                    losses.append(float(loss.detach()))
                    bar.update(1)
                    bar.set_postfix_str(f"loss {sum(losses[-20:]) / len(losses[-20:]):.3f}", refresh=False)
                if out_of_time and state.epoch > 0:
                    state.stopped = "time budget"  # the partial epoch is dropped
                    break
                state = self._end_epoch(state, epoch, losses, self.clock() - t0, out_of_time)
                if out_of_time:
                    state.stopped = "time budget"
        finally:
            bar.close()
        if not state.stopped:
            state.stopped = "early stop" if state.bad_epochs >= s.patience else "epochs"
        self._mark_finished(state)
        return checkpoints.epoch_dir(self.work, state.best_epoch), state

    def _end_epoch(self, state: RunState, epoch: int, losses: list[float], seconds: float,
                   partial: bool) -> RunState:
        val = self.validation_loss()
        train_loss = sum(losses) / len(losses) if losses else float("nan")
        state.epoch, state.seconds = epoch, state.seconds + seconds
        state.history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val,
                              "seconds": round(seconds, 2)})
        improved = state.best_val is None or math.isnan(val) or val < state.best_val
        if improved:
            state.best_epoch, state.best_val, state.bad_epochs = epoch, val, 0
        else:
            state.bad_epochs += 1
        if state.bad_epochs >= self.settings.patience:
            state.stopped = "early stop"
        checkpoints.save(self.work, state, self.family.save, self.optimizer.state_dict())
        note = " (best)" if improved else f" (no better for {state.bad_epochs})"
        self.log(f"epoch {epoch}{' (cut short by the time budget)' if partial else ''}: "
                 f"train loss {train_loss:.4f}, validation loss {val:.4f}{note}, "
                 f"{seconds:.0f} s; checkpoint saved")
        for pair, text in zip(self.validation, self._samples()):
            self.log(f"  {pair.image.name}: {text!r} (reference: {pair.text!r})")
        return state

    def _samples(self) -> list[str]:
        picks = self.validation[:self.settings.samples]
        return self.family.captions([p.image for p in picks]) if picks else []

    def _mark_finished(self, state: RunState) -> None:
        """Record why the run ended in its latest checkpoint, so running it again does not
        train on (and a finished run's best checkpoint is what is exported)."""
        found = checkpoints.latest(self.work)
        if found is not None:
            checkpoints.write_state(found[0], state)
