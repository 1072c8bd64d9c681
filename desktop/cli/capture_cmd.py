"""`lumen capture [--screen|--window|--region|--text] [--json]`: describe what is on screen.

Meant to be bound to a key in the desktop's own shortcut settings where global shortcuts do not
work (Wayland). When Lumen is running, that instance captures, describes and speaks, and this
prints its result; otherwise this process captures and describes by itself. Output is that of
`lumen describe` (`--json`: the same JSON object, "image" being screen, window or region).
Exit status: 0 described, 3 no usable model, 9 capture failed, 10 no display, 1 anything else:
errors are raised and desktop/cli/__init__.py maps each to its status.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from desktop.cli import speech_options
from desktop.cli.common import add_model_arguments, open_captioner, report_error
from desktop.errors import CaptureError, NoDisplayError
from models.errors import LumenError
from models.results import DETAILS, DescribeOptions


def register(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    for kind, help_text in (("screen", "the whole screen under the pointer (default)"),
                            ("window", "the active window"),
                            ("region", "a region chosen with the keyboard or mouse"),
                            ("text", "read the text on the screen")):
        what.add_argument(f"--{kind}", dest="kind", action="store_const", const=kind, help=help_text)
    parser.set_defaults(kind="screen")
    parser.add_argument("--json", action="store_true", help="print the JSON object of `lumen describe --json`")
    parser.add_argument("--detail", choices=DETAILS, help="how much to say (default: Lumen's setting)")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait for the running Lumen (default 300)")
    add_model_arguments(parser)
    speech_options.add_arguments(parser)


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
    else:
        text = data.get("text", data["caption"])
        print(text or ("No text found." if data.get("task") == "ocr" else ""), flush=True)


def run(args: argparse.Namespace) -> None:
    from desktop.capture.single_instance import send

    request: dict[str, Any] = {"cmd": "capture", "kind": args.kind}
    if args.detail:
        request["detail"] = args.detail
    # The running window honours them for this result (desktop/capture/capture_forwarding.py).
    if getattr(args, "speak", False):
        request["speak"] = True
    if getattr(args, "lang", None):
        request["lang"] = args.lang
    try:
        answer = send(request, timeout_s=args.timeout)
    except (TimeoutError, ConnectionError, ValueError) as exc:
        raise LumenError(f"the running Lumen did not answer ({exc}); try again") from exc
    if answer is None:
        return _run_here(args)
    if not answer.get("ok"):
        raise CaptureError(str(answer.get("error", "the capture failed")))
    if answer.get("warning"):  # e.g. the translation failed: the result still comes
        report_error(str(answer["warning"]))
    data = dict(answer["result"])
    if "language" not in data:  # with --lang, "text" is the translation, as describe gives it
        data.pop("text", None)  # the window's wording; the JSON stays that of `lumen describe`
    _print(data, args.json)


def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        platform = os.environ.get("QT_QPA_PLATFORM", "")
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or platform == "offscreen"
    return True


def _capture_here(kind: str):  # noqa: ANN202 - (ImageSource | None, error | None)
    """Capture in this process (no Lumen window to hide); runs a Qt event loop until done."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from desktop.capture.grab import Capturer

    app = QApplication.instance() or QApplication([sys.argv[0]])
    outcome: dict[str, Any] = {}
    loop = QEventLoop()

    def done(source: Any) -> None:
        outcome["source"] = source
        loop.quit()

    def failed(message: str) -> None:
        outcome["error"] = message
        loop.quit()

    Capturer(hide_delay_ms=0).capture(kind, done, failed)
    if not outcome:
        loop.exec()
    del app
    return outcome.get("source"), outcome.get("error")


def _run_here(args: argparse.Namespace) -> None:
    if not _has_display():
        raise NoDisplayError("there is no display to capture; run this inside a desktop session")
    # A --lang that is not installed fails before the capture, not after.
    with speech_options.output(args) as speech:
        source, error = _capture_here(args.kind)
        if source is None:
            raise CaptureError(error or "the capture failed")
        detail = args.detail
        if detail is None:
            from desktop.settings import load_settings

            detail = load_settings().detail
        caption = _read_or_describe(args, source, DescribeOptions(detail=detail))
        data = caption.to_json(source.label)
        try:
            data = speech.apply(caption, data)
        except LumenError as exc:
            report_error(str(exc))  # the result is still printed
        _print(data, args.json)


def _read_or_describe(args: argparse.Namespace, source, options: DescribeOptions):  # noqa: ANN001, ANN202
    """As the window's shortcuts do: --text reads with PP-OCR; a capture first decides its kind
    (a blank screen is named, text read, a photo described by the model, loaded only then)."""
    from models.captioner import default_cache_dir
    from models.session import SessionConfig
    from models.text_first import TextFirst

    first = TextFirst(SessionConfig(args.device, args.threads, default_cache_dir()))
    if args.kind == "text":
        return first.read(source.data)
    classified = first.classify(source.data)
    kind = classified[0].kind
    # A photo needs the description model (its absence is the error); text can do without.
    captioner = open_captioner(args, quiet_if_none=kind == "text") if kind != "blank" else None
    return first.describe(source.data, options, captioner, screen=args.kind == "screen",
                          classified=classified)
