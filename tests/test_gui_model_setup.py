"""The first-run setup dialog, offscreen, installing from the local hub stand-in."""
from __future__ import annotations

import tests.support.gui_support as gui_support  # noqa: F401  (sets QT_QPA_PLATFORM before Qt starts)

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QDialog, QLabel, QProgressBar, QWidget

from desktop.setup.model_setup import ModelSetupDialog
from tests.support.hub_server import FakeHub
from tests.support.model_fakes import make_model_folder, model_files
from models.folder_check import check_folder
from models.pack import pack
from models.registry import Registry

pytestmark = pytest.mark.gui
REPO = "onnx-community/Florence-2-base-ft"
BIG = "onnx/vision_encoder_int8.onnx"
TIMEOUT_MS = 30_000


@pytest.fixture
def hub(no_network):
    with FakeHub(lifetime_s=60) as hub:
        files = model_files("florence2", "int8", onnx_size=20_000)
        files[BIG] = model_files("florence2", "int8", onnx_size=3_000_000)[BIG]
        hub.add_repo(REPO, files)
        yield hub


@pytest.fixture
def dialog(qtbot, tmp_path: Path, hub: FakeHub):
    dlg = ModelSetupDialog(registry=Registry(tmp_path / "models"), endpoint=hub.endpoint,
                           providers=["CPUExecutionProvider"])
    qtbot.addWidget(dlg)
    heard: list[tuple[str, bool]] = []
    dlg.announcer.announced.connect(lambda m, a: heard.append((m, a)))
    dlg.heard = heard
    dlg.show()
    return dlg


def test_every_control_is_named_and_reachable(dialog: ModelSetupDialog) -> None:
    controls = [w for w in dialog.findChildren(QWidget)
                if isinstance(w, (QAbstractButton, QProgressBar)) or w is dialog.status]
    assert len(controls) >= 7
    for w in controls:
        assert w.accessibleName(), f"{type(w).__name__} {getattr(w, 'text', lambda: '')()} has no accessible name"
    for b in dialog.findChildren(QAbstractButton):
        assert "&" in b.text(), f"{b.text()} has no keyboard shortcut"
        assert b.focusPolicy() != Qt.FocusPolicy.NoFocus
    assert all(isinstance(w, QLabel) and w.wordWrap() for w in [dialog.status])


def test_size_is_shown_before_starting(dialog: ModelSetupDialog) -> None:
    text = dialog.install_button.text()
    assert "Florence-2 base, fine-tuned" in text and "about 297 MB" in text
    assert dialog.install_button.isDefault()


def test_install_by_keyboard_with_progress_announced(qtbot, dialog: ModelSetupDialog, tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)
    values: list[int] = []
    dialog.progress.valueChanged.connect(values.append)
    dialog.install_button.setFocus()
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT_MS):
        qtbot.keyClick(dialog.install_button, Qt.Key.Key_Space)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_folder == tmp_path / "models" / "florence-2-base-ft-int8"
    check_folder(dialog.result_folder, require_manifest=True)
    said = [m for m, _ in dialog.heard]
    assert any(m.startswith("Downloading ") for m in said)
    assert any(m.endswith(" percent") for m in said)  # progress announced
    assert said[-1] == "florence-2-base-ft-int8 is installed. Lumen is ready to describe pictures."
    assert values[-1] == 100 and len(values) > 3


def test_cancel_keeps_the_partial_and_install_resumes(qtbot, dialog: ModelSetupDialog, hub: FakeHub, tmp_path: Path) -> None:
    hub.stall[BIG] = 2_000_000  # the network goes silent mid-file
    part = tmp_path / "models" / ".partial" / "florence-2-base-ft-int8" / (BIG + ".part")
    qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isVisible() and not dialog.install_button.isEnabled()
    qtbot.waitUntil(lambda: part.is_file() and part.stat().st_size >= 1_000_000, timeout=TIMEOUT_MS)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.install_button.isEnabled(), timeout=TIMEOUT_MS)
    assert dialog.status.text().startswith("Stopped. What was downloaded is kept")
    assert dialog.isVisible() and dialog.result_folder is None
    assert Registry(tmp_path / "models").names() == []
    assert "Continue installing the recommended model" in dialog.install_button.text()

    del hub.stall[BIG]
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    assert dialog.result_folder is not None
    lfs_gets = [r for r in hub.requests if r.method == "GET" and "/lfs/" in r.path]
    assert lfs_gets[-1].range and lfs_gets[-1].range.startswith("bytes=")


def test_failure_is_announced_assertively(qtbot, dialog: ModelSetupDialog, hub: FakeHub) -> None:
    data = hub.repos[REPO].files["tokenizer.json"]
    hub.tamper["tokenizer.json"] = data.upper()
    qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.install_button.isEnabled(), timeout=TIMEOUT_MS)
    message, assertive = dialog.heard[-1]
    assert assertive and "tokenizer.json does not match the checksum" in message
    assert dialog.status.text() == message and dialog.isVisible()


def test_import_zip_and_use_folder(qtbot, dialog: ModelSetupDialog, tmp_path: Path) -> None:
    other = Registry(tmp_path / "elsewhere")
    staging = other.new_staging()
    make_model_folder(staging / "m", name="carried")
    other.adopt(staging / "m", "carried")
    archive = pack("carried", tmp_path, registry=other)
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT_MS):
        dialog.import_from(archive)
    assert dialog.result_folder == tmp_path / "models" / "carried"

    second = ModelSetupDialog(registry=Registry(tmp_path / "models2"), providers=[])
    qtbot.addWidget(second)
    folder = make_model_folder(tmp_path / "mine", name="mine")
    second.use_folder_at(folder)
    assert second.result_folder == folder and second.result() == QDialog.DialogCode.Accepted
    broken = make_model_folder(tmp_path / "broken", name="broken")
    (broken / "config.json").unlink()
    third = ModelSetupDialog(registry=Registry(tmp_path / "models3"), providers=[])
    qtbot.addWidget(third)
    third.use_folder_at(broken)
    assert third.result_folder is None and "missing config.json" in third.status.text()


def test_closing_mid_download_stops_it(qtbot, dialog: ModelSetupDialog, hub: FakeHub, tmp_path: Path) -> None:
    hub.stall[BIG] = 1_500_000
    part = tmp_path / "models" / ".partial" / "florence-2-base-ft-int8" / (BIG + ".part")
    qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: part.is_file() and part.stat().st_size > 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT_MS):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.result_folder is None
    assert part.is_file()
