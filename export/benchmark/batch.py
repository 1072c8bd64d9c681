"""`lumen bench --batch`: pictures a second at several batch sizes, Lumen beside transformers.

For each batch size B, B different pictures (1024x768, brief caption, `tokens` new tokens
forced, beam 3, no_repeat_ngram 3) go through:
- `lumen, vision xB`: the vision encoder on all B pictures in one call, then each picture's
  text encoder and decoder (what `lumen batch --batch-size B` runs); only for variants whose
  features do not depend on the batch (fp32, fp16): `lumen batch` encodes each int8 or q4
  picture alone, and so does this bench;
- `lumen, W workers`: the same split over W threads, each with its own model and 1/W of the
  cores (`lumen batch --workers W --batch-size B/W`);
- `transformers`: one `generate` call on the B pictures (batch B, eager, fp32).
Lumen's B=1 row is "one at a time in one process", the baseline of the ratio column. Each
row reports whether every picture got the same tokens as transformers (fp32 only: quantized
variants differ by their own rounding) and as Lumen one at a time.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from export.benchmark.inputs import bench_image, forced_length
from export.benchmark.runner import BEAMS, NO_REPEAT

SIZES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class BatchBenchOptions:
    model: Path
    checkpoint: Path | None = None
    dtype: str = "int8"
    sizes: tuple[int, ...] = SIZES
    tokens: int = 20
    threads: int | None = None
    device: str = "cpu"
    workers: int = 2


@dataclass
class BatchRow:
    engine: str
    batch: int
    seconds: float
    tokens: list[list[int]] = field(repr=False, default_factory=list)

    @property
    def pictures_per_s(self) -> float:
        return self.batch / self.seconds


def _settings(captioner: Any, tokens: int) -> Any:
    from models.results import DescribeOptions

    options = DescribeOptions(beams=BEAMS, max_tokens=tokens)
    return captioner.settings(options).replace(no_repeat_ngram_size=NO_REPEAT, **forced_length(tokens))


def lumen_batch(captioner: Any, images: list[Image.Image], tokens: int) -> list[list[int]]:
    """Vision encoder once over `images` (each alone for a variant not in BATCH_EXACT_DTYPES),
    then each picture's text encoder and decoder: the calls `Captioner.encode_together` and
    `describe` make, with the bench's forced length."""
    from models.captioner import BATCH_EXACT_DTYPES
    from models.generation import generate
    from models.results import DescribeOptions

    adapter = captioner.adapter
    settings = _settings(captioner, tokens)
    if captioner.folder.dtype in BATCH_EXACT_DTYPES:
        features = adapter.encode(np.concatenate([adapter.pixels(image) for image in images]), {})
    else:
        features = np.concatenate([adapter.encode(adapter.pixels(image), {}) for image in images])
    sequences = []
    for image, one in zip(images, features):
        prepared = adapter.prepare(None, image.size, DescribeOptions(beams=BEAMS, max_tokens=tokens), {},
                                   features=np.ascontiguousarray(one[None]))
        sequences.append(list(generate(prepared.decoder, prepared.prefix, settings).sequences[0]))
    return sequences


def _in_workers(captioners: list[Any], images: list[Image.Image], tokens: int) -> list[list[int]]:
    shares = [images[i::len(captioners)] for i in range(len(captioners))]
    results: list[list[list[int]]] = [[] for _ in captioners]

    def work(i: int) -> None:
        if shares[i]:
            results[i] = lumen_batch(captioners[i], shares[i], tokens)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(captioners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged: list[list[int]] = [[] for _ in images]
    for i, share in enumerate(results):
        for j, seq in enumerate(share):
            merged[i + j * len(captioners)] = seq
    return merged


class TorchBatch:
    """transformers' eager `generate` on B pictures at once (the checkpoint Lumen's came from)."""

    def __init__(self, checkpoint: Path, model_folder: Path, threads: int | None) -> None:
        import torch
        from transformers import Florence2ForConditionalGeneration

        from models.folder import ModelFolder
        from models.preprocess import ImagePreprocessor
        from models.tasks import florence_task
        from models.tokenizer import TextTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.model = Florence2ForConditionalGeneration.from_pretrained(
            checkpoint, attn_implementation="eager", dtype=torch.float32).eval()
        self.preprocess = ImagePreprocessor.from_config(ModelFolder.open(model_folder).preprocessor_config)
        self.prompt = TextTokenizer.from_folder(model_folder).encode(florence_task("caption", "brief").prompt)
        with torch.no_grad():
            probe = self.preprocess(bench_image((64, 48)))
            self.image_tokens = int(self.model.model.get_image_features(torch.from_numpy(probe)).pooler_output.shape[1])

    def run(self, images: list[Image.Image], tokens: int) -> list[list[int]]:
        import torch

        pixels = torch.from_numpy(np.concatenate([self.preprocess(image) for image in images]))
        ids = torch.tensor([[self.model.config.image_token_id] * self.image_tokens + self.prompt] * len(images))
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, pixel_values=pixels, num_beams=BEAMS, do_sample=False,
                                      no_repeat_ngram_size=NO_REPEAT, **forced_length(tokens))
        return [row.tolist() for row in out]


