"""What several subcommands share: model arguments, opening a model, one-line errors, the
status of a run over several pictures. A command raises a LumenError to fail; desktop/cli/__init__.py
alone turns it into an exit status (models/exit_status.py)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from models.errors import INSTALL_A_MODEL, LumenError, ModelFolderError
from models.errors import unexpected as one_line
from models.exit_status import ExitStatus

NO_MODEL = f"no model is installed; {INSTALL_A_MODEL} or pass --model DIR"


def report_error(message: str) -> None:
    """Print `error: message` on stderr, on one line (a failure the command goes on after)."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def unexpected(error: Exception) -> str:
    """A bug of ours, in one line; LUMEN_LOG=DEBUG prints the traceback before it."""
    if os.environ.get("LUMEN_LOG", "").upper() == "DEBUG":
        import traceback

        traceback.print_exception(error)
    return one_line(error)


@dataclass
class Outcomes:
    """A run over several pictures (or pages): how many were described, and the status of each
    failure, each said on its own line as it happens. `status` is the run's exit status."""

    described: int = 0
    failures: list[ExitStatus] = field(default_factory=list)

    def failed(self, where: str, error: Exception) -> None:
        """One picture's failure. Even a bug of ours (not a LumenError) costs only that picture:
        the pictures after it are still described, and the run ends with status 1 or 11."""
        if isinstance(error, LumenError):
            report_error(f"{where}: {error}")
            self.failures.append(ExitStatus(error.exit_code))
        else:
            report_error(f"{where}: {unexpected(error)}")
            self.failures.append(ExitStatus.FAILED)

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.of_batch(self.described, self.failures)


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int within [minimum, maximum], refused in one line otherwise."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}")
        return number

    return parse


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps `lumen --model DIR describe ...` working: the subcommand's own --model
    # only sets the value when given.
    parser.add_argument("--model", metavar="DIR", default=argparse.SUPPRESS,
                        help="model folder (default: the default installed model)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to run the model (default: CUDA when present, else CPU)")
    parser.add_argument("--dtype", metavar="TYPE", help="which ONNX variant of the folder to run (fp32, int8, q4, fp16, ...)")
    parser.add_argument("--threads", type=whole_number(1), metavar="N", help="CPU threads (default: one per core)")


def open_captioner(args: argparse.Namespace, *, quiet_if_none: bool = False):
    """The loaded Captioner; raises ModelFolderError (or another LumenError) when it cannot load.

    quiet_if_none: with no model installed (and none named) return None, silently: the
    caller can do without one (reading text)."""
    from models.captioner import Captioner
    from models.registry import model_dir

    folder = model_dir(args.model)
    if folder is None:
        if quiet_if_none:
            return None
        raise ModelFolderError(NO_MODEL)
    captioner = Captioner.load(folder, device=args.device, dtype=args.dtype, threads=args.threads)
    if captioner.warning:
        print(f"warning: {captioner.warning}", file=sys.stderr)
    return captioner


def print_result(args: argparse.Namespace, image: str, caption, data: dict, speech,  # noqa: ANN001
                 empty: str = "") -> None:
    """Speak (or translate) one picture's result, then print its JSON or its text lines."""
    import json

    from models.errors import LumenError

    try:
        data = speech.apply(caption, data)
    except LumenError as e:
        report_error(str(e))
    if args.json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
        return
    text = data.get("text", data["caption"]) or empty
    print(f"{image}: {text}" if len(args.images) > 1 else text, flush=True)
    for alternative in data["alternatives"]:
        print(f"  alternative: {alternative}", flush=True)
    if data.get("tags"):
        print("  tags: " + ", ".join(f"{word} ({score:.2f})" for word, score in data["tags"]), flush=True)
