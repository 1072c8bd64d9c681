"""`lumen bench --ask`: SmolVLM-256M at full size with random weights, Lumen against transformers.

The checkpoint is built from the model card's numbers (SigLIP 768 x 12 layers at 512 px, patch
16; pixel shuffle 4 -> 64 image tokens per tile; Llama decoder 576 x 30 layers, 9 heads, 3
key/value heads, vocabulary 49280) and the published processor settings (pictures resized to
2048 px and cut into 512-px tiles: up to 4 x 4 + 1), exported by our exporter in fp32 and int8,
built once and cached. Random weights give meaningless answers at the real cost.

Measured, in one process, for each dtype and for split tiles and one tile: picture encoding,
the first answer (picture included), a follow-up answer on the same picture (its encoding and
the conversation's key/value cache reused); and transformers' generate on the same weights,
picture and questions (it encodes the picture again for every question). Medians of `runs`.
"""
from __future__ import annotations

import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from models.fsutil import build_once

BUILDER_VERSION = 1
VISION = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
              image_size=512, patch_size=16)
TEXT = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
            num_key_value_heads=3, vocab_size=49280, max_position_embeddings=8192, rope_theta=100000.0,
            rms_norm_eps=1e-5, tie_word_embeddings=False)
SCALE_FACTOR = 4
PROCESSOR = dict(size={"longest_edge": 2048}, max_image_size={"longest_edge": 512}, do_image_splitting=True,
                 image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
QUESTIONS = ("What colour is the car?", "Is there anyone in the photo?")
GOALS = {"follow_up_int8_s": 0.6, "first_answer_int8_s": 2.5}


def build_checkpoint(out: Path) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, SmolVLMConfig, SmolVLMForConditionalGeneration
    from transformers import SmolVLMImageProcessorPil
    from transformers.models.smolvlm.configuration_smolvlm import SmolVLMVisionConfig

    from export.smolvlm_checkpoint import CHAT_TEMPLATE, smolvlm_processor, smolvlm_tokenizer

    torch.manual_seed(0)
    tokenizer = smolvlm_tokenizer(1000)
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    text = LlamaConfig(**TEXT, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)
    config = SmolVLMConfig(text_config=text.to_dict(), vision_config=SmolVLMVisionConfig(**VISION).to_dict(),
                           scale_factor=SCALE_FACTOR, image_token_id=image_token, tie_word_embeddings=False)
    model = SmolVLMForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(out)
    seq = (VISION["image_size"] // VISION["patch_size"]) ** 2 // SCALE_FACTOR**2
    smolvlm_processor(tokenizer, SmolVLMImageProcessorPil(**PROCESSOR), CHAT_TEMPLATE, seq).save_pretrained(out)


def random_smolvlm(cache: Path, log: Callable[[str], Any]) -> tuple[Path, Path]:
    """(checkpoint, exported Lumen folder with fp32 and int8), built once per builder version."""
    from importlib.metadata import version

    from export.api import export_model

    key = f"smolvlm-256m-random-v{BUILDER_VERSION}-tf{version('transformers')}-torch{version('torch')}"
    checkpoint = build_once(cache / key / "checkpoint", lambda out: (log("building SmolVLM-256M, random weights"),
                                                                     build_checkpoint(out)))
    onnx = build_once(cache / key / "onnx",
                      lambda out: export_model(checkpoint, out, ("fp32", "int8"), log=log))
    return checkpoint, onnx


def photo(size: tuple[int, int] = (1024, 768)) -> Any:
    import numpy as np
    from PIL import Image

    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    base = np.stack([np.sin(x / 37) * 100 + 128, np.cos(y / 23) * 100 + 128, (x * y) % 251], axis=-1)
    return Image.fromarray(np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8))


@dataclass
class AskBenchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        head = ("| engine | tiles | picture encoding s | first answer (incl. picture) s | follow-up answer s "
                "| tokens | cache MB |\n|---|---|---|---|---|---|---|")
        lines = [head]
        for r in self.rows:
            lines.append(f"| {r['engine']} | {r['tiles']} | {r['encode_s']:.2f} | {r['first_s']:.2f} | "
                         f"{r['follow_up_s']:.2f} | {r['tokens']} | {r.get('cache_mb', 0):.1f} |")
        goals = self.data.get("goals", {})
        lines.append("")
        lines.append(f"Goals (int8, one tile): follow-up of {self.data.get('tokens')} tokens "
                     f"{goals.get('follow_up_int8_s', float('nan')):.2f} s (goal {GOALS['follow_up_int8_s']} s), "
                     f"first answer incl. picture {goals.get('first_answer_int8_s', float('nan')):.2f} s "
                     f"(goal {GOALS['first_answer_int8_s']} s).")
        lines.append(self.data.get("machine", ""))
        return "\n".join(lines)


def _measure(asker: Any, picture: Any, tokens: int, runs: int) -> dict[str, Any]:
    encode, first, follow, count = [], [], [], []
    for _ in range(runs):
        asker.cache.clear()
        t = time.perf_counter()
        chat = asker.conversation(picture)
        encode.append(time.perf_counter() - t)
        answer = chat.ask(QUESTIONS[0], max_tokens=tokens)
        first.append(time.perf_counter() - t)
        t = time.perf_counter()
        second = chat.ask(QUESTIONS[1], max_tokens=tokens)
        follow.append(time.perf_counter() - t)
        count.append(min(len(answer.token_ids), len(second.token_ids)))
    return dict(engine=f"Lumen {asker.folder.dtype}", tiles=chat.encoded.picture.tiles,
                encode_s=statistics.median(encode), first_s=statistics.median(first),
                follow_up_s=statistics.median(follow), tokens=min(count),
                cache_mb=asker.cache.stats.bytes / 1e6, reused_tokens=chat.reused_tokens)


def _lumen(folder: Path, dtype: str, split: bool, tokens: int, runs: int, threads: int | None,
           log: Callable[[str], Any]) -> list[dict[str, Any]]:
    """One tile (median of `runs`, after a warm-up), then split tiles once (17 tiles are slow)."""
    from models.asker import Asker
    from models.picture_cache import PictureCache

    picture = photo()
    asker = Asker.load(folder, "cpu", dtype=dtype, threads=threads, one_tile=True, cache=PictureCache())
    asker.conversation(picture).ask(QUESTIONS[0], max_tokens=2)  # warm-up: kernels chosen, arenas grown
    log(f"Lumen {dtype}, one tile")
    rows = [_measure(asker, picture, tokens, runs)]
    if split:
        log(f"Lumen {dtype}, split tiles")
        asker.one_tile = False
        rows.append(_measure(asker, picture, tokens, 1))
    return rows


def _transformers(checkpoint: Path, one_tile: bool, tokens: int, runs: int, threads: int | None) -> dict[str, Any]:
    import torch
    from transformers import SmolVLMForConditionalGeneration

    from export.smolvlm_checkpoint import load_processor
    from models.smolvlm_inputs import conversation

    if threads:
        torch.set_num_threads(threads)
    model = SmolVLMForConditionalGeneration.from_pretrained(checkpoint).eval()
    processor = load_processor(checkpoint)
    picture = photo()
    kwargs = {"do_image_splitting": False} if one_tile else {}

    def answer(turns: list) -> tuple[list[int], float, float]:
        """Processor and generate (which encodes the picture: transformers keeps nothing between
        questions); the encoding alone is timed apart, outside that figure."""
        t = time.perf_counter()
        inputs = processor(text=processor.apply_chat_template(conversation(turns), add_generation_prompt=True),
                           images=[picture], return_tensors="pt", images_kwargs=kwargs)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=tokens, do_sample=False)
            took = time.perf_counter() - t
            t = time.perf_counter()
            model.model.get_image_features(inputs["pixel_values"], inputs["pixel_attention_mask"])
        ids = out[0, inputs["input_ids"].shape[1]:].tolist()
        return ids, took, time.perf_counter() - t

    answer([(QUESTIONS[0], None)])  # warm-up
    encode, first, follow, count = [], [], [], []
    for _ in range(runs):
        ids, took, enc = answer([(QUESTIONS[0], None)])
        text = processor.decode(ids, skip_special_tokens=True).strip()
        ids2, took2, _ = answer([(QUESTIONS[0], text), (QUESTIONS[1], None)])
        encode.append(enc), first.append(took), follow.append(took2), count.append(min(len(ids), len(ids2)))
    return dict(engine="transformers fp32", tiles=1 if one_tile else "split", encode_s=statistics.median(encode),
                first_s=statistics.median(first), follow_up_s=statistics.median(follow), tokens=min(count))


def run_ask_bench(cache: Path, *, tokens: int = 20, runs: int = 3, threads: int | None = None,
                  dtypes: tuple[str, ...] = ("fp32", "int8"), split: bool = True,
                  log: Callable[[str], Any] = print) -> AskBenchResult:
    import os

    checkpoint, folder = random_smolvlm(cache, log)
    result = AskBenchResult()
    for dtype in dtypes:
        result.rows += _lumen(folder, dtype, split, tokens, runs, threads, log)
    for one_tile in ((True, False) if split else (True,)):
        log(f"transformers, {'one tile' if one_tile else 'split tiles'}")
        result.rows.append(_transformers(checkpoint, one_tile, tokens, runs if one_tile else 1, threads))
    int8 = next((r for r in result.rows if r["engine"] == "Lumen int8" and r["tiles"] == 1), None)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result.data = {
        "rows": result.rows, "tokens": tokens, "runs": runs,
        "goals": ({"follow_up_int8_s": int8["follow_up_s"], "first_answer_int8_s": int8["first_s"]} if int8 else {}),
        "machine": (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                    f"load average {load:.1f} at the end (other work on the machine slows every figure)"),
    }
    return result
