"""The `lumen` entry point: no subcommand opens the window; subcommands are a scripting contract.

One module per subcommand (`<name>_cmd.py`), each with `register(subparsers)` and `run(args)`.
Modules are imported only when their command runs, so `lumen describe` never pays for Qt and
the window never pays for torch.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from desktop.cli.common import report_error
from models.errors import LumenError
from models.exit_status import ExitStatus
from models.version import lumen_version

# name -> (module under desktop.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "describe": ("describe_cmd", "describe images and print the result"),
    "batch": ("batch_cmd", "describe folders of pictures into JSON Lines or Parquet, resumable"),
    "ask": ("ask_cmd", "answer questions about a picture"),
    "capture": ("capture_cmd", "capture the screen, a window or a region and describe it"),
    "models": ("models_cmd", "list, install, import and remove models"),
    "export": ("export_cmd", "export a Hugging Face checkpoint to Lumen's ONNX layout"),
    "bench": ("bench_cmd", "measure speed and memory against transformers"),
    "train": ("train_cmd", "fine-tune a model on your own pictures and install it"),
    "distill": ("distill_cmd", "make a smaller, faster model that learns from a larger one"),
    "evaluate": ("evaluate_cmd", "score models on captioned pictures (BLEU, METEOR, ROUGE-L, CIDEr, WER)"),
    "serve": ("serve_cmd", "serve a local JSON API for captioning and tagging clients"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lumen", description="Lumen describes images aloud, offline."
    )
    parser.add_argument("--version", action="version", version=f"lumen {lumen_version()}")
    parser.add_argument("--model", metavar="DIR", help="model folder to open the window with")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the command being run is imported; the others get a cheap placeholder parser.
    wanted = next((a for a in argv if a in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        if name == wanted:
            mod = importlib.import_module(f"desktop.cli.{module}")
            mod.register(sub.add_parser(name, help=help_text, description=help_text))
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> ExitStatus:
    argv = sys.argv[1:] if argv is None else argv
    try:  # imports happen in here too, so that an early Ctrl+C still gets its one line
        args = build_parser(argv).parse_args(argv)
        if args.command is None:
            from desktop.window.launch import run_app

            return ExitStatus.FAILED if run_app(model=args.model) else ExitStatus.OK  # Qt's exit code
        import logging

        # Subcommands print their own `warning:` lines; library log records would repeat them.
        logging.basicConfig(level=os.environ.get("LUMEN_LOG", "ERROR"), format="lumen: %(message)s")
        module = importlib.import_module(f"desktop.cli.{COMMANDS[args.command][0]}")
        # A command returns None (done) or an ExitStatus (a batch's); anything else is a bug.
        return ExitStatus(module.run(args) or ExitStatus.OK)
    except LumenError as e:
        # The one place where our exceptions become exit statuses: each LumenError subclass
        # carries its own (README "Exit statuses" lists them; tests/test_exit_statuses.py).
        report_error(str(e))
        return ExitStatus(e.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`lumen describe *.png | head -1`): stop quietly, as a shell tool
        # killed by SIGPIPE would, and keep Python from complaining when it flushes at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a real file (embedded, captured)
            pass
        return ExitStatus.BROKEN_PIPE
    except OSError as e:  # e.g. stdout on a full disk
        print(f"error: {e.strerror or e}{f' ({e.filename})' if e.filename else ''}", file=sys.stderr)
        return ExitStatus.FAILED
    except Exception as e:  # a bug of ours: still one line; LUMEN_LOG=DEBUG shows the traceback
        from desktop.cli.common import unexpected

        print(f"error: {unexpected(e)}", file=sys.stderr)
        return ExitStatus.FAILED

