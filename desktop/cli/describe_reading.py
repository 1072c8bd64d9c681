"""`lumen describe --task ocr|auto`: PP-OCR reads text, and `auto` decides the picture's kind.

Kept apart from describe.py's caption loop: neither task needs a description model unless a
photo must be captioned, so a fresh install reads text before any model is installed. The JSON
object is `lumen describe`'s, with `kind` (blank, text, photo) and `task` the task actually run
(ocr, caption, or none for a blank picture) and, for text read, `lines` with their boxes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import Outcomes, open_captioner, print_result
from desktop.cli.speech_options import SpeechOutput
from models.exit_status import ExitStatus
from models.results import DescribeOptions
from models.text_first import OCR_ENGINES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocr-engine", choices=OCR_ENGINES, default="ppocr",
                        help="what reads text for --task ocr: ppocr (default; fast, needs no "
                             "description model) or florence (the description model's <OCR>)")


def handles(args: argparse.Namespace) -> bool:
    return args.task == "auto" or (args.task == "ocr" and getattr(args, "ocr_engine", "ppocr") == "ppocr")


def caption_options(args: argparse.Namespace) -> DescribeOptions:
    return DescribeOptions(task="caption" if args.task == "auto" else args.task, detail=args.detail,
                           max_tokens=args.max_tokens, beams=args.beams,
                           alternatives=args.alternatives, seed=args.seed)


def run(args: argparse.Namespace, speech: SpeechOutput) -> ExitStatus:
    from models.captioner import default_cache_dir
    from models.session import SessionConfig
    from models.text_first import TextFirst

    first = TextFirst(SessionConfig(args.device, args.threads, default_cache_dir()))
    first.reader  # noqa: B018 - opened now: a missing model fails before any image
    captioner = None
    if args.task == "auto":  # photos need the description model; text and blank ones do not
        captioner = open_captioner(args, quiet_if_none=True)
    options = caption_options(args)
    outcomes = Outcomes()
    for image in args.images:
        try:
            if args.task == "ocr":
                caption = first.read(Path(image))
            else:
                caption = first.describe(Path(image), options, captioner)
        except Exception as e:  # noqa: BLE001 - a bug of ours costs this picture only
            outcomes.failed(image, e)  # a photo without a description model: NO_MODEL
            continue
        print_result(args, image, caption, caption.to_json(image), speech, empty="No text found.")
        outcomes.described += 1
    return outcomes.status
