"""Installing from a hub, for real, against a local stand-in on 127.0.0.1 (tests/support/hub_server.py).

huggingface_hub is pointed at the server through its endpoint setting; it plans from the
model-info API, fetches through /resolve (with the LFS redirect), and resumes with Range.
"""
from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from tests.support.hub_server import FakeHub
from tests.support.model_fakes import model_files
from models import catalogue
from models.catalogue import UnknownModelError
from models.download import DownloadError, bytes_present, install, plan_install
from models.errors import CancelledError, ModelFolderError
from models.folder_check import check_folder
from models.fsutil import FolderBusyError, exclusive
from models.registry import PARTIAL, AlreadyInstalledError, Registry

REPO = "onnx-community/Florence-2-base-ft"
ENTRY = catalogue.find("florence-2-base-ft")
BIG = "onnx/vision_encoder_int8.onnx"


def _repo_files() -> dict[str, bytes]:
    """A hub repository: int8 and fp32 graphs, configs, and files an install must skip."""
    files = model_files("florence2", "int8", onnx_size=40_000)
    files[BIG] = model_files("florence2", "int8", onnx_size=400_000)[BIG]
    files.update({k: v for k, v in model_files("florence2", "fp32").items() if k.startswith("onnx/")})
    files["README.md"] = b"# model card"
    files[".gitattributes"] = b"*.onnx filter=lfs"
    return files


@pytest.fixture
def hub(no_network):
    with FakeHub(lifetime_s=60) as hub:
        hub.add_repo(REPO, _repo_files())
        yield hub


def _fetches(hub: FakeHub, rel: str) -> list:
    """GET requests that carried the bytes of `rel` (through /resolve or its LFS redirect)."""
    data = hub.repos[REPO].files[rel]
    sha = hashlib.sha256(data).hexdigest()
    return [r for r in hub.requests if r.method == "GET"
            and (r.path.endswith("/resolve/" + hub.repos[REPO].commit + "/" + rel)
                 or r.path.endswith("/" + sha))]


def test_plan_lists_only_the_dtype_files_with_exact_sizes(hub: FakeHub) -> None:
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    paths = {f.path for f in plan.files}
    assert paths == {
        "config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json",
        *catalogue.onnx_files("florence2", "int8"),
    }
    files = hub.repos[REPO].files
    assert plan.total_bytes == sum(len(files[p]) for p in paths)
    assert plan.commit == hub.repos[REPO].commit and plan.name == "florence-2-base-ft-int8"
    lfs = {f.path: f.sha256 for f in plan.files if f.sha256}
    assert lfs[BIG] == hashlib.sha256(files[BIG]).hexdigest()


def test_install_downloads_verifies_and_registers(hub: FakeHub, tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    seen = []
    model = install(plan, registry=registry, on_progress=seen.append)
    assert model.name == "florence-2-base-ft-int8" and model.is_default
    assert model.path == tmp_path / "florence-2-base-ft-int8"
    report = check_folder(model.path, require_manifest=True)  # full checksums
    assert report.manifest.source == f"{REPO}@{plan.commit}"
    for rel, entry in report.manifest.files.items():
        assert entry.sha256 == hashlib.sha256(hub.repos[REPO].files[rel]).hexdigest()
    assert not (model.path / "README.md").exists() and not (model.path / "onnx/vision_encoder.onnx").exists()
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].done == seen[-1].total == plan.total_bytes
    assert registry.partials() == []


