"""`lumen describe IMAGE...`: print descriptions (plain or one JSON object per line).

Errors are one line on stderr. A failure that stops the run is raised (desktop/cli/__init__.py maps it
to its status); a picture's failure is said and the next picture described, and the run ends
with the most serious status met (ExitStatus.of_batch: 11 some pictures failed).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.cli import describe_documents as documents, describe_reading as reading, speech_options
from desktop.cli.common import (Outcomes, add_model_arguments, open_captioner, print_result, report_error,
                                     whole_number)
from models.errors import LumenError
from models.exit_status import ExitStatus
from models.results import DETAILS, MAX_ALTERNATIVES, TASKS, DescribeOptions


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files to describe; PDFs and multi-page TIFFs are read page by page")
    add_model_arguments(parser)
    add_describe_arguments(parser, task_help="caption describes (default for pictures), ocr reads the text, "
                           "objects lists what is there, auto names blank pictures, reads text and describes "
                           "photos (default for documents, decided page by page)")
    documents.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per image and per line")
    speech_options.add_arguments(parser)


def add_describe_arguments(parser: argparse.ArgumentParser, task_help: str) -> None:
    """What to say and how: the options lumen describe and lumen batch share, spelled once."""
    parser.add_argument("--detail", choices=DETAILS, default="brief", help="how much to say (default brief)")
    parser.add_argument("--task", choices=(*TASKS, "auto"), default=None, help=task_help)
    reading.add_arguments(parser)
    parser.add_argument("--max-tokens", type=whole_number(1), metavar="N", help="longest answer in tokens")
    parser.add_argument("--beams", type=whole_number(1), metavar="N", help="beam width (default: the model's)")
    parser.add_argument("--alternatives", type=whole_number(0, MAX_ALTERNATIVES), default=0, metavar="N",
                        help="also give N alternative captions by nucleus sampling")
    parser.add_argument("--seed", type=whole_number(0), metavar="N", help="seed for the alternatives (reproducible)")
    parser.add_argument("--tags", action="store_true",
                        help="also give keywords scored by a CLIP model (adds tags and english_captions to --json)")
    parser.add_argument("--tags-model", metavar="DIR", help="CLIP model folder for --tags (default: the installed one)")


class _NoClip:
    """--tags without a CLIP model: captions still come, tags are empty (said once)."""


def open_tagger(args: argparse.Namespace):
    """The loaded CLIP model for --tags, or _NoClip after a one-line warning."""
    from models.clip import Clip, installed_clip

    folder = Path(args.tags_model) if args.tags_model else installed_clip()
    if folder is None:
        print("warning: --tags needs a CLIP model: install one with `lumen models install "
              "clip-vit-base-patch32` or pass --tags-model DIR; describing without tags", file=sys.stderr)
        return _NoClip()
    try:
        return Clip.load(folder, device=args.device, dtype=None, threads=args.threads)
    except LumenError as e:
        report_error(f"{e}; describing without tags")
        return _NoClip()


def add_tags(tagger, path: Path, caption, data: dict) -> dict:
    from models.image_io import load_image
    from models.keywords import tag_fields

    clip = None if isinstance(tagger, _NoClip) else tagger
    try:
        picture = load_image(path) if clip is not None else None
        return {**data, **tag_fields(clip, picture, [caption.caption, *caption.alternatives])}
    except LumenError as e:
        report_error(f"{path}: tags: {e}")
        return data


def run(args: argparse.Namespace) -> ExitStatus:
    # A --lang that is not installed fails here, before the model loads, not once per image.
    with speech_options.output(args) as speech:
        if documents.any_document(args.images):  # page by page: desktop/cli/describe_documents.py
            return documents.run(args, speech)
        args.task = args.task or "caption"
        if reading.handles(args):  # PP-OCR, and the kind of picture: desktop/cli/describe_reading.py
            return reading.run(args, speech)
        return _describe(args, speech)


def _describe(args: argparse.Namespace, speech: speech_options.SpeechOutput) -> ExitStatus:
    options = DescribeOptions(
        task=args.task, detail=args.detail, max_tokens=args.max_tokens, beams=args.beams,
        alternatives=args.alternatives, seed=args.seed,
    )
    captioner = open_captioner(args)
    tagger = open_tagger(args) if args.tags else None
    outcomes = Outcomes()
    for image in args.images:
        try:
            caption = captioner.describe(Path(image), options)
        except Exception as e:  # noqa: BLE001 - a bug of ours costs this picture only
            outcomes.failed(image, e)
            continue
        data = caption.to_json(image)
        if tagger is not None:
            data = add_tags(tagger, Path(image), caption, data)
        print_result(args, image, caption, data, speech)
        outcomes.described += 1
    return outcomes.status
