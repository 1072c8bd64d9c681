"""What training needs to know per model family (torch side): load, batch, loss, captions.

BLIP: BlipForConditionalGeneration. Its generate() starts every caption with text_config's
bos ([DEC]) where the tokenizer writes [CLS], so training replaces the first token the same way
(as BLIP's own training code does); padding is ignored in the loss (-100).
Florence-2: Florence2ForConditionalGeneration, prompt "<CAPTION>" (the processor expands it),
labels are the caption's tokens; the model shifts them into decoder inputs itself.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from models.errors import LumenError
from models.exit_status import ExitStatus
from models.image_io import load_image

MAX_TOKENS = 64  # caption length cap in training; longer texts are cut
FLORENCE_PROMPT = "<CAPTION>"
# Files that describe a checkpoint besides its weights and config.json: copied from the base into
# every checkpoint, so a trained folder loads and exports exactly as the base did.
SIDE_FILES = (
    "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
    "added_tokens.json", "vocab.txt", "chat_template.jinja",
)


class TrainingError(LumenError):
    """Training could not start or go on (wrong checkpoint, diverged, settings clash)."""

    exit_code = ExitStatus.TRAINING


@dataclass
class Batch:
    inputs: dict[str, torch.Tensor]  # what model(**inputs) takes, labels included
    labels: torch.Tensor  # [batch, seq] aligned with `logits_for` output; -100 = ignored


def family_of(folder: Path) -> str:
    try:
        family = json.loads((Path(folder) / "config.json").read_text()).get("model_type", "")
    except (OSError, ValueError) as e:
        raise TrainingError(f"{folder} has no readable config.json; give a folder saved by "
                            "save_pretrained (or a hub id when online).") from e
    if family not in ("blip", "florence2"):
        raise TrainingError(f"{folder} holds a '{family}' model; lumen train handles blip and florence2.")
    return family


class TrainingFamily:
    """A loaded checkpoint with its processor, and the family's batching and loss."""

    def __init__(self, folder: Path, model: Any | None = None) -> None:
        from transformers import AutoProcessor

        self.folder = Path(folder)
        self.name = family_of(self.folder)
        self.processor = AutoProcessor.from_pretrained(self.folder)
        self.tokenizer = self.processor.tokenizer
        self.model = model if model is not None else self.load_model(self.folder)

    def load_model(self, folder: Path) -> Any:
        if self.name == "blip":
            from transformers import BlipForConditionalGeneration as cls
        else:
            from transformers import Florence2ForConditionalGeneration as cls
        return cls.from_pretrained(folder, dtype=torch.float32)

    def pixels(self, images: list[Image.Image]) -> torch.Tensor:
        return self.processor.image_processor(images=images, return_tensors="pt")["pixel_values"]

    def max_tokens(self) -> int:
        """Caption tokens in training: MAX_TOKENS, fewer when the decoder's learned position
        table is shorter (a model trained from scratch may have a short one)."""
        positions = getattr(self.model.config.text_config, "max_position_embeddings", None)
        return min(MAX_TOKENS, int(positions)) if positions else MAX_TOKENS

    def batch(self, images: list[Path | Image.Image], texts: list[str]) -> Batch:
        return self.batch_from_pixels(self.pixels([load_image(i) for i in images]), texts)

    def batch_from_pixels(self, pixels: torch.Tensor, texts: list[str]) -> Batch:
        tok = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens(),
                             return_tensors="pt")
        if self.name == "blip":
            ids = tok["input_ids"].clone()
            ids[:, 0] = self.model.config.text_config.bos_token_id
            labels = ids.masked_fill(tok["attention_mask"] == 0, -100)
            inputs = {"pixel_values": pixels, "input_ids": ids,
                      "attention_mask": tok["attention_mask"], "labels": labels}
            return Batch(inputs, labels[:, 1:])  # logits[:, :-1] predict tokens 1..n
        labels = tok["input_ids"].masked_fill(tok["attention_mask"] == 0, -100)
        prompt = self._prompt_ids().expand(len(texts), -1)
        return Batch({"input_ids": prompt, "pixel_values": pixels, "labels": labels}, labels)

    def _prompt_ids(self) -> torch.Tensor:
        """Florence-2's task prompt as the processor expands it (image tokens included);
        the same for every picture."""
        if not hasattr(self, "_prompt"):
            size = self.processor.image_processor.size
            blank = Image.new("RGB", (int(size.get("width", 64)), int(size.get("height", 64))))
            self._prompt = self.processor(text=[FLORENCE_PROMPT], images=[blank],
                                          return_tensors="pt")["input_ids"]
        return self._prompt

    def logits_for(self, outputs: Any) -> torch.Tensor:
        """Logits aligned with Batch.labels."""
        return outputs.logits[:, :-1] if self.name == "blip" else outputs.logits

    @torch.no_grad()
    def captions(self, images: list[Path | Image.Image], max_new_tokens: int = 40) -> list[str]:
        """transformers' own generate with the checkpoint's settings (BLIP: its text decoder's,
        as the exporter writes them), the reference the exported model must match."""
        pictures = [load_image(i) for i in images]
        self.model.eval()
        if self.name == "blip":
            # Its text decoder's own settings, but never past the position table.
            positions = self.model.config.text_config.max_position_embeddings
            longest = self.model.text_decoder.generation_config.max_length
            cap = {"max_length": positions} if positions and longest and longest > positions else {}
            ids = self.model.generate(pixel_values=self.pixels(pictures), **cap)
        else:
            inputs = self.processor(text=[FLORENCE_PROMPT] * len(pictures), images=pictures,
                                    return_tensors="pt")
            ids = self.model.generate(**inputs, max_new_tokens=min(max_new_tokens, self.max_tokens() - 1),
                                      num_beams=1, do_sample=False)
        return [" ".join(t.split()) for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def save(self, out: Path) -> None:
        """A checkpoint folder that loads and exports like the base (its side files kept)."""
        out.mkdir(parents=True, exist_ok=True)
        for name in SIDE_FILES:
            if (self.folder / name).is_file():
                shutil.copyfile(self.folder / name, out / name)
        self.model.save_pretrained(out)