def test_endpoint_from_hf_endpoint(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    plan = plan_install(ENTRY, "int8")
    assert plan.endpoint == hub.endpoint
    install(plan, registry=Registry(tmp_path))
    assert _fetches(hub, BIG)


@pytest.fixture
def small_chunks(monkeypatch) -> int:
    """huggingface_hub writes in 10 MB chunks; 64 KB lets a test stop inside a small file."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    return 64 * 1024


def test_dropped_connection_resumes_with_range(hub: FakeHub, tmp_path: Path, small_chunks: int) -> None:
    hub.cut_once[BIG] = 100_000  # one whole chunk arrives before the drop
    model = install(plan_install(ENTRY, "int8", endpoint=hub.endpoint), registry=Registry(tmp_path))
    ranges = [r.range for r in _fetches(hub, BIG)]
    assert ranges[0] is None and ranges[-1] == f"bytes={small_chunks}-"
    assert (model.path / BIG).read_bytes() == hub.repos[REPO].files[BIG]


def test_cancel_mid_file_then_resume_where_it_stopped(hub: FakeHub, tmp_path: Path, small_chunks: int) -> None:
    registry = Registry(tmp_path)
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    def stop() -> bool:  # cancel once the big file is partly written
        part = tmp_path / PARTIAL / plan.name / (BIG + ".part")
        return part.is_file() and part.stat().st_size >= 128 * 1024

    with pytest.raises(CancelledError, match="resume"):
        install(plan, registry=registry, should_stop=stop)
    part = tmp_path / PARTIAL / plan.name / (BIG + ".part")
    kept = part.stat().st_size
    assert 2 * small_chunks <= kept < len(hub.repos[REPO].files[BIG])
    assert registry.names() == [] and [p.name for p in registry.partials()] == [plan.name]
    assert bytes_present(plan, registry) >= kept
    config_gets = len(_fetches(hub, "config.json"))

    model = install(plan_install(ENTRY, "int8", endpoint=hub.endpoint), registry=registry)
    assert _fetches(hub, BIG)[-1].range == f"bytes={kept}-"
    assert len(_fetches(hub, "config.json")) == config_gets  # finished files are not fetched again
    assert (model.path / BIG).read_bytes() == hub.repos[REPO].files[BIG]
    check_folder(model.path)
    assert registry.partials() == []


@pytest.mark.parametrize("rel", [BIG, "tokenizer.json"])  # an LFS sha256 and a git blob id
def test_checksum_mismatch_is_refused(hub: FakeHub, tmp_path: Path, rel: str) -> None:
    good = hub.repos[REPO].files[rel]
    hub.tamper[rel] = bytes(b ^ 1 for b in good[:10]) + good[10:]  # same size, other bytes
    registry = Registry(tmp_path)
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    with pytest.raises(ModelFolderError, match=f"downloaded {rel} does not match the checksum"):
        install(plan, registry=registry)
    assert registry.names() == []
    work = tmp_path / PARTIAL / plan.name
    assert not (work / rel).exists() and not (work / (rel + ".part")).exists()
    del hub.tamper[rel]  # the mirror is fixed: installing again succeeds
    model = install(plan, registry=registry)
    assert (model.path / rel).read_bytes() == good


def test_stale_part_from_another_revision_is_discarded(hub: FakeHub, tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    work = registry.partial_dir(plan.name)
    (work / "onnx").mkdir(parents=True)
    (work / (BIG + ".part")).write_bytes(b"x" * 5000)
    (work / "onnx" / "old_file.onnx").write_bytes(b"old")
    (work / ".lumen-download.json").write_text(json.dumps({"files": {BIG: "0" * 64}}))
    model = install(plan, registry=registry)
    assert _fetches(hub, BIG)[0].range is None
    assert (model.path / BIG).read_bytes() == hub.repos[REPO].files[BIG]
    assert not (model.path / "onnx" / "old_file.onnx").exists()


def test_a_second_install_of_the_same_model_is_refused(hub: FakeHub, tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    with exclusive(tmp_path / PARTIAL / f"{plan.name}.lock", "test"):  # as another process would
        with pytest.raises(FolderBusyError, match="already in progress"):
            install(plan, registry=registry)
    assert install(plan, registry=registry).name == plan.name  # free again once released


def test_unpublished_dtype_names_the_published_ones(hub: FakeHub) -> None:
    with pytest.raises(UnknownModelError, match="has no q4f16 files; choose one of fp32, int8"):
        plan_install(ENTRY, "q4f16", endpoint=hub.endpoint)


def test_unknown_repository(hub: FakeHub) -> None:
    with pytest.raises(DownloadError, match="has no model onnx-community/Florence-2-large-ft"):
        plan_install(catalogue.find("florence-2-large-ft"), "int8", endpoint=hub.endpoint)


def test_unreachable_hub(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="Could not download from http://127.0.0.1"):
        plan_install(ENTRY, "int8", endpoint=f"http://127.0.0.1:{port}")


def test_installed_name_is_refused_before_downloading(hub: FakeHub, tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
    install(plan, registry=registry)
    before = len(hub.requests)
    with pytest.raises(AlreadyInstalledError):
        install(plan, registry=registry)
    assert len(hub.requests) == before


def test_exported_tiny_model_from_the_hub_loads(tiny_florence2_onnx: Path, tmp_path: Path, no_network) -> None:
    files = {
        p.relative_to(tiny_florence2_onnx).as_posix(): p.read_bytes()
        for p in tiny_florence2_onnx.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name != "lumen.json"
    }
    with FakeHub(lifetime_s=60) as hub:
        hub.add_repo(REPO, files)
        plan = plan_install(ENTRY, "int8", endpoint=hub.endpoint)
        model = install(plan, registry=Registry(tmp_path))
    assert not (model.path / "onnx" / "vision_encoder.onnx").exists()
    from models.captioner import Captioner

    captioner = Captioner.load(model.path, device="cpu")
    assert captioner.family == "florence2"
