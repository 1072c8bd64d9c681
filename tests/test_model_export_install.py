"""`lumen models install NAME --export`: original weights from the hub, exported, registered."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.hub_server import FakeHub
from tests.support.model_fakes import config_files, make_model_folder
from export import install as export_install
from models import catalogue
from models.errors import ExportError, MissingExtraError, ModelFolderError
from export.install import install_exported
from models.registry import PARTIAL, Registry

ENTRY = catalogue.find("florence-2-base-ft")
SOURCE = ENTRY.export_source


def _checkpoint() -> dict[str, bytes]:
    files = config_files("florence2")
    files["model.safetensors"] = hashlib.sha256(b"weights").digest() * 4000
    files["pytorch_model.bin"] = b"legacy weights, not needed when safetensors exist"
    files["modeling_florence2.py"] = b"raise SystemExit('remote code must never be fetched')"
    return files


@pytest.fixture
def hub(no_network):
    with FakeHub(lifetime_s=60) as hub:
        hub.add_repo(SOURCE, _checkpoint())
        yield hub


def test_export_install_downloads_exports_and_registers(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    calls = []

    def fake_export(src: Path, out: Path, dtypes=("fp32",), *, log=print) -> Path:
        """Stands in for export.api.export_model (tested by the exporter's own tests)."""
        calls.append((sorted(p.name for p in src.iterdir() if not p.name.startswith(".")), dtypes))
        assert (src / "model.safetensors").read_bytes() == hub.repos[SOURCE].files["model.safetensors"]
        log("exporting")
        return make_model_folder(out, name=out.name, dtype=dtypes[0], manifest=False)

    monkeypatch.setattr(export_install, "exporter", lambda: fake_export)
    registry = Registry(tmp_path)
    said = []
    model = install_exported(ENTRY, "int8", registry=registry, endpoint=hub.endpoint, on_status=said.append)
    files, dtypes = calls[0]
    assert "model.safetensors" in files and "config.json" in files
    assert "pytorch_model.bin" not in files and "modeling_florence2.py" not in files
    assert dtypes == ("int8",)
    assert (model.name, model.dtype, model.is_default) == ("florence-2-base-ft-int8", "int8", True)
    assert model.source == f"{SOURCE}@{hub.repos[SOURCE].commit}"
    assert "exporting" in said
    assert not (tmp_path / PARTIAL / f"{model.name}.source").exists()  # weights dropped after use


def test_export_failure_keeps_the_download_and_registers_nothing(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    def broken_export(src: Path, out: Path, dtypes=("fp32",), *, log=print) -> Path:
        raise RuntimeError("tracing failed")

    monkeypatch.setattr(export_install, "exporter", lambda: broken_export)
    registry = Registry(tmp_path)
    with pytest.raises(ExportError, match="RuntimeError: tracing failed"):
        install_exported(ENTRY, "fp32", registry=registry, endpoint=hub.endpoint)
    assert registry.names() == []
    assert (tmp_path / PARTIAL / "florence-2-base-ft-fp32.source" / "model.safetensors").is_file()


def test_tampered_weights_are_refused(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    good = hub.repos[SOURCE].files["model.safetensors"]
    hub.tamper["model.safetensors"] = good[::-1]
    monkeypatch.setattr(export_install, "exporter", lambda: pytest.fail)
    with pytest.raises(ModelFolderError, match="model.safetensors of .* does not match"):
        install_exported(ENTRY, "fp32", registry=Registry(tmp_path), endpoint=hub.endpoint)


def test_without_export_tools_says_how_to_get_them(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    # An optional part not installed: its own status (12), the same for every command.
    with pytest.raises(MissingExtraError, match=r"pip install 'lumen\[export\]'") as raised:
        install_exported(ENTRY, "fp32", registry=Registry(tmp_path), endpoint="http://127.0.0.1:9")
    assert raised.value.exit_code == 12


def test_dtype_the_exporter_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(catalogue.UnknownModelError, match="not 'q4f16'"):
        install_exported(ENTRY, "q4f16", registry=Registry(tmp_path))


@pytest.mark.slow
def test_real_export_of_tiny_checkpoint(tiny_blip_hf: Path, tmp_path: Path, no_network) -> None:
    """End to end with the real exporter: tiny checkpoint served by the hub stand-in (BLIP: the
    quickest family to export; Florence-2's real export builds the tiny_florence2_onnx fixture)."""
    entry = catalogue.find("blip-base")
    files = {p.name: p.read_bytes() for p in tiny_blip_hf.iterdir() if p.is_file()}
    with FakeHub(lifetime_s=300) as hub:
        hub.add_repo(entry.export_source, files)
        model = install_exported(entry, "int8", registry=Registry(tmp_path), endpoint=hub.endpoint)
    assert model.problem is None and model.dtype == "int8"
    assert (model.path / "onnx" / "decoder_model_merged_int8.onnx").is_file()
