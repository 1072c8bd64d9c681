"""Florence-2 -> the onnx-community layout: vision_encoder, embed_tokens, encoder_model and a
merged decoder (decoder_model_merged with `use_cache_branch`), tensor names as published."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import onnx
import torch
from torch import nn

from export.decoder_parts import Case, DecoderWithCache, decoder_cases, decoder_io_names, dims
from export.florence2_vision import vision_tower
from export.fusions import fold_weight_transposes, fuse_gelu
from export.merge import export_decoder_pair
from export.onnx_utils import export_module, save_model
from export.token_inputs import fit_length, fixed_ids, positions, vocab_size, word_ids
from models.errors import ExportError, ModelFolderError


@dataclass(frozen=True)
class FlorenceShapes:
    layers: int
    heads: int
    head_dim: int
    hidden: int
    image_size: tuple[int, int]
    vocab: int  # rows of the word embedding table
    positions: int | None  # the text encoder's and decoder's learned position table


def florence_shapes(model: Any, image_size: tuple[int, int]) -> FlorenceShapes:
    text = model.config.text_config
    return FlorenceShapes(
        layers=text.decoder_layers,
        heads=text.decoder_attention_heads,
        head_dim=text.d_model // text.decoder_attention_heads,
        hidden=text.d_model,
        image_size=image_size,
        vocab=vocab_size(model.get_input_embeddings()),
        positions=positions(text),
    )


def _channel_attention(self: Any, hidden_states: torch.Tensor) -> torch.Tensor:
    """Florence2VisionChannelAttention.forward, the same arithmetic laid out for ONNX Runtime.

    transformers permutes q, k, v to (batch, groups, channels, tokens), which exports as
    transposes that move the token axis innermost: element by element, on one thread, about
    15% of the vision encoder's time. Keeping tokens outside the channels makes every
    transpose a copy of whole channel rows and lets the two products take their operands
    transposed (FusedMatMul): (q^T k) then (v a^T) instead of (q k^T) then (a v), transposed.
    """
    batch, tokens, dim = hidden_states.shape
    qkv = self.qkv(hidden_states).reshape(batch, tokens, 3, self.groups, dim // self.groups)
    query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (batch, groups, tokens, channels)
    scores = torch.matmul(query.transpose(-1, -2), key) * tokens**-0.5
    weights = nn.functional.softmax(scores, dim=-1)
    out = torch.matmul(value, weights.transpose(-1, -2))  # (batch, groups, tokens, channels)
    return self.proj(out.permute(0, 2, 1, 3).reshape(batch, tokens, dim))


class VisionEncoder(nn.Module):
    """pixel_values -> image_features (vision tower + multi-modal projector)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model.model
        for module in self.model.vision_tower.modules():
            if type(module).__name__ == "Florence2VisionChannelAttention":
                module.forward = _channel_attention.__get__(module)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # get_image_features's arithmetic, the tower channels-last (export/florence2_vision.py)
        return self.model.multi_modal_projector(vision_tower(self.model.vision_tower, pixel_values))


class EmbedTokens(nn.Module):
    """input_ids -> inputs_embeds (shared by the text encoder and the decoder)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.embed = model.get_input_embeddings()

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embed(input_ids)


class TextEncoder(nn.Module):
    """inputs_embeds (image features then prompt embeddings), attention_mask -> last_hidden_state."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.encoder = model.model.language_model.encoder

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state


def part_specs(model: Any, shapes: FlorenceShapes) -> dict[str, dict[str, Any]]:
    """Module, example inputs, names and dynamic axes for each exported part."""
    batch, seq, enc_seq = dims("batch"), dims("sequence_length"), dims("encoder_sequence_length")
    h, w = shapes.image_size
    pixel_values = torch.randn(2, 3, h, w)
    with torch.no_grad():
        n_img = VisionEncoder(model)(pixel_values[:1]).shape[1]
    ids = word_ids(shapes.vocab, (2, 5), end=100)
    embeds = torch.randn(2, n_img + 5, shapes.hidden)
    mask = torch.ones(2, n_img + 5, dtype=torch.int64)
    specs: dict[str, dict[str, Any]] = {
        "vision_encoder": dict(
            module=VisionEncoder(model), args=(pixel_values,), inputs=["pixel_values"],
            outputs=["image_features"], dynamic=({0: batch},),
        ),
        "embed_tokens": dict(
            module=EmbedTokens(model), args=(ids,), inputs=["input_ids"],
            outputs=["inputs_embeds"], dynamic=({0: batch, 1: seq},),
        ),
        "encoder_model": dict(
            module=TextEncoder(model), args=(embeds, mask), inputs=["inputs_embeds", "attention_mask"],
            outputs=["last_hidden_state"], dynamic=({0: batch, 1: enc_seq}, {0: batch, 1: enc_seq}),
        ),
    }
    decoder = model.model.language_model.decoder
    for with_past in (False, True):
        wrapper = DecoderWithCache(decoder, model.lm_head, shapes.layers, with_past)
        inputs, outputs = decoder_io_names(shapes.layers, with_past)
        args, dynamic = wrapper.example_inputs(
            batch=2, past=3, enc_seq=n_img + 5, heads=shapes.heads, head_dim=shapes.head_dim,
            hidden=shapes.hidden,
        )
        specs["decoder_with_past" if with_past else "decoder"] = dict(
            module=wrapper, args=args, inputs=inputs, outputs=outputs, dynamic=dynamic,
        )
    return specs


