"""The `lumen` entry point: no subcommand opens the window; subcommands are a scripting contract."""
from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

# name -> (module under desktop.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "describe": ("describe", "describe images and print the result"),
    "capture": ("capture", "capture the screen, a window or a region and describe it"),
    "models": ("models_cmd", "list, install, import and remove models"),
    "export": ("export_cmd", "export a Hugging Face checkpoint to Lumen's ONNX layout"),
    "bench": ("bench", "measure speed and memory against transformers"),
}


def lumen_version() -> str:
    try:
        return version("lumen")
    except PackageNotFoundError:
        return "0+unknown"


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
            mod = importlib.import_module(f"desktop.commands.{module}")
            mod.register(sub.add_parser(name, help=help_text, description=help_text))
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    if args.command is None:
        from desktop.app import run_app

        return run_app(model=args.model)
    module = importlib.import_module(f"desktop.commands.{COMMANDS[args.command][0]}")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
