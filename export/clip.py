"""CLIP (CLIPModel) -> text_model and vision_model, named as the published ONNX CLIP repositories
name them (Xenova/clip-vit-base-patch32, exported by optimum for transformers.js):

    onnx/text_model.onnx    input_ids                      -> text_embeds, last_hidden_state
    onnx/vision_model.onnx  pixel_values                   -> image_embeds, last_hidden_state

as CLIPTextModelWithProjection and CLIPVisionModelWithProjection compute them (embeddings are
projected, not normalised). The text part takes no attention mask (optimum's
CLIPTextWithProjectionOnnxConfig has none): CLIP's text attention is causal and pools at the
first end-of-text token, so padding after it never changes text_embeds.
The trained `logit_scale` lives only in the weights; it is written to config.json so the engine
reads it from the folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from export.decoder_parts import Case, dims
from export.onnx_utils import export_module, save_model
from export.token_inputs import fit_length, positions

PARTS = ("text_model", "vision_model")
TEXT_IO = (["input_ids"], ["text_embeds", "last_hidden_state"])
VISION_IO = (["pixel_values"], ["image_embeds", "last_hidden_state"])
LOGIT_SCALE_KEY = "logit_scale"  # in config.json: log of the trained scale, as CLIPModel stores it


class TextModel(nn.Module):
    """input_ids -> (text_embeds, last_hidden_state), as CLIPTextModelWithProjection."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.text, self.projection = model.text_model, model.text_projection

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.text(input_ids=input_ids)
        return self.projection(out.pooler_output), out.last_hidden_state


class VisionModel(nn.Module):
    """pixel_values -> (image_embeds, last_hidden_state), as CLIPVisionModelWithProjection."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.vision, self.projection = model.vision_model, model.visual_projection

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.vision(pixel_values=pixel_values)
        return self.projection(out.pooler_output), out.last_hidden_state


def _image_size(model: Any) -> int:
    return int(model.config.vision_config.image_size)


def _example_ids(model: Any, batch: int, length: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """bos, random words, eos, then eos padding on the shorter rows (as the tokenizer pads)."""
    text = model.config.text_config
    length = fit_length(length, positions(text))
    low, high = min(3, int(text.vocab_size) - 1), max(min(int(text.vocab_size) - 2, 500), 4)
    ids = torch.randint(low, min(high, int(text.vocab_size)), (batch, length), generator=gen)
    ids[:, 0] = int(text.bos_token_id)
    for row in range(batch):
        end = length - 1 - row
        ids[row, end:] = int(text.eos_token_id)
    return ids


def load_model(folder: Path) -> Any:
    from transformers import CLIPModel

    return CLIPModel.from_pretrained(folder, dtype=torch.float32).eval()


def export_parts(model: Any, folder: Path, out: Path, log: Callable[[str], Any] = print) -> tuple[str, ...]:
    size = _image_size(model)
    with torch.no_grad():
        log("exporting text_model")
        save_model(export_module(TextModel(model), (_example_ids(model, 2, 7),), *TEXT_IO,
                                 ({0: dims("batch"), 1: dims("sequence", positions(model.config.text_config) or 77)},)),
                   out / "text_model.onnx")
        log("exporting vision_model")
        save_model(export_module(VisionModel(model), (torch.randn(2, 3, size, size),), *VISION_IO,
                                 ({0: dims("batch")},)),
                   out / "vision_model.onnx")
    return PARTS


def validation_cases(model: Any, folder: Path) -> dict[str, Case]:
    """New inputs, of other sizes than at export: three prompts of 9 tokens, one image."""
    gen = torch.Generator().manual_seed(1234)
    size = _image_size(model)
    ids = _example_ids(model, 3, 9, gen)
    pixels = torch.randn(1, 3, size, size, generator=gen)
    with torch.no_grad():
        text_embeds, text_hidden = TextModel(model)(ids)
        image_embeds, image_hidden = VisionModel(model)(pixels)
    return {
        "text_model": ("text_model", {"input_ids": ids.numpy()},
                       {"text_embeds": text_embeds.numpy(), "last_hidden_state": text_hidden.numpy()}),
        "vision_model": ("vision_model", {"pixel_values": pixels.numpy()},
                         {"image_embeds": image_embeds.numpy(), "last_hidden_state": image_hidden.numpy()}),
    }


def write_missing_configs(model: Any, out: Path) -> None:
    """config.json gains the trained logit_scale (export.api writes preprocessor_config.json)."""
    path = out / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config[LOGIT_SCALE_KEY] = float(model.logit_scale.detach())
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
