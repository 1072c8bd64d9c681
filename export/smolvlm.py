"""SmolVLM (Idefics3) -> the onnx-community layout that transformers.js runs:

- vision_encoder: pixel_values (batch, tiles, 3, H, W), pixel_attention_mask (batch, tiles, H, W)
  bool -> image_features (batch * tiles, image tokens per tile, text hidden)
- embed_tokens: input_ids -> inputs_embeds
- decoder_model_merged: inputs_embeds, attention_mask, position_ids,
  past_key_values.{i}.key/value -> logits, present.{i}.key/value

Unlike the seq2seq families there is no `use_cache_branch`: one graph serves every step, the
first one fed a past of length 0 (the published files work the same way).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from export.decoder_parts import Case, dims
from export.florence2 import EmbedTokens
from export.onnx_utils import export_module, save_model
from export.token_inputs import fit_length, fixed_ids, positions, vocab_size, word_ids
from models.folder import image_processor_config

PARTS = ("vision_encoder", "embed_tokens", "decoder_model_merged")
KV = ("key", "value")


class VisionEncoder(nn.Module):
    """Tiles -> image features: SigLIP, then pixel shuffle and projection (the connector).

    transformers' get_image_features first drops all-zero padding tiles (a batch of pictures
    with different tile counts); that data-dependent filter does not export, and Lumen sends
    one picture at a time, so every tile here is real.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.vision, self.connector = model.model.vision_model, model.model.connector
        self.patch = model.config.vision_config.patch_size

    def forward(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor) -> torch.Tensor:
        batch, tiles, channels, height, width = pixel_values.shape
        pixels = pixel_values.reshape(batch * tiles, channels, height, width)
        mask = pixel_attention_mask.reshape(batch * tiles, height, width).to(torch.float32)
        p = self.patch
        # A patch is real when any of its pixels is (transformers unfolds the mask the same way).
        patches = mask.reshape(batch * tiles, height // p, p, width // p, p).sum(dim=(2, 4)) > 0
        hidden = self.vision(pixel_values=pixels, patch_attention_mask=patches).last_hidden_state
        return self.connector(hidden)


class DecoderWithPast(nn.Module):
    """The Llama text model and LM head on flat key/value tensors."""

    def __init__(self, model: Any, layers: int) -> None:
        super().__init__()
        self.text, self.lm_head, self.layers = model.model.text_model, model.lm_head, layers

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
                *past: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from transformers.cache_utils import DynamicCache

        cache = DynamicCache([(past[2 * i], past[2 * i + 1]) for i in range(self.layers)])
        out = self.text(inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids,
                        cache=cache, use_cache=True, return_dict=True)
        flat: list[torch.Tensor] = [self.lm_head(out.last_hidden_state)]
        for layer in out.cache.layers[: self.layers]:
            flat += [layer.keys, layer.values]
        return tuple(flat)


def decoder_io_names(layers: int) -> tuple[list[str], list[str]]:
    inputs = ["inputs_embeds", "attention_mask", "position_ids"]
    inputs += [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in KV]
    outputs = ["logits"] + [f"present.{i}.{kv}" for i in range(layers) for kv in KV]
    return inputs, outputs


def _text(model: Any) -> Any:
    return model.config.text_config


def _kv_shape(model: Any) -> tuple[int, int, int]:
    text = _text(model)
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    return text.num_hidden_layers, text.num_key_value_heads, head_dim


def tile_size(folder: Path) -> int:
    config = image_processor_config(folder)
    return int((config.get("max_image_size") or {}).get("longest_edge", 512))


def part_specs(model: Any, tile: int) -> dict[str, dict[str, Any]]:
    layers, kv_heads, head_dim = _kv_shape(model)
    hidden = _text(model).hidden_size
    vocab = vocab_size(model.get_input_embeddings())
    batch, tiles, seq = dims("batch"), dims("tiles"), dims("sequence_length")
    total, past = dims("total_sequence_length"), torch.export.Dim("past_sequence_length", min=0, max=8192)
    pixels = torch.randn(2, 3, 3, tile, tile)
    mask = torch.ones(2, 3, tile, tile, dtype=torch.bool)
    inputs, outputs = decoder_io_names(layers)
    past_len, new = 3, 2
    dec_args: list[torch.Tensor] = [
        torch.randn(2, new, hidden), torch.ones(2, past_len + new, dtype=torch.int64),
        torch.arange(past_len, past_len + new).repeat(2, 1),
    ]
    dec_args += [torch.randn(2, kv_heads, past_len, head_dim) for _ in range(2 * layers)]
    dec_dynamic: list[Any] = [{0: batch, 1: seq}, {0: batch, 1: total}, {0: batch, 1: seq},
                              tuple({0: batch, 2: past} for _ in range(2 * layers))]
    return {
        "vision_encoder": dict(
            module=VisionEncoder(model), args=(pixels, mask), inputs=["pixel_values", "pixel_attention_mask"],
            outputs=["image_features"], dynamic=({0: batch, 1: tiles}, {0: batch, 1: tiles}),
        ),
        "embed_tokens": dict(
            module=EmbedTokens(model), args=(word_ids(vocab, (2, 5), end=100),), inputs=["input_ids"],
            outputs=["inputs_embeds"], dynamic=({0: batch, 1: seq},),
        ),
        "decoder_model_merged": dict(
            module=DecoderWithPast(model, layers), args=tuple(dec_args), inputs=inputs, outputs=outputs,
            dynamic=tuple(dec_dynamic),
        ),
    }


# --- the family interface used by export.api ------------------------------------------------

def load_model(folder: Path) -> Any:
    from transformers import AutoModelForImageTextToText

    # Eager attention exports cleanly; sdpa/flash paths do not.
    model = AutoModelForImageTextToText.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
    return model.eval()


def export_parts(model: Any, folder: Path, out: Path, log: Callable[[str], Any] = print) -> tuple[str, ...]:
    specs = part_specs(model, tile_size(folder))
    with torch.no_grad():
        for name in PARTS:
            s = specs[name]
            log(f"exporting {name}")
            save_model(export_module(s["module"], s["args"], s["inputs"], s["outputs"], s["dynamic"]),
                       out / f"{name}.onnx")
    return PARTS


def validation_cases(model: Any, folder: Path) -> dict[str, Case]:
    """New inputs of other sizes than at export: 2 tiles, a 9-token prompt with an empty past,
    then one token on that cache."""
    layers, kv_heads, head_dim = _kv_shape(model)
    tile = tile_size(folder)
    gen = torch.Generator().manual_seed(1234)
    pixels = torch.randn(1, 2, 3, tile, tile, generator=gen)
    mask = torch.ones(1, 2, tile, tile, dtype=torch.bool)
    vocab = vocab_size(model.get_input_embeddings())
    length = fit_length(9, positions(_text(model)), reserved=1)  # a prompt, then one step on its cache
    ids = word_ids(vocab, (1, length), gen)
    _, out_names = decoder_io_names(layers)
    decoder = DecoderWithPast(model, layers)
    with torch.no_grad():
        image = VisionEncoder(model)(pixels, mask)
        embeds = EmbedTokens(model)(ids)
        empty = [torch.zeros(1, kv_heads, 0, head_dim) for _ in range(2 * layers)]
        first_in = (embeds, torch.ones(1, length, dtype=torch.int64), torch.arange(length)[None])
        first = dict(zip(out_names, decoder(*first_in, *empty)))
        past = [first[n] for n in out_names[1:]]
        step = EmbedTokens(model)(fixed_ids([17], vocab))
        second_in = (step, torch.ones(1, length + 1, dtype=torch.int64), torch.tensor([[length]]))
        second = dict(zip(out_names, decoder(*second_in, *past)))
    names = decoder_io_names(layers)[0]

    def feeds(args: tuple, kv: list[torch.Tensor]) -> dict[str, Any]:
        return {n: t.numpy() for n, t in zip(names, (*args, *kv))}

    return {
        "vision_encoder": ("vision_encoder", {"pixel_values": pixels.numpy(), "pixel_attention_mask": mask.numpy()},
                           {"image_features": image.numpy()}),
        "embed_tokens": ("embed_tokens", {"input_ids": ids.numpy()}, {"inputs_embeds": embeds.numpy()}),
        "decoder_model_merged": ("decoder_model_merged", feeds(first_in, empty),
                                 {k: v.numpy() for k, v in first.items()}),
        "decoder_model_merged (with past)": ("decoder_model_merged", feeds(second_in, past),
                                             {k: v.numpy() for k, v in second.items()}),
    }


CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")


def write_missing_configs(model: Any, out: Path) -> None:
    if not (out / "generation_config.json").exists():
        model.generation_config.to_json_file(out / "generation_config.json")
    # The chat template is the prompt format: transformers 5 saves it as chat_template.jinja,
    # the published folders as chat_template.json (older ones inside tokenizer_config.json,
    # which is copied anyway).
    source = Path(model.name_or_path)
    for name in CHAT_TEMPLATE_FILES:
        if (source / name).is_file() and not (out / name).exists():
            shutil.copyfile(source / name, out / name)
