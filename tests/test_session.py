"""Provider choice and the session factory, with no GPU (the provider list is monkeypatched)."""
from __future__ import annotations

from pathlib import Path

import pytest

from models import session as session_mod
from models.errors import ModelFolderError
from models.session import CPU, CUDA, SessionConfig, choose_providers, create_session


@pytest.mark.parametrize(
    "device, available, expected, warns",
    [
        ("auto", [CUDA, CPU], (CUDA, CPU), False),
        ("auto", [CPU], (CPU,), False),
        ("cpu", [CUDA, CPU], (CPU,), False),
        ("cuda", [CUDA, CPU], (CUDA, CPU), False),
        ("cuda", [CPU], (CPU,), True),
        ("auto", ["TensorrtExecutionProvider", CUDA, CPU], (CUDA, CPU), False),
    ],
)
def test_choose_providers(device: str, available: list[str], expected: tuple, warns: bool) -> None:
    choice = choose_providers(device, available)
    assert choice.providers == expected
    assert (choice.warning is not None) == warns
    if warns:
        assert "onnxruntime-gpu" in choice.warning


def test_unknown_device_is_refused() -> None:
    with pytest.raises(ValueError):
        SessionConfig(device="tpu")


def test_cuda_requested_without_gpu_falls_back_with_warning(tiny_florence2_onnx: Path, monkeypatch) -> None:
    monkeypatch.setattr(session_mod, "available_providers", lambda: [CPU])
    model = tiny_florence2_onnx / "onnx" / "embed_tokens.onnx"
    session, used, warning = create_session(model, SessionConfig(device="cuda"))
    assert used == CPU and "CUDA" in warning


def test_cuda_listed_but_failing_reports_cpu(tiny_florence2_onnx: Path, monkeypatch) -> None:
    # onnxruntime without CUDA silently drops a CUDA request: we must notice and say so.
    monkeypatch.setattr(session_mod, "available_providers", lambda: [CUDA, CPU])
    model = tiny_florence2_onnx / "onnx" / "embed_tokens.onnx"
    import onnxruntime as ort

    if CUDA in ort.get_available_providers():
        pytest.skip("this machine really has CUDA")
    try:
        session, used, warning = create_session(model, SessionConfig(device="auto"))
    except ModelFolderError:
        pytest.fail("a missing CUDA provider must fall back to the CPU, not fail")
    assert used == CPU and warning and "CPU" in warning


def test_optimised_graph_is_cached_and_reused(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    model = tiny_florence2_onnx / "onnx" / "encoder_model.onnx"
    config = SessionConfig(device="cpu", cache_dir=tmp_path)
    create_session(model, config)
    cached = list(tmp_path.glob("encoder_model-*.ort.onnx"))
    assert len(cached) == 1 and not list(tmp_path.glob("*.tmp*"))
    stamp = cached[0].stat().st_mtime_ns
    session, used, _ = create_session(model, config)
    assert cached[0].stat().st_mtime_ns == stamp and used == CPU
    # A damaged cache is dropped and rebuilt, never fatal.
    cached[0].write_bytes(b"garbage")
    session, used, _ = create_session(model, config)
    assert used == CPU and cached[0].stat().st_size > 1000


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="missing"):
        create_session(tmp_path / "nothing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not a model")
    with pytest.raises(ModelFolderError, match="bad.onnx"):
        create_session(bad)
