"""The model `POST /learning-model` answers with, and training it on the collected pairs.

The seed service's loop: pairs arrive at `POST /caption` (the local training set), a model is
trained on them, and `/learning-model` captions with it. Training is the command layer's
business (services never import training/): `lumen serve` hands in a `Trainer` callable, which
runs here on its own worker thread while the engine keeps answering. The trained model is then
loaded on the engine worker by the first request that needs it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.worker import SerialWorker

# (training set folder) -> the folder of the model trained and installed from it.
Trainer = Callable[[Path], Path]

IDLE, TRAINING, DONE, FAILED = "idle", "training", "done", "failed"


class LearningBusy(Exception):
    """A training run is already going on."""


class NoTrainer(Exception):
    """This server was started without a base to train (`lumen serve --learn-from BASE`)."""


@dataclass(frozen=True)
class LearningStatus:
    state: str  # idle, training, done (the last run finished) or failed
    model: str | None  # the folder /learning-model answers with; None: the same model as POST /
    trained_here: bool  # the model was trained by this server from the collected pairs
    pairs: int | None  # pairs the current or last run trained on
    error: str | None  # why the last run failed
    started: float | None  # time.time() of the current or last run's start
    finished: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Learning:
    """Which model answers /learning-model, and one background training run at a time."""

    def __init__(self, model: Path | None, trained_here: bool, training_dir: Path,
                 trainer: Trainer | None, count_pairs: Callable[[Path], int]) -> None:
        self._lock = threading.Lock()
        self._model, self._trained_here = model, trained_here
        self._training_dir, self._trainer, self._count = training_dir, trainer, count_pairs
        self._state, self._pairs, self._error = IDLE, None, None
        self._started: float | None = None
        self._finished: float | None = None
        self._worker = SerialWorker("lumen-learning") if trainer else None
        self.captioner: Any = None  # the loaded model, on the engine worker (see `loaded`)

    @property
    def model(self) -> Path | None:
        with self._lock:
            return self._model

    def status(self) -> LearningStatus:
        with self._lock:
            return LearningStatus(self._state, None if self._model is None else str(self._model),
                                  self._trained_here, self._pairs, self._error, self._started, self._finished)

    def train(self) -> LearningStatus:
        """Start training on the collected pairs in the background; raises NoTrainer or
        LearningBusy. The answer is the status with the run started."""
        if self._worker is None or self._trainer is None:
            raise NoTrainer("this server cannot train: start it with `lumen serve --learn-from BASE` "
                            "(a BLIP or Florence-2 checkpoint saved by save_pretrained)")
        trainer = self._trainer
        with self._lock:
            if self._state == TRAINING:
                raise LearningBusy("a training run is already going on; poll GET /learning-model")
            self._state, self._error, self._finished = TRAINING, None, None
            self._started, self._pairs = time.time(), self._count(self._training_dir)
        self._worker.submit(lambda job: self._run(trainer), name="train")
        return self.status()

    def _run(self, trainer: Trainer) -> None:
        try:
            folder = trainer(self._training_dir)
        except BaseException as e:  # noqa: BLE001 - any failure is reported by the status route
            with self._lock:
                self._state, self._error, self._finished = FAILED, " ".join(str(e).split()) or type(e).__name__, time.time()
            return
        with self._lock:
            self._model, self._trained_here = Path(folder), True
            self._state, self._finished = DONE, time.time()

    def loaded(self, load: Callable[[Path], Any]) -> Any | None:
        """The captioner for the current model, loaded by `load` on first use (call on the engine
        worker only); None when /learning-model answers with the main model."""
        folder = self.model
        if folder is None:
            return None
        if self.captioner is None or getattr(self, "_loaded_from", None) != folder:
            self.captioner, self._loaded_from = load(folder), folder
        return self.captioner

    def close(self, timeout: float = 0.0) -> None:
        if self._worker is not None:
            self._worker.shutdown(timeout, cancel_running=False)
