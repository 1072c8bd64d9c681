"""Air-gapped installs: pack to .zip and import it back, verified; hostile archives refused."""
from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from tests.support.model_fakes import make_model_folder
from models.errors import ModelFolderError
from models.folder_check import check_folder
from models.pack import PackTargetExistsError, import_model, pack
from models.registry import AlreadyInstalledError, Registry


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def source(tmp_path: Path) -> Registry:
    """A registry with one installed fake model called "alpha"."""
    registry = Registry(tmp_path / "here")
    staging = registry.new_staging()
    make_model_folder(staging / "m", name="alpha", dtype="int8")
    registry.adopt(staging / "m", "alpha")
    return registry


def test_pack_import_round_trip(source: Registry, tmp_path: Path) -> None:
    archive = pack("alpha", tmp_path, registry=source)
    assert archive == tmp_path / "alpha.zip"
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    assert "alpha/lumen.json" in names and "alpha/onnx/encoder_model_int8.onnx" in names
    target = Registry(tmp_path / "there")
    model = import_model(archive, registry=target)
    assert (model.name, model.dtype, model.is_default) == ("alpha", "int8", True)
    assert _tree(model.path) == _tree(source.path_of("alpha"))  # byte for byte, manifest too
    assert not any((tmp_path / "there" / ".staging").iterdir())


def test_round_trip_of_exported_tiny_model(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    model = import_model(tiny_florence2_onnx, name="tiny", registry=registry)
    assert model.family == "florence2" and model.problem is None
    archive = pack("tiny", tmp_path / "tiny.zip", registry=registry)
    other = Registry(tmp_path / "other")
    again = import_model(archive, registry=other)
    assert again.name == "tiny"
    files = {k: v for k, v in _tree(again.path).items() if k != "lumen.json"}
    assert files == {
        k: v for k, v in _tree(tiny_florence2_onnx).items()
        if not k.startswith(".") and k != "lumen.json"
    }
    assert check_folder(again.path).manifest.name == "tiny"


def test_import_folder_copies_and_leaves_source(source: Registry, tmp_path: Path) -> None:
    original = source.path_of("alpha")
    target = Registry(tmp_path / "there")
    model = import_model(original, name="copy", registry=target)
    assert model.path == tmp_path / "there" / "copy" and not model.linked
    copied = _tree(model.path)
    assert json.loads(copied.pop("lumen.json"))["name"] == "copy"
    assert copied == {k: v for k, v in _tree(original).items() if k != "lumen.json"}
    assert (original / "lumen.json").is_file()


def test_import_folder_without_manifest_writes_one(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "download", dtype="q4", manifest=False)
    (folder / "README.md").write_text("not copied")
    model = import_model(folder, registry=Registry(tmp_path / "models"))
    assert (model.name, model.dtype) == ("download", "q4")
    assert not (model.path / "README.md").exists()
    report = check_folder(model.path, require_manifest=True)
    assert report.manifest.source == f"imported from {folder}"


def test_import_folder_with_damaged_file_is_refused(source: Registry, tmp_path: Path) -> None:
    original = source.path_of("alpha")
    path = original / "onnx" / "vision_encoder_int8.onnx"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    target = Registry(tmp_path / "there")
    with pytest.raises(ModelFolderError, match="vision_encoder_int8.onnx does not match its checksum"):
        import_model(original, name="copy", registry=target)
    assert target.names() == []
    assert not any((tmp_path / "there" / ".staging").iterdir())


def test_tampered_zip_is_refused_and_nothing_registered(source: Registry, tmp_path: Path) -> None:
    archive = pack("alpha", tmp_path, registry=source)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("tokenizer.json"):
                data = data.replace(b"tokenizer", b"tokenizeR")
            zout.writestr(info, data)
    target = Registry(tmp_path / "there")
    with pytest.raises(ModelFolderError, match="tokenizer.json does not match its checksum"):
        import_model(bad, registry=target)
    assert target.names() == []


def test_truncated_zip_is_refused(source: Registry, tmp_path: Path) -> None:
    archive = pack("alpha", tmp_path, registry=source)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFolderError, match="not a .zip archive|damaged"):
        import_model(archive, registry=Registry(tmp_path / "there"))


def _zip_with(tmp_path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    good = make_model_folder(tmp_path / "src", name="evil")
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for p in good.rglob("*"):
            if p.is_file():
                zf.write(p, f"evil/{p.relative_to(good).as_posix()}")
        for info, data in members:
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize("member", ["evil/../../escaped.txt", "/tmp/abs.txt", "evil/..\\x.txt"])
def test_path_traversal_is_refused(tmp_path: Path, member: str) -> None:
    archive = _zip_with(tmp_path, [(member, b"gotcha")])
    with pytest.raises(ModelFolderError, match="unsafe path"):
        import_model(archive, registry=Registry(tmp_path / "models"))
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/abs.txt").exists()
    assert Registry(tmp_path / "models").names() == []


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("evil/onnx/link.onnx")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip_with(tmp_path, [(info, b"/etc/passwd")])
    with pytest.raises(ModelFolderError, match="is a link or encrypted"):
        import_model(archive, registry=Registry(tmp_path / "models"))


def test_zip_without_manifest_is_refused(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    archive = Path(shutil.make_archive(str(tmp_path / "plain"), "zip", folder))
    with pytest.raises(ModelFolderError, match="no lumen.json manifest"):
        import_model(archive, registry=Registry(tmp_path / "models"))


def test_import_name_clash_is_refused_before_copying(source: Registry, tmp_path: Path) -> None:
    archive = pack("alpha", tmp_path, registry=source)
    with pytest.raises(AlreadyInstalledError, match="'alpha' is already installed"):
        import_model(archive, registry=source)
    assert import_model(archive, name="alpha-2", registry=source).name == "alpha-2"


def test_pack_refuses_to_overwrite_and_to_pack_damage(source: Registry, tmp_path: Path) -> None:
    (tmp_path / "alpha.zip").write_text("user's file")
    with pytest.raises(PackTargetExistsError):
        pack("alpha", tmp_path, registry=source)
    assert (tmp_path / "alpha.zip").read_text() == "user's file"
    path = source.path_of("alpha") / "onnx" / "embed_tokens_int8.onnx"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFolderError, match="embed_tokens_int8.onnx does not match"):
        pack("alpha", tmp_path / "out.zip", registry=source)
    assert not (tmp_path / "out.zip").exists() and not (tmp_path / "out.zip.part").exists()


def test_import_non_zip_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(json.dumps({"x": 1}))
    with pytest.raises(ModelFolderError, match="not a .zip archive or a model folder"):
        import_model(tmp_path / "notes.txt", registry=Registry(tmp_path / "models"))
