"""SmolVLM on ONNX Runtime: vision encoder -> image features that replace the prompt's image
tokens -> a Llama-style decoder with a key/value cache, as transformers.js runs the
onnx-community files (tensor names in tests/test_smolvlm_layout.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from models.adapter import Prepared
from models.causal_decoder import CausalDecoder, KVLayout, KVState
from models.errors import ModelFolderError
from models.folder import ModelFolder
from models.results import DescribeOptions
from models.session import SessionConfig, run
from models.smolvlm_inputs import PictureInput, SmolVLMSettings, conversation

# SmolVLM describes when asked to: one request per detail level and task.
DESCRIBE_PROMPTS = {
    "brief": "Describe this image in one sentence.",
    "detailed": "Describe this image in detail.",
    "more": "Describe this image in as much detail as you can: the people, objects, colours, text and setting.",
    "ocr": "What text is written in this image? Answer with the text only.",
    "objects": "List the objects you can see in this image.",
}


@dataclass(frozen=True)
class EncodedPicture:
    """A picture through the vision encoder: what every question about it reuses."""

    features: np.ndarray  # (tiles * image_seq_len, text hidden), in prompt order
    picture: PictureInput  # rows and cols decide the image tokens; pixels kept for nothing else

    @property
    def nbytes(self) -> int:
        return self.features.nbytes


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


class SmolVLM:
    family = "smolvlm"

    def __init__(self, folder: ModelFolder, config: SessionConfig) -> None:
        self.folder = folder
        sessions = folder.load_parts(config, SmolVLMSettings.of)
        self.tokenizer, self.settings = sessions.tokenizer, sessions.preprocess
        self.provider, self.warning = sessions.provider, sessions.warning
        self.vision, self.embed_session = sessions["vision_encoder"], sessions["embed_tokens"]
        self.decoder_session = sessions["decoder_model_merged"]
        heads = int(folder.text_setting("num_attention_heads"))
        kv_heads = int(folder.text_setting("num_key_value_heads"))
        head_dim = int(folder.text_config().get("head_dim") or int(folder.text_setting("hidden_size")) // heads)
        self.layout = KVLayout.of(self.decoder_session, kv_heads, head_dim)
        image_id = folder.config.get("image_token_id")
        if image_id is None:
            image_id = self.tokenizer.token_to_id(self.settings.image_token)
        if image_id is None:
            raise ModelFolderError(f"config.json in {folder.path} names no image_token_id; reinstall the model")
        self.image_token_id = int(image_id)

    # --- the picture ------------------------------------------------------------------------

    def picture(self, rgb: Image.Image, one_tile: bool = False) -> PictureInput:
        return self.settings.picture(rgb, one_tile)

    def encode(self, picture: PictureInput, timings: dict[str, float] | None = None) -> EncodedPicture:
        """The vision encoder on every tile: what every question and description reuses."""
        t = time.perf_counter()
        features = run(self.vision, {"pixel_values": picture.pixel_values,
                                     "pixel_attention_mask": picture.pixel_attention_mask})[0]
        if timings is not None:
            timings["vision"] = _ms(t)
        return EncodedPicture(np.ascontiguousarray(features.reshape(-1, features.shape[-1])), picture)

    # --- the prompt and the decoder ---------------------------------------------------------

    def prompt_ids(self, encoded: EncodedPicture, turns: list[tuple[str, str | None]]) -> list[int]:
        text = self.settings.prompt(conversation(turns), encoded.picture)
        ids = self.tokenizer.encode(text)
        found = sum(1 for t in ids if t == self.image_token_id)
        if found != encoded.features.shape[0]:
            raise ModelFolderError(
                f"the prompt holds {found} image tokens for {encoded.features.shape[0]} image features; "
                "the model folder's settings disagree with its vision encoder: reinstall the model"
            )
        return ids

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return run(self.embed_session, {"input_ids": ids.astype(np.int64)})[0]

    def decoder(self, encoded: EncodedPicture, reuse: KVState | None = None) -> CausalDecoder:
        def first_embeds(ids: np.ndarray, start: int) -> np.ndarray:
            embeds = self.embed(ids)
            image_rows = ids[0] == self.image_token_id
            if image_rows.any():
                # Image tokens before `start` were fed in an earlier turn: skip their features.
                done = int(np.count_nonzero(np.asarray(reuse.ids[:start]) == self.image_token_id)) if reuse else 0
                features = encoded.features[done: done + int(image_rows.sum())]
                embeds[:, image_rows] = features.astype(embeds.dtype, copy=False)
            return embeds

        return CausalDecoder(self.decoder_session, self.layout, self.embed, first_embeds, reuse)

    def answer_text(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    # --- describing (models.adapter.Adapter), so one model can do everything ----------------

    def generation_overrides(self) -> dict[str, Any]:
        return {}

    def pixels(self, image: Image.Image) -> PictureInput:
        """The tiles with their layout (rows, cols): `encode` and the prompt need both."""
        return self.picture(image)

    def prepare(self, pixel_values: PictureInput | None, image_size: tuple[int, int], options: DescribeOptions,
                timings: dict[str, float], features: EncodedPicture | None = None) -> Prepared:
        """`features` from `encode` (kept from an earlier action on this picture) skip the
        vision encoder; the picture's tiles are then not needed."""
        if features is None:
            if pixel_values is None:
                raise ValueError("prepare() needs the picture or its encoding")
            features = self.encode(pixel_values, timings)
        timings["encoder"] = 0.0  # no text encoder: the prompt goes through the decoder
        request = DESCRIBE_PROMPTS[options.detail if options.task == "caption" else options.task]
        prefix = self.prompt_ids(features, [(request, None)])
        start = len(prefix)
        return Prepared(self.decoder(features), prefix,
                        lambda ids: self.answer_text(ids[start:]).rstrip("\ufffd"),
                        lambda ids: (self.answer_text(ids[start:]), []))
