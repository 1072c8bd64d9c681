"""Session fixtures for the tiny SmolVLM (import them into a test module to use them)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXPORT_SOURCES, SUPPORT, cached_dir
from tests.support.require import require

SMOLVLM_SOURCES = (SUPPORT / "tiny_smolvlm.py", SUPPORT.parents[1] / "export" / "smolvlm_checkpoint.py")


@pytest.fixture(scope="session")
def tiny_smolvlm_hf() -> Path:
    """A tiny random SmolVLM checkpoint, saved as transformers 5 saves one."""
    require("num2words")  # transformers' SmolVLMProcessor needs it (the export extra, in [dev])
    from tests.support.tiny_smolvlm import build_tiny_smolvlm

    return cached_dir("smolvlm-hf", build_tiny_smolvlm, *SMOLVLM_SOURCES)


@pytest.fixture(scope="session")
def tiny_smolvlm_onnx(tiny_smolvlm_hf: Path) -> Path:
    """The tiny SmolVLM exported by our own exporter (fp32: its wide random weights, needed for
    parity tests that can fail, are too wide for int8 to stay within the validation tolerance)."""
    from export.api import export_model

    def build(out: Path) -> None:
        export_model(tiny_smolvlm_hf, out, ("fp32",), log=lambda _: None)

    return cached_dir("smolvlm-onnx", build, *SMOLVLM_SOURCES, *EXPORT_SOURCES)
