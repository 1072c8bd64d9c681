"""`lumen train` end to end: dataset -> fine-tuned checkpoint -> validated ONNX -> installed model."""
from __future__ import annotations

import functools
import inspect
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from models.errors import CancelledError, LumenError
from models.registry import InstalledModel, Registry
from training.checkpoints import RunState
from training.data import Split, load_dataset
from training.families import TrainingFamily, TrainingError
from training.install import check_free, default_name, how_to_use, install_checkpoint
from training.loop import LossFn, TrainingSettings, Trainer, plain_loss
from training.plot import loss_curve


@dataclass(frozen=True)
class RunReport:
    model: InstalledModel
    state: RunState
    best_checkpoint_epoch: int
    train_pictures: int
    validation_pictures: int
    loss_png: Path


def work_dir(registry: Registry, name: str) -> Path:
    """Where an unfinished run keeps its checkpoints (removed once the model is installed)."""
    return registry.root / ".training" / name


def quiet_transformers() -> None:
    """Our own lines and one progress bar, not transformers' loading bars and notices."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", module=r"(torch|transformers)(\..*)?")


def resolve_base(base: str) -> Path:
    from export.api import resolve_source

    return resolve_source(base)


def run_and_install(family: TrainingFamily, data: Path, split: Split, name: str, settings: TrainingSettings, *,
                    val_split: float,
                    restart: bool, identity: dict[str, Any], origin: dict[str, Any],
                    loss_fn: LossFn = plain_loss, registry: Registry | None = None,
                    work: Path | None = None, keep_checkpoint: Path | None = None,
                    log: Callable[[str], Any] = print) -> RunReport:
    """Train `family.model` on `data` (resuming an interrupted run), then export and install;
    `keep_checkpoint` also keeps the best PyTorch checkpoint there (a BASE for more training)."""
    quiet_transformers()
    registry = registry or Registry()
    check_free(name, registry)
    work = work or work_dir(registry, name)
    log(f"{len(split.train)} training and {len(split.validation)} validation pictures "
        f"({split.layout}); checkpoints in {work}")
    trainer = Trainer(family, split.train, split.validation, work, settings,
                      identity={**identity, "data": str(Path(data).resolve()), "val_split": val_split,
                                "lr": settings.lr, "batch": settings.batch, "seed": settings.seed},
                      loss_fn=loss_fn, log=log)
    best, state = trainer.run(restart=restart)
    png = loss_curve(state.history, work / "loss.png", f"{name}: loss per epoch")
    log(f"stopped: {state.stopped}; best epoch {state.best_epoch} "
        f"(validation loss {state.best_val:.4f}); training took {state.seconds:.0f} s; "
        f"loss curve: {png}")
    log("exporting the best checkpoint to ONNX and checking it against PyTorch")
    model = install_checkpoint(best, name, {**origin, "data": str(Path(data).resolve()),
                                            "epochs": state.epoch, "best_epoch": state.best_epoch,
                                            "val_loss": state.best_val, "stopped": state.stopped,
                                            "train_seconds": round(state.seconds, 1),
                                            "history": state.history},
                               registry=registry, extra_files=(png,), log=log)
    if keep_checkpoint is not None:
        shutil.rmtree(keep_checkpoint, ignore_errors=True)
        shutil.copytree(best, keep_checkpoint, ignore=shutil.ignore_patterns("optimizer.pt", "state.json"))
        log(f"PyTorch checkpoint kept in {keep_checkpoint}")
    shutil.rmtree(work, ignore_errors=True)
    log(how_to_use(model))
    return RunReport(model, state, state.best_epoch, len(split.train), len(split.validation),
                     model.path / png.name)


T = TypeVar("T")


def ends_as_lumen_errors(what: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """How a run (`train`, `distill`) ends when it fails: Ctrl+C keeps the finished epochs'
    checkpoints and says how to resume (CancelledError); an OSError, ValueError or RuntimeError
    from torch, transformers or the files becomes TrainingError("{what} failed: ...")."""
    def wrap(run: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(run)
        def guarded(*args: Any, **kwargs: Any) -> T:
            try:
                return run(*args, **kwargs)
            except KeyboardInterrupt:
                name = inspect.signature(run).bind(*args, **kwargs).arguments.get("name")
                raise CancelledError("interrupted; the checkpoints of finished epochs are kept: run the same "
                                     "command again to resume" + (f" '{name}'" if name else "")) from None
            except LumenError:
                raise
            except (OSError, ValueError, RuntimeError) as e:
                raise TrainingError(f"{what} failed: {e}") from e
        return guarded
    return wrap


@ends_as_lumen_errors("training")
def train(base: str, data: Path, name: str | None, settings: TrainingSettings, *, val_split: float = 0.1,
          restart: bool = False, registry: Registry | None = None,
          keep_checkpoint: Path | None = None, log: Callable[[str], Any] = print) -> RunReport:
    quiet_transformers()
    folder = resolve_base(base)
    name = name or default_name(base, "finetuned")
    check_free(name, registry or Registry())
    split = load_dataset(data, val_split)  # a bad dataset fails before the model loads
    family = TrainingFamily(folder)
    log(f"fine-tuning {family.name} from {folder} as '{name}'")
    return run_and_install(
        family, data, split, name, settings, val_split=val_split, restart=restart,
        identity={"command": "train", "base": str(folder.resolve())},
        origin={"origin": "trained", "base": str(base)}, registry=registry,
        keep_checkpoint=keep_checkpoint, log=log)
