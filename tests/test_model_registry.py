"""Installed models: listing, the default mark, removal, linked folders, where they live."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.model_fakes import make_model_folder
from models.catalogue import UnknownModelError
from models.registry import (
    AlreadyInstalledError, Registry, default_model_dir, model_dir, models_dir,
)


def _install(registry: Registry, name: str, dtype: str = "int8"):
    staging = registry.new_staging()
    make_model_folder(staging / "m", name=name, dtype=dtype)
    return registry.adopt(staging / "m", name)


def test_models_dir_env_override(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LUMEN_MODELS_DIR", str(tmp_path / "here"))
    assert models_dir() == tmp_path / "here"
    assert Registry().root == tmp_path / "here"
    monkeypatch.delenv("LUMEN_MODELS_DIR")
    assert models_dir().parts[-2:] == ("Lumen", "models")  # one data folder with history (issue 12)


def test_empty_registry(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "none")
    assert registry.installed() == []
    assert registry.default_name() is None
    assert default_model_dir(tmp_path / "none") is None


def test_first_install_becomes_default_and_listing(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    a = _install(registry, "alpha")
    b = _install(registry, "beta", dtype="q4")
    assert a.is_default and not b.is_default
    listed = {m.name: m for m in registry.installed()}
    assert set(listed) == {"alpha", "beta"}
    assert listed["beta"].dtype == "q4" and listed["beta"].family == "florence2"
    files = [f for f in (tmp_path / "beta").rglob("*") if f.is_file() and f.name != "lumen.json"]
    assert listed["beta"].size_bytes == sum(f.stat().st_size for f in files)
    assert listed["beta"].problem is None
    assert default_model_dir(tmp_path) == tmp_path / "alpha"
    assert list((tmp_path / ".staging").iterdir()) == []  # nothing left behind


def test_model_dir_expands_home_and_falls_back_to_the_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert model_dir("~/models/mine") == tmp_path / "models" / "mine"
    assert model_dir(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    assert model_dir(None, tmp_path / "none") is None
    _install(Registry(tmp_path / "reg"), "alpha")
    assert model_dir("", tmp_path / "reg") == model_dir(None, tmp_path / "reg") == tmp_path / "reg" / "alpha"


def test_set_default(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    _install(registry, "alpha")
    _install(registry, "beta")
    registry.set_default("beta")
    assert registry.default_name() == "beta"
    assert default_model_dir(tmp_path) == tmp_path / "beta"
    assert Registry(tmp_path).get("beta").is_default  # persisted on disk
    with pytest.raises(UnknownModelError, match="No installed model is called 'gamma'"):
        registry.set_default("gamma")


def test_remove_deletes_own_folder_and_moves_default(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    _install(registry, "alpha")
    _install(registry, "beta")
    registry.remove("alpha")
    assert not (tmp_path / "alpha").exists()
    assert registry.names() == ["beta"]
    assert registry.default_name() == "beta"
    with pytest.raises(UnknownModelError):
        registry.remove("alpha")


def test_linked_folder_is_used_in_place_and_never_deleted(tmp_path: Path) -> None:
    outside = make_model_folder(tmp_path / "usb" / "my-model", name="mine")
    registry = Registry(tmp_path / "models")
    model = registry.link(outside)
    assert model.name == "mine" and model.linked and model.path == outside
    assert default_model_dir(tmp_path / "models") == outside
    registry.remove("mine")
    assert (outside / "lumen.json").is_file()  # the user's files stay
    assert registry.names() == []


def test_link_refuses_a_broken_folder(tmp_path: Path) -> None:
    outside = make_model_folder(tmp_path / "broken")
    (outside / "tokenizer.json").unlink()
    with pytest.raises(Exception, match="missing tokenizer.json"):
        Registry(tmp_path / "models").link(outside)


def test_broken_installed_model_is_listed_with_its_problem(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    _install(registry, "alpha")
    (tmp_path / "alpha" / "onnx" / "embed_tokens_int8.onnx").unlink()
    (model,) = registry.installed()
    assert model.problem and "missing onnx/embed_tokens_int8.onnx" in model.problem
    assert model.dtype == "int8"  # still described from its manifest


def test_name_clash_and_bad_names(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    _install(registry, "alpha")
    with pytest.raises(AlreadyInstalledError):
        _install(registry, "alpha")
    for bad in ("../x", ".hidden", "a/b", ""):
        with pytest.raises(UnknownModelError, match="cannot be a model name"):
            registry.partial_dir(bad)


def test_hidden_and_state_entries_are_not_models(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    _install(registry, "alpha")
    (tmp_path / ".partial" / "beta").mkdir(parents=True)
    (tmp_path / ".partial" / "beta" / "x.part").write_bytes(b"123")
    assert registry.names() == ["alpha"]
    (partial,) = registry.partials()
    assert (partial.name, partial.bytes_present) == ("beta", 3)
    registry.remove_partial("beta")
    assert registry.partials() == []
