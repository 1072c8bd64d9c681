"""Florence-2 on ONNX Runtime: vision encoder -> (image features + prompt) -> text encoder ->
merged decoder, as transformers.js runs the onnx-community files."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from PIL import Image

from models.adapter import Prepared
from models.folder import ModelFolder
from models.onnx_decoder import MergedDecoder, cache_layout
from models.results import DescribeOptions
from models.session import SessionConfig, run
from models.tasks import florence_answer, florence_task, florence_text


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


class Florence2:
    family = "florence2"

    def __init__(self, folder: ModelFolder, config: SessionConfig) -> None:
        self.folder = folder
        sessions = folder.load_parts(config)
        self.tokenizer, self.preprocess = sessions.tokenizer, sessions.preprocess
        self.provider, self.warning = sessions.provider, sessions.warning
        self.vision, self.embed = sessions["vision_encoder"], sessions["embed_tokens"]
        self.encoder, self.decoder = sessions["encoder_model"], sessions["decoder_model_merged"]
        heads = int(folder.text_setting("decoder_attention_heads"))
        self.layout = cache_layout(self.decoder, heads, int(folder.text_setting("d_model")) // heads)
        self._vision_out = self.vision.get_outputs()[0].name
        self.start_id = folder.decoder_start_id()  # generate's first decoder token

    def generation_overrides(self) -> dict[str, Any]:
        return {}

    def pixels(self, image: Image.Image) -> np.ndarray:
        return self.preprocess(image)

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        return run(self.embed, {"input_ids": ids.astype(np.int64)})[0]

    def encode(self, pixel_values: np.ndarray, timings: dict[str, float]) -> np.ndarray:
        """The vision encoder's image features: the same for every task and detail level."""
        t = time.perf_counter()
        features = run(self.vision, {"pixel_values": pixel_values}, [self._vision_out])[0]
        timings["vision"] = _ms(t)
        return features

    def encode_prompt(self, features: np.ndarray, options: DescribeOptions,
                      timings: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The text encoder's output (hidden states, mask) for the image features and the
        task's prompt: what a detail level changes (the prompt attends to the image, so each
        level needs its own run)."""
        task = florence_task(options.task, options.detail)
        t = time.perf_counter()
        prompt = np.array([self.tokenizer.encode(task.prompt)], dtype=np.int64)
        text = self._embed(prompt)
        embeds = np.concatenate([features.astype(text.dtype), text], axis=1)
        mask = np.ones(embeds.shape[:2], dtype=np.int64)
        hidden = run(self.encoder, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        timings["encoder"] = _ms(t)
        return hidden, mask

    def prepare(self, pixel_values: np.ndarray | None, image_size: tuple[int, int], options: DescribeOptions,
                timings: dict[str, float], features: np.ndarray | None = None,
                encoded: tuple[np.ndarray, np.ndarray] | None = None) -> Prepared:
        """`features` from `encode` (kept from an earlier action on this picture) skip the vision
        encoder, `encoded` from `encode_prompt` the text encoder too; `pixel_values` are then
        not needed."""
        task = florence_task(options.task, options.detail)
        if encoded is None:
            if features is None:
                features = self.encode(pixel_values, timings)
            encoded = self.encode_prompt(features, options, timings)
        hidden, mask = encoded
        decoder = MergedDecoder(self.decoder, self.layout, hidden, mask,
                                lambda ids: {"inputs_embeds": self._embed(ids)})

        def partial_text(ids: list[int]) -> str:
            if task.finds_objects:
                return ""  # location tokens are not worth streaming; the summary comes at the end
            # The best beam can change wholesale between steps, so decode it whole; a character
            # still missing its last bytes is held back rather than shown as U+FFFD.
            return florence_text(self.tokenizer.decode(ids, skip_special_tokens=True)).rstrip("\ufffd")

        def answer(ids: list[int]) -> tuple[str, list]:
            result = florence_answer(self.tokenizer, ids, task, image_size)
            return result.text, result.objects

        return Prepared(decoder, [self.start_id], partial_text, answer)