# --- the family interface used by export.api ------------------------------------------------

PARTS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")


def load_model(folder: Path) -> Any:
    from transformers import Florence2ForConditionalGeneration

    # Eager attention exports cleanly; sdpa/flash paths do not.
    model = Florence2ForConditionalGeneration.from_pretrained(
        folder, attn_implementation="eager", dtype=torch.float32
    )
    return model.eval()


def image_size(folder: Path) -> tuple[int, int]:
    """The vision encoder's input size, from the checkpoint's image processor settings."""
    from models.folder import image_processor_config

    try:
        cfg = image_processor_config(folder)
    except ModelFolderError as e:
        raise ExportError(str(e)) from e
    size = cfg.get("size", {})
    if isinstance(size, int):
        return size, size
    if "height" in size:
        return int(size["height"]), int(size["width"])
    if "shortest_edge" in size:
        edge = int(size["shortest_edge"])
        return edge, edge
    raise ExportError(f"the image processor settings in {folder} give no image size ({size!r})")


def export_part(spec: dict[str, Any]) -> onnx.ModelProto:
    """One part (a `part_specs` entry) traced, with the graph fusions ONNX Runtime misses."""
    proto = export_module(spec["module"], spec["args"], spec["inputs"], spec["outputs"], spec["dynamic"])
    fuse_gelu(proto)
    fold_weight_transposes(proto)
    return proto


def export_parts(model: Any, folder: Path, out: Path, log: Callable[[str], Any] = print) -> tuple[str, ...]:
    specs = part_specs(model, florence_shapes(model, image_size(folder)))
    with torch.no_grad():
        for name in PARTS[:3]:
            s = specs[name]
            log(f"exporting {name}")
            save_model(export_part(s), out / f"{name}.onnx")
        log("exporting decoder_model_merged")
        merged = out / "decoder_model_merged.onnx"
        export_decoder_pair(specs["decoder"], specs["decoder_with_past"], merged)
        proto = onnx.load(str(merged))
        if fuse_gelu(proto):
            save_model(proto, merged)
    return PARTS


def validation_cases(model: Any, folder: Path) -> dict[str, Case]:
    """label -> (part, feeds, torch outputs): new inputs, of other sizes than at export."""
    shapes = florence_shapes(model, image_size(folder))
    gen = torch.Generator().manual_seed(1234)
    h, w = shapes.image_size
    pixels = torch.randn(1, 3, h, w, generator=gen)
    cases: dict[str, Case] = {}
    with torch.no_grad():
        # transformers' own tower (not ours, channels-last): the export is checked against it
        image = model.model.get_image_features(pixels).pooler_output
        # The encoder reads image features then the prompt: both within its position table.
        ids = word_ids(shapes.vocab, (1, fit_length(7, shapes.positions, reserved=image.shape[1])), gen)
        text = EmbedTokens(model)(ids)
        embeds = torch.cat([image, text], dim=1)
        mask = torch.ones(embeds.shape[:2], dtype=torch.int64)
        enc = TextEncoder(model)(embeds, mask)
        cases["vision_encoder"] = ("vision_encoder", {"pixel_values": pixels.numpy()}, {"image_features": image.numpy()})
        cases["embed_tokens"] = ("embed_tokens", {"input_ids": ids.numpy()}, {"inputs_embeds": text.numpy()})
        cases["encoder_model"] = ("encoder_model", {"inputs_embeds": embeds.numpy(), "attention_mask": mask.numpy()},
                                  {"last_hidden_state": enc.numpy()})
        decoder = model.model.language_model.decoder
        cases.update(decoder_cases(
            DecoderWithCache(decoder, model.lm_head, shapes.layers, with_past=False),
            DecoderWithCache(decoder, model.lm_head, shapes.layers, with_past=True),
            shapes.layers, shapes.heads, shapes.head_dim, "inputs_embeds",
            EmbedTokens(model)(fixed_ids([2, 0, 11], shapes.vocab)),
            EmbedTokens(model)(fixed_ids([17], shapes.vocab)),
            enc, mask,
        ))
    return cases


def write_missing_configs(model: Any, out: Path) -> None:
    if not (out / "generation_config.json").exists():
        model.generation_config.to_json_file(out / "generation_config.json")
