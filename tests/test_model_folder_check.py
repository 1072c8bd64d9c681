"""Every way a model folder can be broken is reported with the file at fault, before loading."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.model_fakes import make_model_folder, onnx_bytes
from models.errors import ModelFolderError
from models.folder_check import check_folder, onnx_problem
from models.manifest import read_manifest, write_manifest


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return make_model_folder(tmp_path / "model", name="good", dtype="int8")


def test_whole_folder_passes_with_checksums(good: Path) -> None:
    report = check_folder(good)
    assert (report.family, report.dtype) == ("florence2", "int8")
    assert report.manifest is not None and report.manifest.name == "good"
    assert report.total_bytes == sum(f.stat().st_size for f in good.rglob("*.*")
                                     if f.name != "lumen.json")
    assert report.complete_dtypes == ("int8",)


def test_exported_tiny_model_passes(tiny_florence2_onnx: Path) -> None:
    report = check_folder(tiny_florence2_onnx)
    assert report.family == "florence2"
    assert {"fp32", "int8", "q4", "fp16"} <= set(report.complete_dtypes)
    assert check_folder(tiny_florence2_onnx, dtype=report.manifest.dtype).dtype == report.dtype


@pytest.mark.parametrize("rel", [
    "onnx/decoder_model_merged_int8.onnx", "onnx/vision_encoder_int8.onnx", "tokenizer.json",
    "generation_config.json", "preprocessor_config.json", "special_tokens_map.json",
])
def test_missing_file_is_named(good: Path, rel: str) -> None:
    (good / rel).unlink()
    with pytest.raises(ModelFolderError, match=f"missing {rel}"):
        check_folder(good, verify_checksums=False)


def test_missing_config_without_manifest(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "config.json").unlink()
    with pytest.raises(ModelFolderError, match="missing config.json"):
        check_folder(folder)


def test_missing_config_with_manifest(good: Path) -> None:
    (good / "config.json").unlink()
    with pytest.raises(ModelFolderError, match="missing config.json"):
        check_folder(good)


def test_truncated_onnx_with_manifest_names_sizes(good: Path) -> None:
    path = good / "onnx/encoder_model_int8.onnx"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFolderError, match=rf"encoder_model_int8.onnx is truncated \({len(data) // 2} of {len(data)} bytes\)"):
        check_folder(good, verify_checksums=False)


@pytest.mark.parametrize("keep", [1, 7, 100, -1])
def test_truncated_onnx_without_manifest(tmp_path: Path, keep: int) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    path = folder / "onnx/embed_tokens_int8.onnx"
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(ModelFolderError, match="embed_tokens_int8.onnx is truncated"):
        check_folder(folder)


def test_empty_onnx_file(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "onnx/embed_tokens_int8.onnx").write_bytes(b"")
    with pytest.raises(ModelFolderError, match="embed_tokens_int8.onnx is empty"):
        check_folder(folder)


def test_text_file_named_onnx(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "onnx/embed_tokens_int8.onnx").write_text("<html>Rate limited</html>")
    with pytest.raises(ModelFolderError, match="embed_tokens_int8.onnx is (not an ONNX file|truncated)"):
        check_folder(folder)


def test_onnx_walk_accepts_real_graphs(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_bytes(50_000))
    assert onnx_problem(path) is None


def test_wrong_checksum_same_size(good: Path) -> None:
    path = good / "onnx/decoder_model_merged_int8.onnx"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, still walks as protobuf: only the checksum can tell
    path.write_bytes(bytes(data))
    check_folder(good, verify_checksums=False)  # the cheap check cannot see it
    with pytest.raises(ModelFolderError, match="decoder_model_merged_int8.onnx does not match its checksum"):
        check_folder(good)


def test_changed_config_checksum(good: Path) -> None:
    (good / "tokenizer.json").write_text('{"name": "tokenizer.jsoX"}')
    with pytest.raises(ModelFolderError, match="tokenizer.json does not match its checksum"):
        check_folder(good)


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match="is empty"):
        check_folder(tmp_path / "empty")


def test_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file.onnx").write_bytes(onnx_bytes())
    with pytest.raises(ModelFolderError, match="is not a folder"):
        check_folder(tmp_path / "file.onnx")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="does not exist"):
        check_folder(tmp_path / "nowhere")


def test_other_model_type(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelFolderError, match="'llama' model, which Lumen cannot use"):
        check_folder(folder)


def test_unreadable_manifest(good: Path) -> None:
    (good / "lumen.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match="lumen.json cannot be read"):
        check_folder(good)


@pytest.mark.parametrize("bad", ["../outside.txt", "/etc/passwd", "onnx\\x.onnx", "C:/x"])
def test_manifest_with_unsafe_path(good: Path, bad: str) -> None:
    data = json.loads((good / "lumen.json").read_text())
    data["files"][bad] = {"sha256": "0" * 64, "size": 1}
    (good / "lumen.json").write_text(json.dumps(data))
    with pytest.raises(ModelFolderError, match="unsafe path"):
        check_folder(good)


def test_wrong_dtype_requested(good: Path) -> None:
    with pytest.raises(ModelFolderError, match="holds the int8 variant, not fp16"):
        check_folder(good, dtype="fp16")


def test_without_manifest_picks_complete_dtype_and_names_missing(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", dtype="q4", manifest=False)
    assert check_folder(folder).dtype == "q4"
    (folder / "onnx/encoder_model_q4.onnx").unlink()
    with pytest.raises(ModelFolderError, match="missing onnx/encoder_model_q4.onnx"):
        check_folder(folder)


def test_required_manifest(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    with pytest.raises(ModelFolderError, match="no lumen.json manifest"):
        check_folder(folder, require_manifest=True)


def test_blip_folder(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "b", family="blip", dtype="fp32")
    report = check_folder(folder)
    assert (report.family, report.dtype) == ("blip", "fp32")
    shutil.rmtree(folder / "onnx")
    with pytest.raises(ModelFolderError, match="missing onnx/vision_model.onnx"):
        check_folder(folder)


def test_manifest_round_trip_ignores_hidden_files(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / ".cache").mkdir()
    (folder / ".cache" / "state").write_text("x")
    written = write_manifest(folder, name="n", family="florence2", dtype="int8", source="s")
    assert not any(p.startswith(".") for p in written.files)
    assert read_manifest(folder) == written
