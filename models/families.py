"""Every model family Lumen runs, in one table: adding a family is one entry in FAMILIES.

This module imports nothing heavy: the adapter and exporter are "module:attr" strings resolved
only when a model of that family is loaded or exported, so the catalogue, the folder checks and
the CLI's startup never import torch or a family they do not use.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# File suffix per dtype, as onnx-community publishes them (transformers.js naming).
DTYPE_SUFFIX: dict[str, str] = {
    "fp32": "", "fp16": "_fp16", "int8": "_int8", "uint8": "_uint8", "q8": "_quantized",
    "q4": "_q4", "q4f16": "_q4f16", "bnb4": "_bnb4",
}

# A required-file entry may name alternatives separated by "|": any one of them will do.
ALTERNATIVES = "|"
# The image processor's settings: the published (and older hub) form keeps them in
# preprocessor_config.json; transformers 5 `processor.save_pretrained` nests them in
# processor_config.json under "image_processor".
IMAGE_PROCESSOR_FILES = "preprocessor_config.json|processor_config.json"
HF_FOLDER_FILES = ("config.json", "generation_config.json", IMAGE_PROCESSOR_FILES, "tokenizer.json")


@dataclass(frozen=True)
class Family:
    """One model family: how its folder looks and which code runs and exports it.

    `parts` are the ONNX graphs in the order they run, stored as
    `<onnx_dir>/<part><dtype suffix>.onnx`. `required_files` are the other files a folder must
    hold (entries may list alternatives with "|"); a family without config.json in them (PP-OCR)
    is recognised by its graphs or by lumen.json's "family" instead of by model_type.
    `adapter` is "module:attr" of a class built as `cls(folder: ModelFolder, config: SessionConfig)`;
    `exporter` is the module (or None: no `lumen export`) with load_model/export_parts/
    validation_cases/write_missing_configs. `validator`, when set, is "module:attr" of a
    callable `(folder: ModelFolder) -> None` that raises ModelFolderError for a folder this
    family cannot run, after the generic checks passed.
    """

    name: str
    model_types: tuple[str, ...]
    parts: tuple[str, ...]
    required_files: tuple[str, ...]
    adapter: str
    exporter: str | None
    title: str = ""
    dtypes: tuple[str, ...] = tuple(DTYPE_SUFFIX)
    onnx_dir: str = "onnx"
    validator: str | None = None

    @property
    def needs_config(self) -> bool:
        return "config.json" in self.required_files

    def onnx_files(self, dtype: str) -> tuple[str, ...]:
        """Relative paths of this family's graphs in `dtype`."""
        prefix = f"{self.onnx_dir}/" if self.onnx_dir else ""
        return tuple(f"{prefix}{part}{DTYPE_SUFFIX[dtype]}.onnx" for part in self.parts)

    def load_adapter(self) -> Callable[..., Any]:
        return resolve(self.adapter)

    def load_exporter(self) -> Any:
        if self.exporter is None:
            raise LookupError(f"{self.name} models cannot be exported")
        return resolve(self.exporter)


def resolve(target: str) -> Any:
    """"package.module:attr" -> the attribute; "package.module" -> the module."""
    module, _, attr = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


def alternatives(entry: str) -> tuple[str, ...]:
    return tuple(entry.split(ALTERNATIVES))


def first_present(entry: str, exists: Callable[[str], bool]) -> str | None:
    """The first of an entry's alternatives that `exists`, or None."""
    return next((name for name in alternatives(entry) if exists(name)), None)


def present_files(entries: Iterable[str], exists: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """(files found, entries missing) for required-file entries, alternatives resolved."""
    found: list[str] = []
    missing: list[str] = []
    for entry in entries:
        name = first_present(entry, exists)
        if name is None:
            missing.append(" or ".join(alternatives(entry)))
        else:
            found.append(name)
    return found, missing


FAMILIES: dict[str, Family] = {
    "florence2": Family(
        name="florence2", title="Florence-2", model_types=("florence2", "florence-2"),
        parts=("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged"),
        required_files=HF_FOLDER_FILES,
        adapter="models.florence2:Florence2", exporter="export.florence2",
    ),
    "blip": Family(
        name="blip", title="BLIP", model_types=("blip",),
        parts=("vision_model", "decoder_model_merged"),
        required_files=HF_FOLDER_FILES,
        adapter="models.blip:Blip", exporter="export.blip",
    ),
    # Keywords, not descriptions: text_model + vision_model as Xenova/clip-vit-base-patch32 has them.
    "clip": Family(
        name="clip", title="CLIP", model_types=("clip",),
        parts=("text_model", "vision_model"),
        required_files=("config.json", IMAGE_PROCESSOR_FILES, "tokenizer.json"),
        adapter="models.clip:Clip", exporter="export.clip",
    ),
    # Questions about a picture (and descriptions by prompt): SigLIP + Llama decoder with a cache.
    # The published SmolVLM-256M/500M configs say "idefics3"; transformers 5 saves "smolvlm".
    "smolvlm": Family(
        name="smolvlm", title="SmolVLM", model_types=("smolvlm", "idefics3"),
        parts=("vision_encoder", "embed_tokens", "decoder_model_merged"),
        required_files=(*HF_FOLDER_FILES, "chat_template.jinja|chat_template.json|tokenizer_config.json"),
        adapter="models.smolvlm:SmolVLM", exporter="export.smolvlm",
    ),
    # Text reading: PP-OCRv4 detection and recognition and the direction classifier, as the
    # rapidocr-onnxruntime 1.4.4 wheel ships them (plain files, no config.json; models/ocr/).
    "ppocr": Family(
        name="ppocr", title="PP-OCR", model_types=("ppocr",),
        parts=("ch_PP-OCRv4_det_infer", "ch_PP-OCRv4_rec_infer", "ch_ppocr_mobile_v2.0_cls_infer"),
        required_files=(), adapter="models.ocr:open_reader", exporter=None,
        dtypes=("fp32",), onnx_dir="",
    ),
}


def family_for_model_type(model_type: str) -> Family | None:
    """The family whose config.json `model_type` this is (any case), or None."""
    wanted = model_type.strip().lower()
    return next((f for f in FAMILIES.values() if wanted in f.model_types), None)


def family_titles() -> str:
    """"Florence-2, BLIP and ..." for messages that list what Lumen runs."""
    titles = [f.title or f.name for f in FAMILIES.values()]
    return ", ".join(titles[:-1]) + f" and {titles[-1]}" if len(titles) > 1 else titles[0]
