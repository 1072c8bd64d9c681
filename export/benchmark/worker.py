"""One side of the benchmark in a fresh process; prints one JSON object.

`python -m export.benchmark.worker --model DIR --dtype int8 --cache-dir DIR [--tokens 20]`:
one ONNX variant's load time, one describe and the peak RSS that cost. No torch is imported,
so the peak resident set is what a Lumen process holding that model needs.

`... --model DIR --torch-checkpoint CKPT [--runs 3]`: transformers alone, away from the
benchmark process (whose heap and threads ONNX Runtime has used: transformers measured there
runs 5-15% slower than on its own).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from export.benchmark import process_memory


def peak_rss_mb() -> float:
    """This process's peak resident set, in MiB.

    Linux: VmHWM, which starts afresh with the process image; ru_maxrss would not do, as
    Linux carries it over from the parent through fork and exec (the benchmark's parent
    holds torch). Elsewhere ru_maxrss (macOS reports bytes, others KiB).
    """
    peak = process_memory.peak_rss_mb()
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _torch(args: argparse.Namespace) -> dict:
    """transformers alone in this process: one warm-up, then `--runs` timed describes."""
    import statistics

    from export.benchmark.inputs import bench_image
    from export.benchmark.runner import TorchSide

    image = bench_image()
    side = TorchSide(args.torch_checkpoint, args.model, args.threads)
    side.run(image, args.tokens)
    runs = [side.run(image, args.tokens) for _ in range(args.runs)]
    return {
        "total_s": statistics.median(r.total_s for r in runs), "runs_s": [r.total_s for r in runs],
        "vision_s": statistics.median(r.vision_s for r in runs),
        "first_token_s": statistics.median(r.first_token_s for r in runs),
        "peak_rss_mb": peak_rss_mb(), "tokens": runs[0].tokens,
    }


def _engine(args: argparse.Namespace) -> dict:
    """One ONNX variant: load (from `--cache-dir`, filled or not) and one describe."""
    start = time.perf_counter()
    from export.benchmark.inputs import bench_image
    from export.benchmark.runner import EngineSide

    image = bench_image()
    imported = time.perf_counter() - start
    side = EngineSide(args.model, args.dtype, args.threads, args.cache_dir)
    rss_loaded = peak_rss_mb()
    run = side.run(image, args.tokens)
    return {
        "dtype": args.dtype, "import_s": imported, "load_s": side.load_s, "total_s": run.total_s,
        "first_token_s": run.first_token_s, "peak_rss_loaded_mb": rss_loaded, "peak_rss_mb": peak_rss_mb(),
        "tokens": run.tokens,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.benchmark.worker")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--dtype", help="the ONNX variant to run")
    parser.add_argument("--torch-checkpoint", type=Path, help="run transformers on this checkpoint instead")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="timed runs (transformers only)")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--cache-dir", type=Path, help="optimised-graph cache folder (ONNX only)")
    args = parser.parse_args(argv)
    if args.torch_checkpoint is None and (args.dtype is None or args.cache_dir is None):
        parser.error("give --dtype and --cache-dir, or --torch-checkpoint")
    print(json.dumps(_torch(args) if args.torch_checkpoint is not None else _engine(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
