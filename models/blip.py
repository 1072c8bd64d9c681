"""BLIP captioning on ONNX Runtime: vision_model -> image_embeds -> merged text decoder that
cross-attends to them, as BlipForConditionalGeneration.generate runs its parts.

BLIP only captions. It has no task or detail prompts, so every detail level gives the same
caption (detail can only change the default token budget); OCR and object lists need Florence-2.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from PIL import Image

from models.adapter import Prepared
from models.errors import ModelFolderError, ModelRuntimeError
from models.folder import ModelFolder
from models.onnx_decoder import MergedDecoder, cache_layout
from models.results import DescribeOptions
from models.session import SessionConfig, run
from models.tasks import blip_caption
from models.tokenizer import stable_prefix

CAPTION_ONLY = "BLIP models only describe; install a Florence-2 model to read text or list objects"


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


def decoder_feeds(ids: np.ndarray, past_length: int, wants_mask: bool) -> dict[str, np.ndarray]:
    """The decoder's token inputs: the new ids and, for decoders exported with one, an
    all-ones attention mask over cache and new tokens (generate's mask, as nothing is padded)."""
    feeds = {"input_ids": ids}
    if wants_mask:
        feeds["attention_mask"] = np.ones((ids.shape[0], past_length + ids.shape[1]), dtype=np.int64)
    return feeds


class Blip:
    family = "blip"

    def __init__(self, folder: ModelFolder, config: SessionConfig) -> None:
        self.folder = folder
        sessions = folder.load_parts(config)
        self.tokenizer, self.preprocess = sessions.tokenizer, sessions.preprocess
        self.provider, self.warning = sessions.provider, sessions.warning
        self.vision, self.decoder = sessions["vision_model"], sessions["decoder_model_merged"]
        text = folder.text_config()
        heads = int(folder.text_setting("num_attention_heads"))
        self.layout = cache_layout(self.decoder, heads, int(folder.text_setting("hidden_size")) // heads)
        self._vision_out = self.vision.get_outputs()[0].name
        self._wants_mask = any(i.name == "attention_mask" for i in self.decoder.get_inputs())
        # generate() starts every caption with text_config.bos_token_id ([DEC]).
        bos = text.get("bos_token_id", self.tokenizer.bos_id)
        if bos is None:
            raise ModelFolderError(f"config.json in {folder.path} names no bos_token_id for BLIP's decoder; "
                                   "re-export the model")
        self.bos = int(bos)

    def generation_overrides(self) -> dict[str, Any]:
        """BlipForConditionalGeneration.generate always ends captions at [SEP] and pads with
        [PAD], whatever eos the folder's generation_config.json names."""
        return {"eos_token_id": int(self.folder.text_setting("sep_token_id")),
                "pad_token_id": int(self.folder.text_setting("pad_token_id"))}

    def pixels(self, image: Image.Image) -> np.ndarray:
        return self.preprocess(image)

    def prepare(self, pixel_values: np.ndarray, image_size: tuple[int, int], options: DescribeOptions,
                timings: dict[str, float]) -> Prepared:
        if options.task != "caption":
            raise ModelRuntimeError(CAPTION_ONLY)
        t = time.perf_counter()
        embeds = run(self.vision, {"pixel_values": pixel_values}, [self._vision_out])[0]
        timings["vision"] = _ms(t)
        timings["encoder"] = 0.0  # BLIP has no text encoder: the decoder reads the image directly
        mask = np.ones(embeds.shape[:2], dtype=np.int64)

        def feeds(ids: np.ndarray) -> dict[str, np.ndarray]:
            cache = next(iter(decoder.self_cache.values()), None)
            return decoder_feeds(ids, 0 if cache is None else cache.shape[2], self._wants_mask)

        decoder = MergedDecoder(self.decoder, self.layout, embeds, mask, feeds)

        def caption(ids: list[int]) -> str:
            return blip_caption(self.tokenizer, ids)

        def partial(ids: list[int]) -> str:
            text = caption(ids)
            return stable_prefix(text) if self.tokenizer.clean_up_spaces else text

        return Prepared(decoder, [self.bos], partial, lambda ids: (caption(ids), []))
