"""`lumen describe FILE.pdf` (and multi-page TIFFs): one result per page, in page order, printed
as each page is read (models/documents).

Without --task, a document's pages are read with `auto` (text layer, PP-OCR or a description,
decided per page) and pictures given alongside are captioned as before. The JSON object of a page
is `lumen describe`'s with `page` (1-based), `pages` (the total), `text_layer` and `figures`.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from desktop.cli.common import NO_MODEL, Outcomes, open_captioner, report_error
from desktop.cli.speech_options import SpeechOutput
from models.errors import DocumentError
from models.exit_status import ExitStatus
from models.registry import model_dir
from models.results import DescribeOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pages", metavar="SPEC", type=_page_spec,
                        help="pages of a PDF or multi-page TIFF to read, like 1-3,7 (default: all)")
    parser.add_argument("--password", metavar="PASSWORD", help="the password of an encrypted PDF")


def _page_spec(value: str) -> str:
    from models.documents import parse_pages

    try:
        parse_pages(value)  # the syntax now; the range once each document is open
    except DocumentError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def any_document(paths: list[str]) -> bool:
    from models.documents import is_document

    return any(is_document(path) for path in paths)


class _LazyCaptioner:
    """The description model, loaded the first time a page needs it (a PDF of text never does)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args, self._loaded = args, None

    def describe(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - Captioner.describe's
        if self._loaded is None:
            self._loaded = open_captioner(self._args)
        return self._loaded.describe(*args, **kwargs)


def _options(args: argparse.Namespace, task: str) -> DescribeOptions:
    return DescribeOptions(task=task, detail=args.detail, max_tokens=args.max_tokens, beams=args.beams,
                           alternatives=args.alternatives, seed=args.seed)


def _print(args: argparse.Namespace, heading: str, text: str, data: dict) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
    else:
        print(f"{heading}:\n{text}\n", flush=True)


def run(args: argparse.Namespace, speech: SpeechOutput) -> ExitStatus:
    from models.captioner import default_cache_dir
    from models.documents import PageReader, is_document, iter_pages
    from models.session import SessionConfig
    from models.text_first import TextFirst

    if args.tags:
        report_error("--tags is not used for documents; describing without tags")
    first = TextFirst(SessionConfig(args.device, args.threads, default_cache_dir()))
    captioner = _LazyCaptioner(args) if model_dir(getattr(args, "model", None)) is not None else None
    reader = PageReader(first, captioner)
    outcomes = Outcomes()  # each page counts as one picture
    for path in args.images:
        several = len(args.images) > 1
        if not is_document(path):
            _picture(args, path, first, captioner, speech, outcomes)
            continue
        options = _options(args, args.task or "auto")
        try:
            for page in iter_pages(path, args.pages, args.password):
                try:
                    result = reader.read(page, options)
                except Exception as e:  # noqa: BLE001 - a bug of ours costs this page only
                    outcomes.failed(f"{path}: page {page.number}", e)
                    continue
                data = speech.apply(result.caption, result.to_json(path))
                heading = f"{path}, page {page.number} of {page.pages}" if several else result.heading
                _print(args, heading, data.get("text", result.caption.caption) or "No text found.", data)
                outcomes.described += 1
        except Exception as e:  # noqa: BLE001 - a document that cannot be opened, or a bug of ours
            outcomes.failed(path, e)
    return outcomes.status


def _picture(args: argparse.Namespace, path: str, first, captioner, speech: SpeechOutput,  # noqa: ANN001
             outcomes: Outcomes) -> None:
    """A picture given with documents: described as `lumen describe` does alone."""
    from models.text_first import NoDescriptionModel

    task = args.task or "caption"
    try:
        if task == "ocr":
            caption = first.read(Path(path))
        elif task == "auto":
            caption = first.describe(Path(path), _options(args, "caption"), captioner)
        elif captioner is None:
            raise NoDescriptionModel(NO_MODEL)
        else:
            caption = captioner.describe(Path(path), _options(args, task))
    except Exception as e:  # noqa: BLE001 - a bug of ours costs this picture only
        outcomes.failed(path, e)
        return
    data = speech.apply(caption, caption.to_json(path))
    _print(args, path, data.get("text", caption.caption) or "No text found.", data)
    outcomes.described += 1
