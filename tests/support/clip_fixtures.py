"""Session fixtures for the tiny CLIP (import them into a test module to use them)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXPORT_SOURCES, SUPPORT, cached_dir

CLIP_SOURCES = (SUPPORT / "tiny_clip.py",)


@pytest.fixture(scope="session")
def tiny_clip_hf() -> Path:
    """A tiny random CLIPModel checkpoint, saved as transformers 5 saves one."""
    from tests.support.tiny_clip import build_tiny_clip

    return cached_dir("clip-hf", build_tiny_clip, *CLIP_SOURCES)


@pytest.fixture(scope="session")
def tiny_clip_onnx(tiny_clip_hf: Path) -> Path:
    """The tiny CLIP exported by our own exporter (fp32)."""
    from export.api import export_model

    def build(out: Path) -> None:
        export_model(tiny_clip_hf, out, ("fp32",), log=lambda _: None)

    return cached_dir("clip-onnx", build, *CLIP_SOURCES, *EXPORT_SOURCES)
