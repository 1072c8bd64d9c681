"""A Florence-2 with random weights, full size when given the real config: built once, cached.

`../shared/florence2-base/config.json` is in the original custom-code format
(`vision_config.dim_embed`, ...); `native_config` maps it onto transformers' own
`Florence2Config` (231,414,016 parameters for Florence-2-base). A folder whose config.json is
already native (e.g. a tiny test checkpoint) is used as it is.

Random weights as initialised decode one id three times, then the next (what no_repeat_ngram
allows): the decoder's last state is little more than its input token's embedding, which the
tied output layer then scores highest. Drawing the decoder's position embeddings wide (std 1
instead of 0.02) makes every step's state different, so the tokens vary; the attention stays
soft, so torch and ONNX Runtime agree to ~1e-5 and the token comparison is meaningful. (Wider
matrices everywhere were tried: they make the network chaotic, fp32 rounding then changes the
output by 1e-2.) The shapes, and so the cost, are the real model's.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Sequence

from models.errors import ExportError
from models.families import IMAGE_PROCESSOR_FILES, alternatives, present_files
from models.fsutil import build_once

# Bump when the weights built here change; the cache key includes it.
BUILDER_VERSION = 2
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                   "merges.txt", "added_tokens.json")
# BartConfig fields taken from the original `text_config` (the rest are training settings).
TEXT_KEYS = (
    "vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
    "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "max_position_embeddings",
    "activation_function", "scale_embedding", "init_std", "bos_token_id", "pad_token_id",
    "eos_token_id", "decoder_start_token_id", "forced_bos_token_id", "forced_eos_token_id",
)
# vision_config: original name -> transformers' Florence2VisionConfig name.
VISION_KEYS = {
    "dim_embed": "embed_dim", "depths": "depths", "num_heads": "num_heads", "num_groups": "num_groups",
    "patch_size": "patch_size", "patch_stride": "patch_stride", "patch_padding": "patch_padding",
    "patch_prenorm": "patch_prenorm", "window_size": "window_size", "projection_dim": "projection_dim",
}
POSITION_STD = 1.0
# The exporter's files (the cache key includes them); other families' modules do not count.
EXPORT_DIR = Path(__file__).resolve().parents[1]
OTHER_FAMILIES = ("blip",)


@dataclass(frozen=True)
class BenchModel:
    """A transformers checkpoint and the Lumen model folder exported from it."""

    checkpoint: Path
    onnx: Path
    dtypes: tuple[str, ...]
    note: str = ""  # e.g. why a dtype could not be exported


def _read_config(config_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((config_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ExportError(f"{config_dir / 'config.json'} is missing or not JSON; give a folder with a Florence-2 config") from e


def is_original_format(config: dict[str, Any]) -> bool:
    return "dim_embed" in (config.get("vision_config") or {})


def _image_token_id(config_dir: Path, vocab_size: int) -> int:
    """A row inside the embedding that no prompt produces: the tokenizer's <unk>."""
    try:
        tokenizer = json.loads((config_dir / "tokenizer.json").read_text(encoding="utf-8"))
        for token in tokenizer.get("added_tokens", []):
            if token.get("content") == "<unk>" and int(token["id"]) < vocab_size:
                return int(token["id"])
    except (OSError, ValueError, KeyError):
        pass
    return vocab_size - 1


def native_config(config_dir: Path) -> Any:
    """transformers' Florence2Config for the model described in `config_dir`."""
    from transformers import BartConfig, Florence2Config, Florence2VisionConfig

    config = _read_config(config_dir)
    if config.get("model_type") != "florence2":
        raise ExportError(f"{config_dir} holds a '{config.get('model_type')}' config; --random-weights needs Florence-2")
    if not is_original_format(config):
        return Florence2Config.from_pretrained(config_dir)
    text = config.get("text_config") or {}
    vision = config["vision_config"]
    missing = [k for k in ("vocab_size", "d_model", "encoder_layers", "decoder_layers") if k not in text]
    if missing:
        raise ExportError(f"{config_dir / 'config.json'} has no text_config.{missing[0]}; it is not a Florence-2 config")
    text_config = BartConfig(**{k: text[k] for k in TEXT_KEYS if k in text})
    vision_config = Florence2VisionConfig(
        **{new: vision[old] for old, new in VISION_KEYS.items() if old in vision}, drop_path_rate=0.0,
    )
    return Florence2Config(text_config=text_config, vision_config=vision_config,
                           image_token_id=_image_token_id(config_dir, text_config.vocab_size))


