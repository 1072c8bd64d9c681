"""CLIP on ONNX Runtime: image and text embeddings, and zero-shot scores over a list of words.

The folder is laid out as the published ONNX CLIP repositories are (see export/clip.py):
text_model takes input_ids and gives text_embeds, vision_model takes pixel_values and gives
image_embeds. Scores are CLIPModel's: logits = exp(logit_scale) * cosine similarity, softmaxed
over the candidate texts (transformers' zero-shot-image-classification pipeline does the same).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from models.errors import ModelFolderError
from models.folder import ModelFolder, loading
from models.session import SessionConfig, run

# Every OpenAI CLIP checkpoint was trained to a scale of 100 (log 4.6052), the clamp CLIP's
# training applies; published ONNX folders do not carry the trained value (config.json only has
# logit_scale_init_value, the value *before* training), so it is the fallback.
TRAINED_LOGIT_SCALE = math.log(100.0)
TEXT_BATCH = 64  # prompts per text_model run: bounds memory for long candidate lists


@dataclass(frozen=True)
class Score:
    label: str
    probability: float


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def logit_scale_of(config: dict) -> float:
    """The folder's trained logit_scale (log space, as CLIPModel stores it)."""
    value = config.get("logit_scale")
    if value is None:
        return TRAINED_LOGIT_SCALE
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        raise ModelFolderError("config.json has a logit_scale that is not a number; re-export the model") from e


class Clip:
    """A loaded CLIP folder. Not thread-safe: keep it on one worker, like the Captioner."""

    family = "clip"

    def __init__(self, folder: ModelFolder, config: SessionConfig = SessionConfig()) -> None:
        self.folder = folder
        sessions = folder.load_parts(config)
        self.tokenizer, self.preprocess = sessions.tokenizer, sessions.preprocess
        self.provider, self.warning = sessions.provider, sessions.warning
        self.text, self.vision = sessions["text_model"], sessions["vision_model"]
        self._text_out = self._output(self.text, "text_embeds", "text_model")
        self._image_out = self._output(self.vision, "image_embeds", "vision_model")
        self._takes_mask = any(i.name == "attention_mask" for i in self.text.get_inputs())
        text_config = folder.config.get("text_config") or {}
        self.max_length = int(text_config.get("max_position_embeddings") or 77)
        pad = self.tokenizer.pad_id if self.tokenizer.pad_id is not None else self.tokenizer.eos_id
        if pad is None:
            raise ModelFolderError(f"the tokenizer in {folder.path} names no padding or end token; reinstall the model")
        self.pad_id = int(pad)
        self.logit_scale = logit_scale_of(folder.config)

    @staticmethod
    def _output(session: object, wanted: str, part: str) -> str:
        names = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
        if wanted in names:
            return wanted
        # Older exports name only the one output; the first is the projected embedding.
        if len(names) == 1:
            return names[0]
        raise ModelFolderError(f"{part} has no {wanted} output (it has {', '.join(names)}); re-export the model")

    @classmethod
    def load(cls, path, device: str = "auto", *, dtype: str | None = None, threads: int | None = None) -> Clip:
        folder = ModelFolder.open(path, dtype)
        if folder.family != "clip":
            raise ModelFolderError(f"{folder.path} holds a {folder.family} model, not CLIP; "
                                   "give a CLIP folder for keywords (`lumen models install clip-vit-base-patch32`)")
        from models.captioner import default_cache_dir

        with loading(folder):
            return cls(folder, SessionConfig(device, threads, default_cache_dir()))

    @property
    def name(self) -> str:
        return self.folder.name

    # --- embeddings -----------------------------------------------------------------------

    def image_embeds(self, image: Image.Image) -> np.ndarray:
        """(1, D) unit-length image embedding of an RGB image."""
        pixels = self.preprocess(image)
        return _normalise(run(self.vision, {"pixel_values": pixels}, [self._image_out])[0].astype(np.float32))

    def text_embeds(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) unit-length text embeddings; prompts are padded after their end token."""
        out = []
        for start in range(0, len(texts), TEXT_BATCH):
            rows = [self.tokenizer.encode(t)[: self.max_length] for t in texts[start:start + TEXT_BATCH]]
            width = max(len(r) for r in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros_like(ids)
            for i, row in enumerate(rows):
                ids[i, : len(row)] = row
                mask[i, : len(row)] = 1
            feeds = {"input_ids": ids, **({"attention_mask": mask} if self._takes_mask else {})}
            out.append(run(self.text, feeds, [self._text_out])[0].astype(np.float32))
        return _normalise(np.concatenate(out, axis=0))

    # --- zero-shot ------------------------------------------------------------------------

    def logits(self, image: Image.Image, texts: Sequence[str]) -> np.ndarray:
        """(1, N) logits_per_image, as CLIPModel computes them."""
        return math.exp(self.logit_scale) * self.image_embeds(image) @ self.text_embeds(texts).T

    def zero_shot(self, image: Image.Image, labels: Sequence[str], template: str = "a photo of a {}") -> list[Score]:
        """Softmax over `labels` (each put in `template`), best first."""
        if not labels:
            return []
        probs = softmax(self.logits(image, [template.format(label) for label in labels]))[0]
        order = sorted(range(len(labels)), key=lambda i: -float(probs[i]))
        return [Score(labels[i], float(probs[i])) for i in order]


def installed_clip() -> Path | None:
    """The folder of the first whole installed CLIP model, or None."""
    from models.registry import Registry

    found = [m for m in Registry().installed() if m.family == "clip" and m.problem is None]
    return found[0].path if found else None
