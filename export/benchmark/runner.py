"""Timing both engines on one image, interleaved, in one process.

Each side runs the same preprocessed image with the same decoding: beam 3,
no_repeat_ngram_size 3, and exactly N new tokens (EOS banned until the forced EOS at the end).
Rounds rotate the order of the sides, so a burst of load from the other users of the machine
hits every side alike; a warm-up run per side is not counted.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
from PIL import Image

from export.benchmark.inputs import forced_length

BEAMS = 3
NO_REPEAT = 3


@dataclass
class RunTimes:
    """One describe, in seconds; `cpu_s` is the process CPU time (all threads)."""

    total_s: float
    preprocess_s: float
    vision_s: float
    encoder_s: float
    decode_s: float
    first_token_s: float
    cpu_s: float
    tokens: list[int] = field(repr=False)
    steps: int = 0

    @property
    def per_token_s(self) -> float:
        return self.decode_s / max(1, self.steps)


class Side(Protocol):
    name: str
    load_s: float

    def run(self, image: Image.Image, tokens: int) -> RunTimes: ...


class _Clock:
    """Wall and CPU time since creation."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def since(self) -> float:
        return time.perf_counter() - self.wall

    def cpu_since(self) -> float:
        return time.process_time() - self.cpu


class EngineSide:
    """Our engine (models.Captioner) on one dtype of a model folder."""

    def __init__(self, folder: Path, dtype: str, threads: int | None, cache_dir: Path,
                 device: str = "cpu") -> None:
        from models.captioner import Captioner

        self.name, self.dtype = f"onnx_{dtype}", dtype
        clock = _Clock()
        # An empty `cache_dir` times a first start; one filled by an earlier load, a later start.
        self.captioner = Captioner.load(folder, device=device, dtype=dtype, threads=threads, cache_dir=cache_dir)
        self.load_s = clock.since()
        self.provider = self.captioner.provider

    def settings(self, tokens: int) -> Any:
        from models.results import DescribeOptions

        options = DescribeOptions(beams=BEAMS, max_tokens=tokens)
        return self.captioner.settings(options).replace(no_repeat_ngram_size=NO_REPEAT,
                                                        **forced_length(tokens))

    def run(self, image: Image.Image, tokens: int) -> RunTimes:
        from models.generation import generate
        from models.results import DescribeOptions

        adapter = self.captioner.adapter
        clock = _Clock()
        pixels = adapter.pixels(image)
        preprocess = clock.since()
        timings: dict[str, float] = {}
        prepared = adapter.prepare(pixels, image.size, DescribeOptions(beams=BEAMS, max_tokens=tokens), timings)
        first: list[float] = []
        start = time.perf_counter()
        out = generate(prepared.decoder, prepared.prefix, self.settings(tokens),
                       on_step=lambda _ids: first or first.append(clock.since()))
        decode = time.perf_counter() - start
        return RunTimes(clock.since(), preprocess, timings["vision"] / 1000.0, timings["encoder"] / 1000.0,
                        decode, first[0], clock.cpu_since(), out.sequences[0], out.steps)

    def prepared(self, image: Image.Image) -> Any:
        from models.results import DescribeOptions

        adapter = self.captioner.adapter
        return adapter.prepare(adapter.pixels(image), image.size, DescribeOptions(beams=BEAMS), {})


class TorchSide:
    """transformers' eager `generate` on the checkpoint the ONNX files were exported from."""

    name = "torch"

    def __init__(self, checkpoint: Path, model_folder: Path, threads: int | None) -> None:
        import torch
        from transformers import Florence2ForConditionalGeneration

        from models.folder import ModelFolder
        from models.preprocess import ImagePreprocessor
        from models.tasks import florence_task
        from models.tokenizer import TextTokenizer

        if threads:
            torch.set_num_threads(threads)
        clock = _Clock()
        self.model = Florence2ForConditionalGeneration.from_pretrained(
            checkpoint, attn_implementation="eager", dtype=torch.float32).eval()
        self.load_s = clock.since()
        folder = ModelFolder.open(model_folder)
        self.preprocess = ImagePreprocessor.from_config(folder.preprocessor_config)
        self.prompt = TextTokenizer.from_folder(model_folder).encode(florence_task("caption", "brief").prompt)
        self._stages: dict[str, float] = {}
        self._hook(self.model.model.vision_tower, self.model.model.multi_modal_projector, "vision")
        encoder = self.model.model.language_model.encoder
        self._hook(encoder, encoder, "encoder")

    def _hook(self, first: Any, last: Any, stage: str) -> None:
        """Time from `first`'s input to `last`'s output, into self._stages[stage]."""
        def begin(*_: Any) -> None:
            self._stages[stage + ".start"] = time.perf_counter()

        def end(*_: Any) -> None:
            self._stages[stage] = time.perf_counter() - self._stages[stage + ".start"]

        first.register_forward_pre_hook(begin)
        last.register_forward_hook(end)

    def features(self, pixels: np.ndarray) -> Any:
        import torch

        with torch.no_grad():
            return self.model.model.get_image_features(torch.from_numpy(pixels)).pooler_output

    def run(self, image: Image.Image, tokens: int) -> RunTimes:
        import torch
        from transformers import LogitsProcessorList

        first: list[float] = []
        clock = _Clock()

        def note_first(_ids: Any, scores: Any) -> Any:
            if not first:
                first.append(clock.since())
            return scores

        pixels = self.preprocess(image)
        preprocess = clock.since()
        ids = torch.tensor([[self.model.config.image_token_id] * self._n_image(pixels) + self.prompt])
        self._stages.clear()
        with torch.no_grad():
            out = self.model.generate(
                input_ids=ids, pixel_values=torch.from_numpy(pixels), num_beams=BEAMS, do_sample=False,
                no_repeat_ngram_size=NO_REPEAT, logits_processor=LogitsProcessorList([note_first]),
                **forced_length(tokens),
            )
        end = time.perf_counter()
        total = end - clock.wall
        encoded = self._stages.get("encoder.start", clock.wall) + self._stages.get("encoder", 0.0)
        decode = end - encoded
        return RunTimes(total, preprocess, self._stages.get("vision", 0.0), self._stages.get("encoder", 0.0),
                        decode, first[0] if first else total, clock.cpu_since(), out[0].tolist(), tokens)

    def _n_image(self, pixels: np.ndarray) -> int:
        if not hasattr(self, "_image_tokens"):
            self._image_tokens = int(self.features(pixels[:1]).shape[1])
        return self._image_tokens


def interleave(sides: list[Side], image: Image.Image, tokens: int, runs: int,
               log: Callable[[str], Any] = print) -> dict[str, list[RunTimes]]:
    """`runs` timed rounds after one warm-up each; the order rotates every round."""
    results: dict[str, list[RunTimes]] = {s.name: [] for s in sides}
    for side in sides:
        warm = side.run(image, tokens)
        log(f"  warm-up {side.name:<10} {warm.total_s:6.2f} s")
    for r in range(runs):
        order = sides[r % len(sides):] + sides[: r % len(sides)]
        for side in order:
            times = side.run(image, tokens)
            results[side.name].append(times)
            log(f"  run {r + 1}/{runs} {side.name:<10} {times.total_s:6.2f} s (cpu {times.cpu_s:5.2f} s)")
    return results
