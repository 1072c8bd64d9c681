"""BLIP captioning (BlipForConditionalGeneration) -> vision_model and a merged text decoder
(decoder_model_merged with `use_cache_branch`), fed input_ids and cross-attending to the image."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from export.decoder_parts import Case, DecoderWithCache, decoder_cases, decoder_io_names, dims
from export.merge import export_decoder_pair
from export.onnx_utils import export_module, save_model
from export.token_inputs import fit_length, fixed_ids, positions, vocab_size, word_ids


@dataclass(frozen=True)
class BlipShapes:
    layers: int
    heads: int
    head_dim: int
    encoder_hidden: int  # the vision width, which the decoder's cross-attention reads
    image_size: int
    bos: int  # [DEC], the first token of every caption
    vocab: int  # rows of the word embedding table (a model trained from scratch may have a few dozen)
    positions: int | None  # the learned position table's length


def blip_shapes(model: Any) -> BlipShapes:
    text, vision = model.config.text_config, model.config.vision_config
    return BlipShapes(
        layers=text.num_hidden_layers,
        heads=text.num_attention_heads,
        head_dim=text.hidden_size // text.num_attention_heads,
        encoder_hidden=text.encoder_hidden_size,
        image_size=int(vision.image_size),
        bos=int(text.bos_token_id),
        vocab=vocab_size(model.text_decoder.get_input_embeddings()),
        positions=positions(text),
    )


class VisionModel(nn.Module):
    """pixel_values -> image_embeds (the vision transformer's last hidden state)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.vision = model.vision_model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.vision(pixel_values=pixel_values).last_hidden_state


class TextDecoder(nn.Module):
    """BLIP's BERT as a decoder: BlipTextModel defaults to encoder mode (`is_decoder=False`)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.bert = model.text_decoder.bert

    def forward(self, **kwargs: Any) -> Any:
        return self.bert(is_decoder=True, **kwargs)


def _decoder(model: Any, shapes: BlipShapes, with_past: bool) -> DecoderWithCache:
    # BlipTextLMHeadModel's head (`cls`) maps hidden states to logits, with its bias.
    return DecoderWithCache(TextDecoder(model), model.text_decoder.cls, shapes.layers, with_past,
                            takes_ids=True)


def part_specs(model: Any, shapes: BlipShapes) -> dict[str, dict[str, Any]]:
    """Module, example inputs, names and dynamic axes for each exported part."""
    size = shapes.image_size
    pixel_values = torch.randn(2, 3, size, size)
    with torch.no_grad():
        n_img = VisionModel(model)(pixel_values[:1]).shape[1]
    specs: dict[str, dict[str, Any]] = {
        "vision_model": dict(
            module=VisionModel(model), args=(pixel_values,), inputs=["pixel_values"],
            outputs=["image_embeds"], dynamic=({0: dims("batch")},),
        ),
    }
    for with_past in (False, True):
        wrapper = _decoder(model, shapes, with_past)
        inputs, outputs = decoder_io_names(shapes.layers, with_past, first_input="input_ids")
        # With takes_ids, `hidden` only sizes encoder_hidden_states: BLIP's vision width, which
        # differs from the text width in the large checkpoints.
        args, dynamic = wrapper.example_inputs(
            batch=2, past=3, enc_seq=n_img, heads=shapes.heads, head_dim=shapes.head_dim,
            hidden=shapes.encoder_hidden, vocab=shapes.vocab,
        )
        specs["decoder_with_past" if with_past else "decoder"] = dict(
            module=wrapper, args=args, inputs=inputs, outputs=outputs, dynamic=dynamic,
        )
    return specs


# --- the family interface used by export.api ------------------------------------------------

PARTS = ("vision_model", "decoder_model_merged")


def load_model(folder: Path) -> Any:
    from transformers import BlipForConditionalGeneration

    model = BlipForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
    return model.eval()


def export_parts(model: Any, folder: Path, out: Path, log: Callable[[str], Any] = print) -> tuple[str, ...]:
    specs = part_specs(model, blip_shapes(model))
    with torch.no_grad():
        s = specs["vision_model"]
        log("exporting vision_model")
        save_model(export_module(s["module"], s["args"], s["inputs"], s["outputs"], s["dynamic"]),
                   out / "vision_model.onnx")
        log("exporting decoder_model_merged")
        export_decoder_pair(specs["decoder"], specs["decoder_with_past"], out / "decoder_model_merged.onnx")
    return PARTS


def validation_cases(model: Any, folder: Path) -> dict[str, Case]:
    """label -> (part, feeds, torch outputs): new inputs, of other sizes than at export."""
    shapes = blip_shapes(model)
    gen = torch.Generator().manual_seed(1234)
    size = shapes.image_size
    pixels = torch.randn(1, 3, size, size, generator=gen)
    cases: dict[str, Case] = {}
    with torch.no_grad():
        image = VisionModel(model)(pixels)
        mask = torch.ones(image.shape[:2], dtype=torch.int64)
        cases["vision_model"] = ("vision_model", {"pixel_values": pixels.numpy()}, {"image_embeds": image.numpy()})
        # A prompt-like prefix ([DEC] then words), then one more token through the cache.
        words = word_ids(shapes.vocab, (1, fit_length(3, shapes.positions, reserved=2)), gen)
        ids = torch.cat([torch.tensor([[shapes.bos]]), words], dim=1)
        cases.update(decoder_cases(
            _decoder(model, shapes, with_past=False), _decoder(model, shapes, with_past=True),
            shapes.layers, shapes.heads, shapes.head_dim, "input_ids", ids, fixed_ids([17], shapes.vocab),
            image, mask,
        ))
    return cases


def generation_settings(model: Any) -> dict[str, Any]:
    """What BlipForConditionalGeneration.generate decodes with.

    It calls the text decoder's own `generate`, whose settings come from text_config (the
    top-level generation_config.json is not read), and it passes eos = [SEP] and pad = [PAD].
    """
    settings = model.text_decoder.generation_config.to_diff_dict()
    text = model.config.text_config
    settings.update(bos_token_id=text.bos_token_id, eos_token_id=text.sep_token_id,
                    pad_token_id=text.pad_token_id)
    for key in ("transformers_version", "_from_model_config", "output_attentions",
                "output_hidden_states", "use_cache"):
        settings.pop(key, None)
    # A caption never runs past the position table (transformers would fail with an IndexError).
    limit = positions(text)
    if limit and int(settings.get("max_length") or 0) > limit:
        settings["max_length"] = limit
    return settings


def write_missing_configs(model: Any, out: Path) -> None:
    """generation_config.json always holds the settings BLIP's generate really uses (a copied
    one describes the outer model, which BLIP's generate ignores)."""
    from transformers import GenerationConfig

    GenerationConfig(**generation_settings(model)).to_json_file(out / "generation_config.json")
