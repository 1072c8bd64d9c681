"""The catalogue of installable models and the recommendation for this computer."""
from __future__ import annotations

from pathlib import Path

import pytest

from models import catalogue
from models.catalogue import UnknownModelError


def test_recommendation_on_cpu_and_gpu() -> None:
    cpu = catalogue.recommend(["CPUExecutionProvider"])
    assert (cpu.entry.name, cpu.dtype) == ("florence-2-base-ft", "int8")
    assert cpu.installed_name == "florence-2-base-ft-int8"
    gpu = catalogue.recommend(["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert (gpu.entry.name, gpu.dtype) == ("florence-2-large-ft", "fp16")
    assert "CUDA" in gpu.reason


def test_recommendation_follows_this_onnxruntime() -> None:
    import onnxruntime

    assert catalogue.recommend() == catalogue.recommend(onnxruntime.get_available_providers())
    assert catalogue.recommend([]) == catalogue.recommend(["CPUExecutionProvider"])


@pytest.mark.parametrize("name", [
    "florence-2-base-ft", "Florence-2-base-ft", "onnx-community/Florence-2-base-ft",
    "florence-community/Florence-2-base-ft",
])
def test_find_by_any_of_its_names(name: str) -> None:
    assert catalogue.find(name).repo_id == "onnx-community/Florence-2-base-ft"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="florence-2-large-ft, florence-2-base"):
        catalogue.find("florence-3")
    assert UnknownModelError.exit_code == 2


def test_exported_folders_hold_exactly_the_files_the_catalogue_asks_for(
        tiny_florence2_onnx: Path, tiny_blip_onnx: Path) -> None:
    """The catalogue's file lists (what an install fetches and a folder check demands) against
    what our own exporter writes, for every dtype it writes: nothing missing, no graph unnamed."""
    for family, folder in (("florence2", tiny_florence2_onnx), ("blip", tiny_blip_onnx)):
        graphs = {p.relative_to(folder).as_posix() for p in folder.rglob("*.onnx")}
        named: set[str] = set()
        for dtype in catalogue.EXPORT_DTYPES:
            missing = [f for f in catalogue.required_files(family, dtype)
                       if not any((folder / choice).is_file() for choice in f.split("|"))]
            assert missing == [], (family, dtype)
            named |= set(catalogue.onnx_files(family, dtype))
        assert graphs == named, family
    with pytest.raises(UnknownModelError, match="Unknown dtype 'int3'"):
        catalogue.onnx_files("florence2", "int3")


def test_sizes_are_plausible_and_ordered() -> None:
    base, large = catalogue.find("florence-2-base-ft"), catalogue.find("florence-2-large-ft")
    assert 200e6 < base.approx_bytes("int8") < 400e6
    assert 0.9e9 < base.approx_bytes("fp32") < 1.3e9
    assert large.approx_bytes("fp16") > base.approx_bytes("fp16") * 3
    assert base.approx_bytes("q4") < base.approx_bytes("int8") < base.approx_bytes("fp16")


def test_an_export_only_entry_installs_what_our_exporter_writes() -> None:
    blip = catalogue.find("blip-base")
    assert blip.export_only
    for providers in (["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]):
        assert catalogue.default_dtype(blip, providers) in catalogue.EXPORT_DTYPES
    assert catalogue.default_dtype(catalogue.find("florence-2-large-ft"), ["CUDAExecutionProvider"]) == "fp16"
    with pytest.raises(ValueError, match="export-only"):
        catalogue.CatalogueEntry("x", "X", "blip", None, "someone/x", 1, ("fp32",), "")
