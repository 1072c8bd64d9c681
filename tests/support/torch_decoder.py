"""A `models.generation.Decoder` around a transformers Florence-2 model in torch.

It lets the numpy decoding loop run on the very weights `model.generate` uses, so the two can
be compared token for token. The image and prompt are encoded once; each step runs the
decoder with a transformers cache, and `reorder` uses the cache's own `reorder_cache`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import Florence2ForConditionalGeneration
from transformers.modeling_outputs import BaseModelOutput

from models.generation import GenerationSettings

PROMPT = "What does the image describe?"


def load_florence2(folder: Path) -> Florence2ForConditionalGeneration:
    return Florence2ForConditionalGeneration.from_pretrained(folder).eval()


def encoder_input_ids(model: Florence2ForConditionalGeneration, folder: Path, prompt: str = PROMPT) -> torch.Tensor:
    """Image placeholder tokens followed by the tokenized prompt, shape (1, n)."""
    prompt_ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(prompt).ids
    with torch.no_grad():  # one placeholder per image feature the vision tower yields
        probe = model.get_image_features(torch.zeros(1, 3, 96, 96)).pooler_output
    n_image = probe.shape[1]
    return torch.tensor([[model.config.image_token_id] * n_image + prompt_ids], dtype=torch.long)


def folder_settings(folder: Path) -> GenerationSettings:
    """The decoding settings of a transformers checkpoint folder, read as the engine reads them."""
    generation = folder / "generation_config.json"
    return GenerationSettings.from_config(
        json.loads(generation.read_text()) if generation.is_file() else None,
        json.loads((folder / "config.json").read_text()),
    )


def random_pixels(seed: int, size: int = 96) -> torch.Tensor:
    return torch.randn((1, 3, size, size), generator=torch.Generator().manual_seed(seed))


class TorchFlorence2Decoder:
    """Implements the `Decoder` protocol with transformers' Florence-2 in torch."""

    def __init__(self, model: Florence2ForConditionalGeneration, input_ids: torch.Tensor, pixel_values: torch.Tensor):
        self.model = model
        with torch.no_grad():
            embeds = model.get_input_embeddings()(input_ids)
            features = model.get_image_features(pixel_values).pooler_output.to(embeds.dtype)
            mask = model.get_placeholder_mask(input_ids, inputs_embeds=embeds, image_features=features)
            embeds = embeds.masked_scatter(mask, features)
            encoder = model.get_encoder()
            self.encoded = encoder(inputs_embeds=embeds).last_hidden_state
        self.rows_encoded: torch.Tensor | None = None
        self.cache = None
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def start(self, rows: int) -> None:
        self.rows_encoded = self.encoded.expand(rows, -1, -1).contiguous()
        self.cache = None
        self.calls.append(("start", (rows,)))

    def step(self, input_ids: np.ndarray) -> np.ndarray:
        assert input_ids.dtype == np.int64 and input_ids.ndim == 2
        assert self.rows_encoded is not None and input_ids.shape[0] == self.rows_encoded.shape[0]
        self.calls.append(("step", input_ids.shape))
        with torch.no_grad():
            out = self.model(
                encoder_outputs=BaseModelOutput(last_hidden_state=self.rows_encoded),
                decoder_input_ids=torch.from_numpy(np.ascontiguousarray(input_ids)),
                past_key_values=self.cache,
                use_cache=True,
            )
        self.cache = out.past_key_values
        return out.logits[:, -1, :].float().numpy().copy()

    def reorder(self, rows: np.ndarray) -> None:
        assert rows.dtype == np.int64
        self.calls.append(("reorder", tuple(int(r) for r in rows)))
        self.cache.reorder_cache(torch.from_numpy(np.ascontiguousarray(rows)))