def _timed(run: Callable[[], list[list[int]]]) -> tuple[float, list[list[int]]]:
    start = time.perf_counter()
    tokens = run()
    return time.perf_counter() - start, tokens


def run_batch_bench(options: BatchBenchOptions, log: Callable[[str], Any] = print) -> tuple[str, dict]:
    from models.captioner import BATCH_EXACT_DTYPES, Captioner

    cores = options.threads or os.cpu_count() or 1
    load = lambda threads: Captioner.load(options.model, device=options.device, dtype=options.dtype,  # noqa: E731
                                          threads=threads)
    whole = load(cores)
    workers = [load(max(1, cores // options.workers)) for _ in range(options.workers)] if options.workers > 1 else []
    torch_side = TorchBatch(options.checkpoint, options.model, cores) if options.checkpoint else None
    pictures = [bench_image(seed=i) for i in range(max(options.sizes))]
    lumen_batch(whole, pictures[:1], options.tokens)  # warm-up: first-run allocations
    if workers:
        _in_workers(workers, pictures[:len(workers)], options.tokens)
    # One at a time over every picture: the baseline, and each picture's reference tokens.
    seconds, tokens = _timed(lambda: [lumen_batch(whole, [image], options.tokens)[0] for image in pictures])
    rows: list[BatchRow] = [BatchRow(f"lumen {options.dtype}, one at a time", len(pictures), seconds, tokens)]
    single = dict(enumerate(tokens))
    log(f"  one at a time: lumen {seconds / len(pictures):.2f} s a picture")
    together = whole.folder.dtype in BATCH_EXACT_DTYPES
    for size in options.sizes:
        images = pictures[:size]
        if size > 1 and together:
            lumen_batch(whole, images, 1)  # a new batch shape's first run is not timed
            seconds, tokens = _timed(lambda: lumen_batch(whole, images, options.tokens))
            rows.append(BatchRow(f"lumen {options.dtype}, vision x{size}", size, seconds, tokens))
            log(f"  batch {size}: lumen {seconds:.2f} s")
        if workers and size >= len(workers):
            if together and size > len(workers):
                _in_workers(workers, images, 1)
            seconds, tokens = _timed(lambda: _in_workers(workers, images, options.tokens))
            rows.append(BatchRow(f"lumen {options.dtype}, {len(workers)} workers x {cores // len(workers)} "
                                 f"thread(s)", size, seconds, tokens))
            log(f"  batch {size}: lumen {len(workers)} workers {seconds:.2f} s")
        if torch_side is not None:
            seconds, tokens = _timed(lambda: torch_side.run(images, options.tokens))
            rows.append(BatchRow("transformers fp32 generate", size, seconds, tokens))
            log(f"  batch {size}: transformers {seconds:.2f} s")
    return _report(rows, single, options)


def _report(rows: list[BatchRow], single: dict[int, list[int]], options: BatchBenchOptions) -> tuple[str, dict]:
    base = rows[0].pictures_per_s  # one at a time
    torch_rows = {r.batch: r for r in rows if r.engine.startswith("transformers")}
    lines = ["| engine | pictures per call | pictures/s | × Lumen one at a time | tokens = one at a time | tokens = transformers |",
             "|---|---:|---:|---:|---|---|"]
    data: dict[str, Any] = {"dtype": options.dtype, "tokens": options.tokens, "device": options.device,
                            "cores": options.threads or os.cpu_count(), "rows": []}
    for row in rows:
        same_single = all(seq == single[i] for i, seq in enumerate(row.tokens))
        reference = None if row.engine.startswith("transformers") else torch_rows.get(row.batch)
        same_torch = None if reference is None else all(a == b for a, b in zip(row.tokens, reference.tokens))
        lines.append(f"| {row.engine} | {row.batch} | {row.pictures_per_s:.3f} | {row.pictures_per_s / base:.2f} | "
                     f"{'yes' if same_single else 'no'} | {'–' if same_torch is None else ('yes' if same_torch else 'no')} |")
        data["rows"].append({"engine": row.engine, "batch": row.batch, "seconds": round(row.seconds, 3),
                             "pictures_per_s": round(row.pictures_per_s, 4), "same_as_single": same_single,
                             "same_as_transformers": same_torch})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    data["load_average"] = load
    return "\n".join(lines) + (f"\nload average at the end: {load:.1f}" if load is not None else ""), data
