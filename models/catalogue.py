"""Known models Lumen can install, which files each dtype needs, and what suits this computer.

Sizes here are estimates for showing before anything is fetched; the download itself uses the
exact sizes the hub reports.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.errors import LumenError
from models.exit_status import ExitStatus
from models.families import DTYPE_SUFFIX, FAMILIES as FAMILY_TABLE

# The family table (models/families.py) says which files a folder needs to load. An entry
# may list alternatives ("a|b"): see models.families.present_files.
CONFIG_FILES: dict[str, tuple[str, ...]] = {f.name: f.required_files for f in FAMILY_TABLE.values()}
FAMILIES = tuple(FAMILY_TABLE)

# Our exporter writes only these.
EXPORT_DTYPES = ("fp32", "fp16", "int8", "q4")

# Rough bytes per weight of each variant; quantized files keep some tensors wider.
_BYTES_PER_PARAM = {
    "fp32": 4.0, "fp16": 2.0, "int8": 1.1, "uint8": 1.1, "q8": 1.1, "q4": 0.9, "q4f16": 0.7,
    "bnb4": 0.9,
}


class UnknownModelError(LumenError):
    """A model name or dtype the user typed is not one Lumen knows."""

    exit_code = ExitStatus.USAGE


def onnx_files(family: str, dtype: str) -> tuple[str, ...]:
    """Relative paths of the ONNX graphs a `family` model needs in `dtype`."""
    check_dtype(dtype)
    return FAMILY_TABLE[family].onnx_files(dtype)


def required_files(family: str, dtype: str) -> tuple[str, ...]:
    """Every file a usable model folder must hold: configuration, tokenizer and graphs."""
    return CONFIG_FILES[family] + onnx_files(family, dtype)


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPE_SUFFIX:
        raise UnknownModelError(
            f"Unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_SUFFIX)}."
        )
    return dtype


@dataclass(frozen=True)
class CatalogueEntry:
    """One published model: where its ONNX files live and where its original weights live."""

    name: str
    title: str
    family: str
    repo_id: str | None  # published ONNX repository; None when only `--export` can make it
    export_source: str  # transformers-native checkpoint for `--export`
    params_millions: int  # weights across the ONNX graphs (the LM head is stored twice)
    dtypes: tuple[str, ...]  # variants published in `repo_id`
    description: str

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}")
        unknown = [d for d in self.dtypes if d not in DTYPE_SUFFIX]
        if unknown:
            raise ValueError(f"{self.name}: unknown dtypes {unknown}")
        if self.repo_id is None and self.dtypes:
            raise ValueError(f"{self.name}: export-only entries publish no dtypes")

    @property
    def export_only(self) -> bool:
        return self.repo_id is None

    def installed_name(self, dtype: str) -> str:
        return f"{self.name}-{dtype}"

    def approx_bytes(self, dtype: str) -> int:
        check_dtype(dtype)
        return int(self.params_millions * 1e6 * _BYTES_PER_PARAM.get(dtype, 4.0))

    def files(self, dtype: str) -> tuple[str, ...]:
        return required_files(self.family, dtype)


_FLORENCE_DTYPES = tuple(DTYPE_SUFFIX)

CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        name="florence-2-base-ft",
        title="Florence-2 base, fine-tuned",
        family="florence2",
        repo_id="onnx-community/Florence-2-base-ft",
        export_source="florence-community/Florence-2-base-ft",
        params_millions=270,
        dtypes=_FLORENCE_DTYPES,
        description="Good descriptions, fast on an ordinary processor.",
    ),
    CatalogueEntry(
        name="florence-2-large-ft",
        title="Florence-2 large, fine-tuned",
        family="florence2",
        repo_id="onnx-community/Florence-2-large-ft",
        export_source="florence-community/Florence-2-large-ft",
        params_millions=880,
        dtypes=_FLORENCE_DTYPES,
        description="The most detailed descriptions; best with a graphics card.",
    ),
    CatalogueEntry(
        name="florence-2-base",
        title="Florence-2 base",
        family="florence2",
        repo_id="onnx-community/Florence-2-base",
        export_source="florence-community/Florence-2-base",
        params_millions=270,
        dtypes=_FLORENCE_DTYPES,
        description="The base model before fine-tuning; shorter, plainer captions.",
    ),
    CatalogueEntry(
        name="florence-2-large",
        title="Florence-2 large",
        family="florence2",
        repo_id="onnx-community/Florence-2-large",
        export_source="florence-community/Florence-2-large",
        params_millions=880,
        dtypes=_FLORENCE_DTYPES,
        description="The large model before fine-tuning.",
    ),
    CatalogueEntry(
        name="blip-base",
        title="BLIP base",
        family="blip",
        repo_id=None,
        export_source="Salesforce/blip-image-captioning-base",
        params_millions=270,
        dtypes=(),
        description="A smaller alternative, exported on this computer with --export.",
    ),
    CatalogueEntry(
        name="clip-vit-base-patch32",
        title="CLIP ViT-B/32 (keywords)",
        family="clip",
        repo_id="Xenova/clip-vit-base-patch32",
        export_source="openai/clip-vit-base-patch32",
        params_millions=151,
        dtypes=("fp32", "fp16", "q8"),
        description="Keywords for pictures (lumen describe --tags, lumen serve); does not describe.",
    ),
    # Questions about a picture (lumen ask, the window's Ask); every transformers.js dtype published.
    CatalogueEntry(
        name="smolvlm-256m-instruct",
        title="SmolVLM 256M Instruct (questions)",
        family="smolvlm",
        repo_id="onnx-community/SmolVLM-256M-Instruct",
        export_source="HuggingFaceTB/SmolVLM-256M-Instruct",
        params_millions=260,
        dtypes=tuple(DTYPE_SUFFIX),
        description="Answers questions about a picture in a second or two; also describes.",
    ),
    CatalogueEntry(
        name="smolvlm-500m-instruct",
        title="SmolVLM 500M Instruct (questions)",
        family="smolvlm",
        repo_id="onnx-community/SmolVLM-500M-Instruct",
        export_source="HuggingFaceTB/SmolVLM-500M-Instruct",
        params_millions=510,
        dtypes=tuple(DTYPE_SUFFIX),
        description="Better answers about a picture than 256M, about twice as slow.",
    ),
)


def find(name: str) -> CatalogueEntry:
    """Look a model up by short name or repository id, ignoring case."""
    wanted = name.strip().lower()
    for entry in CATALOGUE:
        ids = {entry.name, entry.export_source.lower()}
        if entry.repo_id:
            ids |= {entry.repo_id.lower(), entry.repo_id.split("/")[-1].lower()}
        if wanted in ids:
            return entry
    known = ", ".join(e.name for e in CATALOGUE)
    raise UnknownModelError(f"No known model is called {name!r}; choose one of {known}.")


@dataclass(frozen=True)
class Recommendation:
    entry: CatalogueEntry
    dtype: str
    reason: str

    @property
    def installed_name(self) -> str:
        return self.entry.installed_name(self.dtype)


def recommend(providers: Sequence[str] | None = None) -> Recommendation:
    """The model and dtype that suit this computer: large fp16 with CUDA, base int8 on a CPU."""
    if providers is None:
        from models.session import available_providers

        providers = available_providers()
    if "CUDAExecutionProvider" in providers:
        return Recommendation(
            find("florence-2-large-ft"), "fp16", "this computer has a CUDA graphics card"
        )
    # int8 is the fastest well-supported CPU variant; q4 is smaller if disk space is tight.
    return Recommendation(
        find("florence-2-base-ft"), "int8", "it runs well on this computer's processor"
    )


def default_dtype(entry: CatalogueEntry, providers: Sequence[str] | None = None) -> str:
    """The dtype to install when the user names none."""
    choice = recommend(providers).dtype
    allowed = entry.dtypes or EXPORT_DTYPES
    return choice if choice in allowed else allowed[0]
