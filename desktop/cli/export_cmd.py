"""`lumen export SRC OUT [--dtype ...]`: a transformers checkpoint -> a validated Lumen model folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from models.errors import ExportError, require_extra

DTYPES = ("fp32", "fp16", "int8", "q4")


def _dtypes(value: str) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in chosen if v not in DTYPES]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(DTYPES)} (comma-separated for several)")
    return chosen


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", metavar="SRC", help="transformers checkpoint folder, or a hub id when online")
    parser.add_argument("out", metavar="OUT", type=Path, help="model folder to write")
    parser.add_argument("--dtype", type=_dtypes, default=("fp32",), metavar="DTYPE",
                        help="fp32 (default), fp16, int8 or q4; several as fp32,int8")
    parser.add_argument("--no-validate", action="store_true", help="skip the PyTorch comparison")


def run(args: argparse.Namespace) -> None:
    require_extra("export", "torch", "transformers", what="exporting")
    from export.api import export_model

    try:
        export_model(args.src, args.out, args.dtype, validate=not args.no_validate,
                     log=lambda line: print(line, flush=True))
    except (OSError, ValueError, RuntimeError) as e:  # torch's and the file system's own errors
        raise ExportError(f"export failed: {e}") from e
