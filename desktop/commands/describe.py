"""`lumen describe IMAGE...`: print descriptions (plain or one JSON object per line).

Errors are one line on stderr. Exit status: 0 all described, 2 any image failed, 3 no usable
model, 1 anything unexpected (still without a traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.commands.common import add_model_arguments, open_captioner, report_error, whole_number
from models.errors import LumenError
from models.results import DETAILS, MAX_ALTERNATIVES, TASKS, DescribeOptions


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files to describe")
    add_model_arguments(parser)
    parser.add_argument("--detail", choices=DETAILS, default="brief", help="how much to say (default brief)")
    parser.add_argument("--task", choices=TASKS, default="caption",
                        help="caption describes, ocr reads the text, objects lists what is there")
    parser.add_argument("--max-tokens", type=whole_number(1), metavar="N", help="longest answer in tokens")
    parser.add_argument("--beams", type=whole_number(1), metavar="N", help="beam width (default: the model's)")
    parser.add_argument("--alternatives", type=whole_number(0, MAX_ALTERNATIVES), default=0, metavar="N",
                        help="also give N alternative captions by nucleus sampling")
    parser.add_argument("--seed", type=whole_number(0), metavar="N", help="seed for the alternatives (reproducible)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image and per line")
    try:
        from desktop.commands import speech_options
    except ImportError:
        return
    speech_options.add_arguments(parser)


def _after_caption(args: argparse.Namespace):
    """Speech and translation hooks, when that part of Lumen is installed."""
    try:
        from desktop.commands import speech_options
    except ImportError:
        return None
    return speech_options


def run(args: argparse.Namespace) -> int:
    options = DescribeOptions(
        task=args.task, detail=args.detail, max_tokens=args.max_tokens, beams=args.beams,
        alternatives=args.alternatives, seed=args.seed,
    )
    hooks = _after_caption(args)
    if hooks is not None:
        try:  # a --lang that is not installed fails before the model loads, not once per image
            hooks.check(args)
        except LumenError as e:
            return report_error(str(e), e.exit_code)
    captioner = open_captioner(args)
    if isinstance(captioner, int):
        if hooks is not None:
            hooks.finish(args)  # releases the speech engine check() may have started
        return captioner
    failed = 0
    for image in args.images:
        try:
            caption = captioner.describe(Path(image), options)
        except LumenError as e:
            failed += 1
            report_error(f"{image}: {e}")
            continue
        data = caption.to_json(image)
        if hooks is not None:
            try:
                data = hooks.apply(args, caption, data)
            except LumenError as e:
                report_error(str(e))
        if args.json:
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            text = data.get("text", data["caption"])
            print(f"{image}: {text}" if len(args.images) > 1 else text, flush=True)
            for alternative in data["alternatives"]:
                print(f"  alternative: {alternative}", flush=True)
    if hooks is not None and hasattr(hooks, "finish"):
        hooks.finish(args)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(1)
