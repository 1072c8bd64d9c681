"""Provider choice and the session factory, with no GPU (the provider list is monkeypatched)."""
from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from models import session as session_mod
from models.errors import ModelFolderError
from models.session import CPU, CUDA, SessionConfig, choose_providers, create_session, open_parts, run


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
    opened = create_session(model, SessionConfig(device="cuda"))
    assert opened.provider == CPU and "CUDA" in opened.warning


def test_cuda_listed_but_failing_reports_cpu(tiny_florence2_onnx: Path, monkeypatch) -> None:
    # onnxruntime without CUDA silently drops a CUDA request: we must notice and say so.
    monkeypatch.setattr(session_mod, "available_providers", lambda: [CUDA, CPU])
    model = tiny_florence2_onnx / "onnx" / "embed_tokens.onnx"
    import onnxruntime as ort

    try:
        opened = create_session(model, SessionConfig(device="auto"))
    except ModelFolderError:
        pytest.fail("a missing CUDA provider must fall back to the CPU, not fail")
    if CUDA in ort.get_available_providers():  # a machine with CUDA: it is taken, unwarned
        assert opened.provider == CUDA and not opened.warning
    else:
        assert opened.provider == CPU and opened.warning and "CPU" in opened.warning


def test_optimised_graph_is_cached_and_reused(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    model = tiny_florence2_onnx / "onnx" / "encoder_model.onnx"
    config = SessionConfig(device="cpu", cache_dir=tmp_path)
    create_session(model, config)
    cached = list(tmp_path.glob("encoder_model-*/graph.onnx"))
    assert len(cached) == 1 and not list(tmp_path.glob("*.tmp*"))
    weights = cached[0].with_name("weights.bin")
    assert weights.stat().st_size > cached[0].stat().st_size  # the weights live beside the graph
    stamp = cached[0].stat().st_mtime_ns
    assert create_session(model, config).provider == CPU
    assert cached[0].stat().st_mtime_ns == stamp
    # A damaged cache is dropped and rebuilt, never fatal.
    for damaged in (cached[0], weights):
        damaged.write_bytes(b"garbage")
        assert create_session(model, config).provider == CPU
        assert cached[0].stat().st_size > 1000 and weights.stat().st_size > 1000


def test_a_cache_folder_that_cannot_be_written_costs_only_the_cache(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    """A file where the cache folder should be (or a full disk): the model opens all the same,
    and a broken model still says so."""
    blocked = tmp_path / "cache"
    blocked.write_text("not a folder")
    model = tiny_florence2_onnx / "onnx" / "encoder_model.onnx"
    assert create_session(model, SessionConfig(device="cpu", cache_dir=blocked)).provider == CPU
    assert blocked.read_text() == "not a folder"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not a model")
    with pytest.raises(ModelFolderError, match="bad.onnx"):
        create_session(bad, SessionConfig(device="cpu", cache_dir=tmp_path / "writable"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_cached_weights_are_mapped_from_their_file(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    """Opened from the cache, the weights are pages of the cache's file, not heap copies."""
    model = tiny_florence2_onnx / "onnx" / "encoder_model.onnx"
    config = SessionConfig(device="cpu", cache_dir=tmp_path)
    opened = create_session(model, config)
    weights = next(tmp_path.glob("encoder_model-*/weights.bin")).resolve()
    maps = Path("/proc/self/maps").read_text()
    assert str(weights) in maps
    feeds = {i.name: np.ones([2 if isinstance(d, str) or d is None else d for d in i.shape],
                             np.int64 if "int64" in i.type else np.float32) for i in opened.get_inputs()}
    assert run(opened, feeds)[0].shape[0] == 2  # and the mapped session still runs
    # An entry of the earlier one-file format is removed when the new one is written.
    stale = tmp_path / "encoder_model-0123456789abcdef.ort.onnx"
    stale.write_bytes(b"old")
    for entry in tmp_path.glob("encoder_model-*/"):
        shutil.rmtree(entry)
    create_session(model, config)
    assert not stale.exists()


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="missing"):
        create_session(tmp_path / "nothing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not a model")
    with pytest.raises(ModelFolderError, match="bad.onnx"):
        create_session(bad)


def _identity_model(path: Path, elem_type: int) -> Path:
    import onnx
    from onnx import helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                              [helper.make_tensor_value_info("x", elem_type, [2])],
                              [helper.make_tensor_value_info("y", elem_type, [2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_input_types_belong_to_their_session_not_to_a_reused_id(tmp_path: Path) -> None:
    """Regression: input types were cached by id(session), so a freed fp16 session's types were
    applied to a later fp32 session at the same address and `run` failed (old code: 20 of 20
    tries, so three are plenty; each gc.collect() costs ~0.4 s with torch in the process)."""
    from onnx import TensorProto

    fp16 = _identity_model(tmp_path / "fp16.onnx", TensorProto.FLOAT16)
    fp32 = _identity_model(tmp_path / "fp32.onnx", TensorProto.FLOAT)
    feeds = {"x": np.array([1.5, -2.0], dtype=np.float32)}
    for _ in range(3):
        half = create_session(fp16, SessionConfig(device="cpu"))
        assert run(half, feeds)[0].dtype == np.float16  # fp32 feeds cast to what the file takes
        del half
        gc.collect()
        full = create_session(fp32, SessionConfig(device="cpu"))
        out = run(full, feeds)[0]
        assert out.dtype == np.float32 and out.tolist() == [1.5, -2.0]


def test_open_parts_reports_one_provider_and_the_first_warning(tmp_path: Path, monkeypatch) -> None:
    from onnx import TensorProto

    monkeypatch.setattr(session_mod, "available_providers", lambda: [CPU])
    files = {"a": _identity_model(tmp_path / "a.onnx", TensorProto.FLOAT),
             "b": _identity_model(tmp_path / "b.onnx", TensorProto.FLOAT16)}
    parts = open_parts(files, SessionConfig(device="cuda"))
    assert parts.provider == CPU and "CUDA" in parts.warning
    assert parts["b"].input_types == {"x": np.float16} and parts["a"].path == files["a"]


def _concat_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Concat", ["a", "b"], ["y"], axis=1)], "concat",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 2]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["m", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.save(model, path)
    return path


def test_a_quiet_run_fails_with_our_error_and_onnxruntime_prints_nothing(tmp_path: Path, capfd) -> None:
    # The decoder's broadcast trial fails like this on CUDA; a user must not see ONNX Runtime's
    # red kernel-error line for it. A plain run still logs (the check has something to catch).
    from models.errors import ModelRuntimeError

    session = create_session(_concat_model(tmp_path / "concat.onnx"), SessionConfig("cpu"))
    mismatched = {"a": np.zeros((1, 2), np.float32), "b": np.zeros((3, 2), np.float32)}
    with pytest.raises(ModelRuntimeError):
        run(session, mismatched)
    assert "Non concat axis dimensions" in capfd.readouterr().err
    with pytest.raises(ModelRuntimeError):
        run(session, mismatched, quiet=True)
    assert capfd.readouterr().err == ""


def test_sessions_that_must_not_spin_say_so_to_onnxruntime(tmp_path: Path) -> None:
    # The window's models run on every core with sleeping threads (desktop/work/model_threads.py).
    model = _concat_model(tmp_path / "concat.onnx")
    quiet = create_session(model, SessionConfig("cpu", 2, spin=False)).session.get_session_options()
    assert quiet.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert quiet.intra_op_num_threads == 2
    default = create_session(model, SessionConfig("cpu", 2)).session.get_session_options()
    with pytest.raises(Exception, match="allow_spinning"):  # not set: ONNX Runtime's default (spin)
        default.get_session_config_entry("session.intra_op.allow_spinning")


def test_entries_that_can_never_be_read_again_are_removed(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    """Every model update left its old optimised graphs behind (100-520 MB each for
    Florence-2-base): writing an entry now removes those whose model file is gone or changed;
    other settings of an unchanged model, and other models' entries, stay."""
    import json
    import os

    cache = tmp_path / "cache"
    models = tmp_path / "models"
    models.mkdir()
    encoder, embed = (shutil.copy(tiny_florence2_onnx / "onnx" / name, models / name)
                      for name in ("encoder_model.onnx", "embed_tokens.onnx"))
    removed = shutil.copy(tiny_florence2_onnx / "onnx" / "vision_encoder.onnx", models / "vision_encoder.onnx")
    for model in (encoder, embed, removed):
        create_session(Path(model), SessionConfig(device="cpu", cache_dir=cache))
    create_session(Path(encoder), SessionConfig(device="cpu", threads=1, cache_dir=cache))
    first = {p.name for p in cache.iterdir()}
    assert len(first) == 4
    source = json.loads(next(cache.glob("embed_tokens-*/source.json")).read_text())
    assert source["model"] == str(Path(embed).resolve())
    unknown = cache / "someone_else-0123456789abcdef"  # an entry of the previous format, another model
    unknown.mkdir()
    os.unlink(removed)
    os.utime(encoder, ns=(1, 1))  # the model was updated: its entries can never be read again
    create_session(Path(encoder), SessionConfig(device="cpu", cache_dir=cache))
    now = {p.name for p in cache.iterdir()}
    assert unknown.name in now and len([n for n in now if n.startswith("encoder_model-")]) == 1
    assert not [n for n in now if n.startswith("vision_encoder-")]
    assert {n for n in first if n.startswith("embed_tokens-")} <= now  # unchanged: kept
    assert not (first & {n for n in now if n.startswith("encoder_model-")})  # the new one only
