"""Is `lumen batch`'s memory flat over many pictures? Resident memory from picture 1,000 to the last.

    python -m export.benchmark.batch_memory --model DIR [--pictures 10000] [--size 64x48] [--json FILE]

Writes N small different pictures into a temporary folder, describes them with the local
engine in this process (the same `run_batch` as `lumen batch`; a small model keeps it short:
the test model, or any installed one), and samples the resident memory (RSS) every 100
pictures. Reports RSS at picture 1,000 (or a tenth of N) and at the end, and the growth between
them (issue 20's goal: at most +5%). Linux (reads /proc/self/statm).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_pictures(folder: Path, count: int, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = folder / f"{i // 1000:03d}"  # archives are folders of folders
        sub.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(sub / f"{i:06d}.png")


def measure(model: Path, count: int, size: tuple[int, int], max_tokens: int, workers: int) -> dict:
    from services.batch.describer import BatchOptions
    from services.batch.pipeline import BatchRequest, run_batch

    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="lumen-batch-memory-") as tmp:
        folder = Path(tmp) / "pictures"
        folder.mkdir()
        make_pictures(folder, count, size)

        def progress(counts) -> None:  # noqa: ANN001
            if counts.done and counts.done % 100 == 0 and (not samples or samples[-1][0] != counts.done):
                samples.append((counts.done, rss_mb()))

        start = time.perf_counter()
        result = run_batch(BatchRequest([str(folder)], Path(tmp) / "out.jsonl",
                                        BatchOptions(model=str(model), max_tokens=max_tokens), workers=workers),
                           progress=progress)
        seconds = time.perf_counter() - start
    early_at = min(1000, max(100, count // 10))
    early = next(rss for done, rss in samples if done >= early_at)
    last = samples[-1][1]
    return {"pictures": count, "described": result.counts.described, "failed": result.counts.failed,
            "seconds": round(seconds, 1), "pictures_per_s": round(count / seconds, 2),
            "rss_mb_at": {str(done): round(rss, 1) for done, rss in samples[:: max(1, len(samples) // 20)]},
            "early_picture": early_at, "rss_early_mb": round(early, 1), "rss_last_mb": round(last, 1),
            "rss_peak_mb": round(max(r for _, r in samples), 1), "growth": round(last / early - 1.0, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model folder (a small one keeps it short)")
    parser.add_argument("--pictures", type=int, default=10_000)
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT of each picture")
    parser.add_argument("--max-tokens", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    data = measure(args.model, args.pictures, (width, height), args.max_tokens, args.workers)
    text = json.dumps(data, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(f"RSS {data['rss_early_mb']} MB at picture {data['early_picture']}, {data['rss_last_mb']} MB at "
          f"{args.pictures}: {data['growth']:+.1%}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
