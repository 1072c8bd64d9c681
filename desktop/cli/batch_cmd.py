"""`lumen batch SOURCE... --out FILE`: describe folders of pictures into JSON Lines or Parquet.

Resumable: the same command again skips what FILE holds (services/batch/journal.py). The
work is services/batch; this file turns options into a BatchRequest and prints the summary.
Exit status: 0 all described, else the most serious status met (2: a picture could not be
read); a run-wide failure (no model, FILE not writable) exits with its own status.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.cli.common import NO_MODEL, add_model_arguments, whole_number
from desktop.cli.describe_cmd import add_describe_arguments
from models.errors import ModelFolderError, UsageError
from models.exit_status import ExitStatus
from models.registry import model_dir


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="folders (walked, hidden ones skipped), picture files or glob patterns")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="FILE.jsonl (JSON Lines) or FILE.parquet; run again to resume")
    parser.add_argument("--from-list", type=Path, metavar="FILE", help="also describe the paths in FILE, one a line")
    parser.add_argument("--restart", action="store_true", help="start over: forget what FILE holds")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local (this process) or ray (Ray Data; needs the ray extra)")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="join this Ray cluster (default: start Ray on this machine)")
    parser.add_argument("--workers", type=whole_number(1), default=1, metavar="N",
                        help="local engine: describe N pictures at once, each with its own model "
                             "and a share of the cores (default 1)")
    parser.add_argument("--batch-size", type=whole_number(1, 64), default=1, metavar="N",
                        help="run the vision encoder on N pictures at once (default 1; see lumen bench --batch)")
    add_model_arguments(parser)
    add_describe_arguments(parser, task_help="as lumen describe: caption (pictures' default), ocr, objects "
                           "or auto (documents' default)")
    parser.add_argument("--lang", metavar="CODE", help="also translate each description into this installed language")
    parser.add_argument("--write-xmp", action="store_true",
                        help="also write each caption to an XMP sidecar beside the picture (photo.xmp; "
                             "needs the xmp extra); the picture itself is never changed")
    parser.add_argument("--quiet", action="store_true", help="no progress, no per-picture errors; the summary only")


def options_from(args: argparse.Namespace):  # noqa: ANN201
    from services.batch.describer import BatchOptions

    model = model_dir(getattr(args, "model", None))
    task = args.task or "caption"
    reads_first = task == "auto" or (task == "ocr" and args.ocr_engine == "ppocr")
    if model is None and not reads_first:
        raise ModelFolderError(NO_MODEL)
    return BatchOptions(
        model=str(model) if model else None, device=args.device, dtype=args.dtype, threads=args.threads,
        task=task, document_task=args.task or "auto", detail=args.detail, max_tokens=args.max_tokens,
        beams=args.beams,
        alternatives=args.alternatives, seed=args.seed, ocr_engine=args.ocr_engine, tags=args.tags,
        tags_model=args.tags_model, lang=args.lang, batch_size=args.batch_size,
    )


def run(args: argparse.Namespace) -> ExitStatus:
    from services.batch.pipeline import BatchRequest, output_format, run_batch
    from services.batch.progress import console_progress

    if not args.sources and args.from_list is None:
        raise UsageError("name at least one SOURCE (a folder, a picture or a pattern) or --from-list FILE")
    output_format(Path(args.out))  # a wrong suffix fails before any model loads
    request = BatchRequest(args.sources, Path(args.out), options_from(args), from_list=args.from_list,
                           restart=args.restart, engine=args.engine, ray_address=args.ray_address,
                           workers=args.workers, write_xmp=args.write_xmp)
    progress = None if args.quiet else console_progress(sys.stderr)
    warn = (lambda message: None) if args.quiet else (lambda message: _line(progress, message))
    try:
        result = run_batch(request, progress=progress, warn=warn)
    finally:
        if progress is not None:
            progress.close()
    if result.repaired:
        print(f"note: the last line of {args.out} was cut off by an earlier stop; it was removed and "
              "its picture described again", file=sys.stderr)
    print(f"batch: {result.counts.summary()} -> {args.out}", file=sys.stderr, flush=True)
    return ExitStatus(result.exit_code)


def _line(progress, text: str) -> None:  # noqa: ANN001
    """One line on stderr that does not break the progress bar."""
    write = getattr(progress, "write", None)
    if write is not None:
        write(text)
    else:
        print(" ".join(text.split()), file=sys.stderr, flush=True)
