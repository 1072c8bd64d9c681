"""`lumen distill TEACHER --data DIR`: a smaller, faster student learns from the teacher's logits
and the labels (α·CE + (1−α)·KL at temperature T, AdamW), then is exported, validated and
installed; the figures compare student and teacher (needs the `[train]` extra)."""
from __future__ import annotations

import argparse

from desktop.cli.common import whole_number
from desktop.cli.train_cmd import add_run_arguments, positive_float, require_training_stack, settings_from


def unit(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("teacher", metavar="TEACHER", help="checkpoint folder saved by save_pretrained (or a hub id when online)")
    add_run_arguments(parser, lr=3e-5, epochs=15)
    parser.add_argument("--student-layers", type=whole_number(1), metavar="N",
                        help="layers in the student's vision encoder and text decoder (default: half the teacher's)")
    parser.add_argument("--student-width", type=whole_number(8), metavar="N",
                        help="hidden size of the student (default: the teacher's, whose layers it starts from)")
    parser.add_argument("--alpha", type=unit, default=0.5, help="weight of the label loss; 1-α weighs the teacher's (default 0.5)")
    parser.add_argument("--temperature", type=positive_float, default=2.0, metavar="T",
                        help="softens both models' distributions in the teacher term (default 2)")


def run(args: argparse.Namespace) -> None:
    require_training_stack()
    from training.install import check_run

    check_run(args.teacher, args.data, args.out, "student", args.val_split)  # before torch loads
    from training.distill import distill

    # Ctrl+C and torch's own failures arrive as our errors (training.api.ends_as_lumen_errors).
    report = distill(args.teacher, args.data, args.out, settings_from(args), layers=args.student_layers,
                     width=args.student_width, alpha=args.alpha, temperature=args.temperature,
                     val_split=args.val_split, restart=args.restart,
                     keep_checkpoint=args.keep_checkpoint, log=lambda line: print(line, flush=True))
    print(f"compare them: lumen evaluate {report.model.name} TEACHER_MODEL --data {args.data}")