def randomise(model: Any, seed: int = 0) -> None:
    """Decoder position embeddings drawn wide (std 1), see the module doc; the rest as initialised."""
    import torch

    positions = model.model.language_model.decoder.embed_positions.weight
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        positions.copy_(torch.randn(positions.shape, generator=gen) * POSITION_STD)


def build_checkpoint(config_dir: Path, out: Path, seed: int = 0, log: Callable[[str], Any] = print) -> Path:
    """Write a transformers checkpoint with random weights and the folder's tokenizer files."""
    import torch
    from transformers import Florence2ForConditionalGeneration

    _, missing = present_files(("tokenizer.json", IMAGE_PROCESSOR_FILES), lambda n: (config_dir / n).is_file())
    if missing:
        raise ExportError(f"{missing[0]} is missing from {config_dir}; --random-weights needs the config and tokenizer files")
    config = native_config(config_dir)
    log(f"building a random-weight Florence-2 from {config_dir}")
    torch.manual_seed(seed)
    model = Florence2ForConditionalGeneration(config).eval()
    randomise(model, seed)
    model.save_pretrained(out)
    for name in (*TOKENIZER_FILES, *alternatives(IMAGE_PROCESSOR_FILES), "generation_config.json"):
        if (config_dir / name).is_file():
            shutil.copyfile(config_dir / name, out / name)
    return out


def _versions() -> str:
    found = []
    for dist in ("torch", "transformers", "onnx", "onnxruntime", "onnxscript"):
        try:
            found.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:
            pass
    return ",".join(found)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.hexdigest()[:16]


def random_model(config_dir: Path, cache_root: Path, dtypes: Sequence[str] = ("fp32", "int8", "q4", "fp16"),
                 log: Callable[[str], Any] = print) -> BenchModel:
    """The cached checkpoint and export for `config_dir`, built on first use (minutes at full size)."""
    from export.api import export_model

    config_dir = Path(config_dir).expanduser()
    files = b"".join((config_dir / n).read_bytes() for n in ("config.json", "tokenizer.json", *alternatives(IMAGE_PROCESSOR_FILES))
                     if (config_dir / n).is_file())
    key = _digest(files, f"{BUILDER_VERSION}|{_versions()}".encode())
    checkpoint = build_once(cache_root / f"random-{key}" / "checkpoint", lambda out: build_checkpoint(config_dir, out, log=log))
    exporter = b"".join(p.read_bytes() for p in sorted(EXPORT_DIR.glob("*.py")) if p.stem not in OTHER_FAMILIES)
    onnx_dir = cache_root / f"random-{key}" / f"onnx-{_digest(exporter, ','.join(dtypes).encode())}"
    note = ""
    if not (onnx_dir / ".done").is_file():
        try:
            build_once(onnx_dir, lambda out: export_model(checkpoint, out, tuple(dtypes), log=log))
        except ExportError as e:
            if "fp16" not in dtypes:
                raise
            # fp16 is the one variant whose validation may fail on a CPU; keep the others.
            note = f"fp16 not exported: {e}"
            log(note)
            kept = tuple(d for d in dtypes if d != "fp16")
            build_once(onnx_dir, lambda out: export_model(checkpoint, out, kept, log=log))
            (onnx_dir / "bench-note.txt").write_text(note)
    if (onnx_dir / "bench-note.txt").is_file():
        note = (onnx_dir / "bench-note.txt").read_text()
    from models.folder import dtypes_present

    present = tuple(d for d in dtypes if d in dtypes_present(onnx_dir / "onnx", "florence2"))
    return BenchModel(checkpoint, onnx_dir, present, note)
