"""`lumen train BASE --data DIR`: fine-tune a BLIP or Florence-2 checkpoint on your own pictures,
then export, validate and install it (needs the `[train]` extra: torch, transformers)."""
from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import whole_number
from models.errors import require_extra


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return number


def fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError("must be at least 0 and below 1")
    return number


def add_run_arguments(parser: argparse.ArgumentParser, lr: float, epochs: int) -> None:
    """The options `train` and `distill` share."""
    parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                        help="pictures + metadata.jsonl (file_name, text), or + a CSV (image,caption), "
                             "or train/ and validation/ subfolders of either")
    parser.add_argument("--out", metavar="NAME", help="name to install the result as")
    parser.add_argument("--epochs", type=whole_number(1),
                        help=f"at most this many (default {epochs}; with --minutes, no limit: "
                             "training goes on until --patience or the time budget ends)")
    parser.set_defaults(default_epochs=epochs)
    parser.add_argument("--minutes", type=positive_float, metavar="M",
                        help="hard time budget for training: stop at the best checkpoint so far and export")
    parser.add_argument("--lr", type=positive_float, default=lr, help=f"AdamW learning rate (default {lr:g})")
    parser.add_argument("--batch", type=whole_number(1), default=8, help="pictures per step (default 8)")
    parser.add_argument("--val-split", type=fraction, default=0.1, metavar="F",
                        help="share of pictures held out for validation (default 0.1)")
    parser.add_argument("--patience", type=whole_number(1), default=3,
                        help="stop after this many epochs without a better validation loss (default 3)")
    parser.add_argument("--threads", type=whole_number(1), metavar="N",
                        help="CPU threads for torch (default: torch's choice; 1 is often fastest for tiny models)")
    parser.add_argument("--keep-checkpoint", type=Path, metavar="DIR",
                        help="also keep the best PyTorch checkpoint in DIR (a BASE for more training)")
    parser.add_argument("--restart", action="store_true",
                        help="discard an unfinished run of the same name instead of resuming it")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", metavar="BASE", help="checkpoint folder saved by save_pretrained (or a hub id when online)")
    add_run_arguments(parser, lr=5e-5, epochs=10)


def require_training_stack() -> None:
    """MissingExtraError (12) when the `[train]` extra is not installed."""
    require_extra("train", "torch", "transformers", "tqdm", "matplotlib", what="training")


def settings_from(args: argparse.Namespace):
    import torch

    from training.loop import TrainingSettings

    if args.threads:
        torch.set_num_threads(args.threads)
    return TrainingSettings(epochs=args.epochs, minutes=args.minutes, lr=args.lr, batch=args.batch,
                    patience=args.patience, default_epochs=args.default_epochs)


def run(args: argparse.Namespace) -> None:
    require_training_stack()
    from training.install import check_run

    check_run(args.base, args.data, args.out, "finetuned", args.val_split)  # before torch loads
    from training.api import train

    # Ctrl+C and torch's own failures arrive as our errors (training.api.ends_as_lumen_errors).
    train(args.base, args.data, args.out, settings_from(args), val_split=args.val_split,
          restart=args.restart, keep_checkpoint=args.keep_checkpoint,
          log=lambda line: print(line, flush=True))

