"""`lumen bench`: Lumen's engine against transformers' eager `generate`, same weights and image.

    lumen bench --random-weights ../shared/florence2-base      # full-size, random weights
    lumen bench --model DIR [--torch-checkpoint CKPT]          # an exported folder
    lumen bench --latency --random-weights ../shared/florence2-base [--presses 5] [--screen WxH]
                                                               # shortcut -> first spoken word

Prints a Markdown table; `--json FILE` writes every figure (with --latency, at least
`shortcut_to_speech_s`, `redescribe_to_speech_s` and `stages`). Errors are one line on stderr.
Exit status: 0 done, 2 bad options, 3 no usable model, 5 the random-weight export failed, 12 torch
or transformers not installed, 1 anything else (errors are raised; desktop/cli/__init__.py maps them).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.errors import LumenError, ModelFolderError, UsageError, require_extra

DTYPES = ("fp32", "int8", "q4", "fp16")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _dtypes(value: str) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    if not chosen or any(v not in DTYPES for v in chosen):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(DTYPES)} (comma-separated)")
    return chosen


def _sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("give whole numbers, comma-separated, such as 1,2,4") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give whole numbers of at least 1, comma-separated")
    return sizes


def _screen_size(value: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("give WIDTHxHEIGHT, such as 1280x800") from None
    if width < 64 or height < 64:
        raise argparse.ArgumentTypeError("must be at least 64x64")
    return width, height


def default_cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("lumen", appauthor=False) / "bench"


def register(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="DIR", type=Path, help="an exported Lumen model folder")
    source.add_argument("--random-weights", metavar="CONFIG_DIR", type=Path,
                        help="build, export and cache a Florence-2 with random weights from this config folder")
    source.add_argument("--ask", action="store_true",
                        help="SmolVLM-256M with random weights (built, exported and cached): picture encoding, "
                             "first and follow-up answers, fp32 and int8, beside transformers")
    source.add_argument("--ocr", action="store_true",
                        help="PP-OCR reading a full 1280x800 screen of text (needs no description model)")
    source.add_argument("--document", action="store_true",
                        help="documents page by page: text layer and scanned-page CER, a 2,000-page PDF's "
                             "first page and memory, two-column word order (needs jiwer)")
    parser.add_argument("--torch-checkpoint", metavar="DIR", type=Path,
                        help="with --model: the transformers checkpoint it was exported from")
    parser.add_argument("--tokens", type=_positive, default=20, metavar="N", help="new tokens per caption (default 20)")
    parser.add_argument("--runs", type=_positive, default=3, metavar="N", help="timed runs per engine (default 3)")
    parser.add_argument("--threads", type=_positive, metavar="N", help="CPU threads for both engines (default: all cores)")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                        help="where the ONNX engine runs (default cpu; transformers stays on the CPU)")
    parser.add_argument("--dtypes", type=_dtypes, default=DTYPES, metavar="LIST",
                        help="ONNX variants to measure (default fp32,int8,q4,fp16)")
    parser.add_argument("--app-runs", type=int, default=3, metavar="N", help="window starts to time (0: skip)")
    parser.add_argument("--no-processes", action="store_true",
                        help="skip the fresh-process measurements (peak RSS, describe cold/warm)")
    parser.add_argument("--profile", action="store_true",
                        help="also run onnxruntime's profiler per session and print where the time goes")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="where --random-weights models are kept (default: the user cache folder)")
    parser.add_argument("--ocr-size", type=_screen_size, default=(1280, 800), metavar="WxH",
                        help="with --ocr: the screen of text to read (default 1280x800)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="write every figure as JSON")
    batch = parser.add_argument_group("batch (lumen batch's throughput)")
    batch.add_argument("--batch", action="store_true",
                       help="pictures/s at several batch sizes, Lumen beside transformers' generate "
                            "with the same batch size and tokens (--dtype, default int8)")
    batch.add_argument("--batch-sizes", type=_sizes, default=(1, 2, 4, 8, 16), metavar="LIST",
                       help="with --batch: the batch sizes (default 1,2,4,8,16)")
    batch.add_argument("--workers", type=_positive, default=2, metavar="N",
                       help="with --batch: also time N workers sharing the cores (default 2; 1: skip)")
    latency = parser.add_argument_group("latency (the real window on a virtual display)")
    latency.add_argument("--latency", action="store_true",
                         help="time the global shortcut (and `lumen capture`) to the first spoken word")
    latency.add_argument("--presses", type=_positive, default=5, metavar="N",
                         help="shortcut presses to time, each followed by two describe-again (default 5)")
    latency.add_argument("--screen", type=_screen_size, default=(1280, 900), metavar="WxH",
                         help="with --latency: the virtual display's size, so the screens captured "
                              "(default 1280x900)")
    latency.add_argument("--dtype", choices=DTYPES, metavar="DTYPE",
                         help="with --latency: the variant the window runs (default int8)")


def _sources(args: argparse.Namespace) -> tuple[Path, Path | None]:
    if args.random_weights is None:
        return args.model, args.torch_checkpoint
    from export.benchmark.random_weights import random_model

    built = random_model(args.random_weights, args.cache_dir or default_cache_dir(), args.dtypes,
                         log=lambda line: print(line, file=sys.stderr, flush=True))
    if built.note:
        print(f"warning: {built.note}", file=sys.stderr)
    return built.onnx, built.checkpoint


def _print_and_save(args: argparse.Namespace, table: str, data: dict) -> None:
    """The table on standard output; the JSON written to --json FILE when asked. Both name the
    processor and its vector features: every figure says which machine it comes from."""
    from export.benchmark.machine import processor

    machine = processor()
    data = {**data, **machine.as_json()}
    print(f"{table}\nProcessor: {machine.describe()}.", flush=True)
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise LumenError(f"cannot write {args.json} ({e.strerror}); choose another path") from e


def run_latency_bench(args: argparse.Namespace) -> None:
    from export.benchmark.latency import LatencyOptions, run_latency

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    dtype = args.dtype or "int8"
    if args.random_weights is not None:
        from export.benchmark.random_weights import random_model

        built = random_model(args.random_weights, args.cache_dir or default_cache_dir(), (dtype,), log=log)
        model = built.onnx
    else:
        model = args.model
    result = run_latency(LatencyOptions(model, dtype, args.tokens, args.presses, screen=args.screen), log=log)
    return _print_and_save(args, result.table, result.data)


def run_ask_bench(args: argparse.Namespace) -> None:
    """--ask: export/benchmark/ask.py."""
    from export.benchmark.ask import run_ask_bench as measure

    result = measure((args.cache_dir or default_cache_dir()), tokens=args.tokens, runs=args.runs,
                     threads=args.threads, log=lambda line: print(line, file=sys.stderr, flush=True))
    return _print_and_save(args, result.table, result.data)


def run_ocr_bench(args: argparse.Namespace) -> None:
    """--ocr: export/benchmark/ocr.py."""
    import os

    from export.benchmark.ocr import as_json, markdown
    from export.benchmark.ocr import run_ocr_bench as measure

    result = measure(args.runs, args.threads, args.ocr_size)
    # Other work on the machine slows the figure: say how busy it was.
    load = f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    return _print_and_save(args, f"{markdown(result)}\n{load}", as_json(result))


def run_document_bench(args: argparse.Namespace) -> None:
    """--document: export/benchmark/documents.py."""
    require_extra("train", "jiwer", what="the document bench (it scores text)")
    from export.benchmark.documents import as_json, markdown
    from export.benchmark.documents import run_document_bench as measure

    result = measure(log=lambda line: print(line, file=sys.stderr, flush=True))
    return _print_and_save(args, markdown(result), as_json(result))


def run_batch_bench(args: argparse.Namespace) -> None:
    """--batch: export/benchmark/batch.py."""
    from export.benchmark.batch import BatchBenchOptions
    from export.benchmark.batch import run_batch_bench as measure

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    dtype = args.dtype or "int8"
    if args.random_weights is not None:
        from export.benchmark.random_weights import random_model

        built = random_model(args.random_weights, args.cache_dir or default_cache_dir(), (dtype,), log=log)
        model, checkpoint = built.onnx, built.checkpoint
    else:
        model, checkpoint = args.model, args.torch_checkpoint
    table, data = measure(BatchBenchOptions(model, checkpoint, dtype, args.batch_sizes, args.tokens,
                                            args.threads, args.device, args.workers), log=log)
    return _print_and_save(args, table, data)


def run(args: argparse.Namespace) -> None:
    if args.batch:
        return run_batch_bench(args)
    if args.document:
        return run_document_bench(args)
    if args.ocr:
        return run_ocr_bench(args)
    if args.ask:
        return run_ask_bench(args)
    if args.latency:
        return run_latency_bench(args)
    if args.torch_checkpoint is not None and args.model is None:
        raise UsageError("--torch-checkpoint goes with --model (--random-weights builds its own)")
    if args.torch_checkpoint is not None and not (args.torch_checkpoint / "config.json").is_file():
        raise ModelFolderError(f"{args.torch_checkpoint} is not a transformers checkpoint (no config.json)")
    require_extra("export", "torch", "transformers", what="benchmarking against transformers")
    from export.benchmark.suite import BenchOptions, run_benchmark

    model, checkpoint = _sources(args)
    options = BenchOptions(model=model, checkpoint=checkpoint, tokens=args.tokens, runs=args.runs,
                           threads=args.threads, dtypes=args.dtypes, app_runs=max(0, args.app_runs),
                           processes=not args.no_processes, profile=args.profile, device=args.device)
    result = run_benchmark(options, log=lambda line: print(line, file=sys.stderr, flush=True))
    return _print_and_save(args, result.table, result.data)
