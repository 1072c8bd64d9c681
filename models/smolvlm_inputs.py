"""SmolVLM's inputs built from a model folder: picture tiles, image tokens and the chat prompt.

Equal to transformers' SmolVLMImageProcessorPil and SmolVLMProcessor (tests/test_smolvlm_inputs.py):
the picture is resized (PIL, uint8, the folder's resample) so its longest edge is
`size.longest_edge`, then up to multiples of the tile size, cut into rows x columns of tiles in
reading order, plus the whole picture squeezed to one tile (the "global" image). Each tile
becomes `image_seq_len` image tokens in the prompt, introduced by its <row_r_col_c> token.
With splitting off ("one tile") only the squeezed picture is encoded: 64 image tokens instead
of up to 17 x 64 for SmolVLM-256M, several times faster and coarser.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from models.errors import ModelFolderError
from models.folder import ModelFolder
from models.preprocess import RescaleNormalize

MAX_IMAGE_SIZE = 4096  # transformers' absolute cap on the resized picture's edge
IMAGENET_STANDARD = (0.5, 0.5, 0.5)  # the processor's defaults for mean and std


@dataclass(frozen=True)
class PictureInput:
    """One picture ready for the vision encoder."""

    pixel_values: np.ndarray  # (1, tiles, 3, S, S) float32
    pixel_attention_mask: np.ndarray  # (1, tiles, S, S) bool; all true for a single picture
    rows: int  # 0 and 0 when the picture is one tile
    cols: int

    @property
    def tiles(self) -> int:
        return int(self.pixel_values.shape[1])


@dataclass(frozen=True)
class SmolVLMSettings:
    """Everything SmolVLM's processor reads from a model folder."""

    longest_edge: int
    tile: int
    split: bool
    resample: int
    normalize: RescaleNormalize
    image_seq_len: int
    chat_template: str
    image_token: str = "<image>"
    fake_image_token: str = "<fake_token_around_image>"
    global_image_token: str = "<global-img>"

    @classmethod
    def of(cls, folder: ModelFolder) -> SmolVLMSettings:
        """The settings of an opened SmolVLM folder (`ModelFolder.load_parts`'s preprocessor)."""
        return cls.from_folder(folder.path, folder.config, folder.preprocessor_config)

    @classmethod
    def from_folder(cls, folder: Path, config: dict[str, Any], image_config: dict[str, Any]) -> SmolVLMSettings:
        vision = config.get("vision_config") or {}
        try:
            seq_len = (int(vision["image_size"]) // int(vision["patch_size"])) ** 2 // int(config["scale_factor"]) ** 2
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFolderError(f"{folder / 'config.json'} lacks {e} for the vision model; reinstall the model") from e
        tok_cfg = _json(folder / "tokenizer_config.json")
        extra = tok_cfg.get("extra_special_tokens")
        named = extra if isinstance(extra, dict) else tok_cfg  # transformers 5 nests them; older files do not
        return cls(
            longest_edge=int((image_config.get("size") or {}).get("longest_edge", 4 * 364)),
            tile=int((image_config.get("max_image_size") or {}).get("longest_edge", 364)),
            split=bool(image_config.get("do_image_splitting", True)),
            resample=int(image_config.get("resample", Image.Resampling.LANCZOS)),
            normalize=RescaleNormalize.build(
                image_config.get("rescale_factor", 1 / 255) if image_config.get("do_rescale", True) else None,
                image_config.get("image_mean", IMAGENET_STANDARD) if image_config.get("do_normalize", True) else None,
                image_config.get("image_std", IMAGENET_STANDARD) if image_config.get("do_normalize", True) else None,
            ),
            image_seq_len=seq_len,
            chat_template=chat_template(folder, tok_cfg),
            image_token=str(named.get("image_token", "<image>")),
            fake_image_token=str(named.get("fake_image_token", "<fake_token_around_image>")),
            global_image_token=str(named.get("global_image_token", "<global-img>")),
        )

    # --- pictures ---------------------------------------------------------------------------

    def picture(self, rgb: Image.Image, one_tile: bool = False) -> PictureInput:
        width, height = rgb.size
        h, w = _rescale_to_max_len(height, width, self.longest_edge)
        h, w = _scale_below(h, w, MAX_IMAGE_SIZE)
        image = rgb.resize((w, h), resample=self.resample)
        rows = cols = 0
        if self.split and not one_tile:
            h, w = _multiple_of(h, w, self.tile)
            image = image.resize((w, h), resample=self.resample)
            if h > self.tile or w > self.tile:
                rows, cols = (h - self.tile) // self.tile + 1, (w - self.tile) // self.tile + 1
        pixels = np.asarray(image)
        t = self.tile
        tiles = [pixels[r * t:(r + 1) * t, c * t:(c + 1) * t] for r in range(rows) for c in range(cols)]
        tiles.append(np.asarray(image.resize((t, t), resample=self.resample)) if (rows or image.size != (t, t))
                     else pixels)
        values = np.concatenate([self.normalize(np.ascontiguousarray(tile)) for tile in tiles])[None]
        mask = np.ones((1, len(tiles), t, t), dtype=bool)
        return PictureInput(values, mask, rows, cols)

    def image_text(self, rows: int, cols: int) -> str:
        """The prompt text that stands for one picture (transformers' get_image_prompt_string)."""
        tokens = self.image_token * self.image_seq_len
        whole = f"{self.fake_image_token}{self.global_image_token}{tokens}{self.fake_image_token}"
        if rows == 0 and cols == 0:
            return whole
        text = ""
        for r in range(rows):
            for c in range(cols):
                text += f"{self.fake_image_token}<row_{r + 1}_col_{c + 1}>{tokens}"
            text += "\n"
        return text + "\n" + whole

    def prompt(self, messages: list[dict[str, Any]], picture: PictureInput) -> str:
        """The chat template applied to `messages`, its one <image> expanded to the tiles."""
        text = render_chat(self.chat_template, messages)
        head, found, tail = text.partition(self.image_token)
        if not found:
            raise ModelFolderError("the chat template drops the picture; reinstall the model")
        return head + self.image_text(picture.rows, picture.cols) + tail


def conversation(turns: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """Chat messages for questions and answers about one picture, the picture in the first
    question (as SmolVLM's model card asks). The last answer is None: the one to generate."""
    messages: list[dict[str, Any]] = []
    for i, (question, answer) in enumerate(turns):
        content: list[dict[str, Any]] = [{"type": "image"}] if i == 0 else []
        messages.append({"role": "user", "content": [*content, {"type": "text", "text": question}]})
        if answer is not None:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


@lru_cache(maxsize=4)
def _compiled(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda value, **kw: json.dumps(value, ensure_ascii=False, **kw)
    return env.from_string(template)


def render_chat(template: str, messages: list[dict[str, Any]]) -> str:
    """The folder's Jinja chat template, rendered as transformers does (sandboxed, trimmed
    blocks, generation prompt added); compiled once per template."""
    from jinja2.exceptions import TemplateError

    try:
        return _compiled(template).render(messages=messages, add_generation_prompt=True)
    except TemplateError as e:
        raise ModelFolderError(f"the model's chat template cannot be used ({e}); reinstall the model") from e


def chat_template(folder: Path, tok_cfg: dict[str, Any]) -> str:
    """The chat template in any saved form: chat_template.jinja (transformers 5),
    chat_template.json (published SmolVLM folders), or inside tokenizer_config.json."""
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    template = _json(folder / "chat_template.json").get("chat_template") or tok_cfg.get("chat_template")
    if isinstance(template, list):  # several named templates: transformers uses "default"
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    if not isinstance(template, str):
        raise ModelFolderError(f"{folder} has no chat template (chat_template.jinja); reinstall the model")
    return template


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelFolderError(f"{path} cannot be read (it is not valid JSON); reinstall the model") from e
    return data if isinstance(data, dict) else {}


# transformers' size arithmetic (image_processing_pil_smolvlm.py), kept to the same integer steps.

def _rescale_to_max_len(height: int, width: int, max_len: int) -> tuple[int, int]:
    aspect = width / height
    if width >= height:
        width, height = max_len, int(max_len / aspect)
        height += height % 2
    else:
        height, width = max_len, int(max_len * aspect)
        width += width % 2
    return max(height, 1), max(width, 1)


def _scale_below(height: int, width: int, max_len: int) -> tuple[int, int]:
    aspect = width / height
    if width >= height and width > max_len:
        width, height = max_len, int(max_len / aspect)
    elif height > width and height > max_len:
        height, width = max_len, int(max_len * aspect)
    return max(height, 1), max(width, 1)


def _multiple_of(height: int, width: int, tile: int) -> tuple[int, int]:
    aspect = width / height
    if width >= height:
        width = math.ceil(width / tile) * tile
        height = math.ceil(int(width / aspect) / tile) * tile
    else:
        height = math.ceil(height / tile) * tile
        width = math.ceil(int(height * aspect) / tile) * tile
    return height, width
