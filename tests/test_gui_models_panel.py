"""Settings → Models, offscreen, with the tiny exported Florence-2 registered in a temporary
LUMEN_MODELS_DIR: the list, default switching (the window follows), remove only after yes,
verify naming a damaged file, the setup flows, and names for every control."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.support.gui_support import TIMEOUT_MS, isolate, make_window  # noqa: F401 - fixture
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAccessible
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QApplication, QFileDialog, QLabel, QMessageBox, QTabWidget,
    QWidget,
)

from desktop.setup.models_panel import ModelsPanel
from models.folder_check import check_folder
from models.fsutil import human_size
from models.manifest import read_manifest
from models.pack import import_model
from models.registry import Registry

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def model_copy(tiny_florence2_onnx: Path, tmp_path_factory) -> Path:
    """A private copy of the tiny exported model, so no test can harm the shared cache."""
    dest = tmp_path_factory.mktemp("tiny") / "tiny-florence2"
    shutil.copytree(tiny_florence2_onnx, dest, ignore=shutil.ignore_patterns(".done"))
    return dest


@pytest.fixture
def registry(tmp_path: Path, monkeypatch, model_copy: Path) -> Registry:
    """tiny-linked (the folder left where it is, the default) and tiny-own (an imported copy)."""
    isolate(monkeypatch, tmp_path)
    reg = Registry()
    assert reg.root == tmp_path / "models"
    reg.link(model_copy, "tiny-linked")
    import_model(model_copy, name="tiny-own", registry=reg)
    return reg


def make_panel(qtbot, **kwargs) -> ModelsPanel:
    panel = ModelsPanel(providers=["CPUExecutionProvider"], **kwargs)
    qtbot.addWidget(panel)
    panel.heard = []
    panel.announcer.announced.connect(lambda m, a: panel.heard.append((m, a)))
    panel.defaults = []
    panel.default_changed.connect(panel.defaults.append)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot, registry: Registry) -> ModelsPanel:
    return make_panel(qtbot)


def rows(panel: ModelsPanel) -> list[str]:
    return [panel.list.item(i).text() for i in range(panel.list.count())]


def said(panel: ModelsPanel) -> list[str]:
    return [m for m, _ in panel.heard]


def answer(button: str | None) -> list[str]:
    """When the confirmation opens, press the button named `button` (None: Escape)."""
    questions: list[str] = []
    tries = [250]  # about 5 s; a box that never opens must not be answered in a later test

    def act() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            tries[0] -= 1
            if tries[0] > 0:
                QTimer.singleShot(20, act)
            return
        questions.append(box.text())
        if button is None:
            QTest.keyClick(box, Qt.Key.Key_Escape)  # through the box's own key handling
        else:
            next(b for b in box.buttons() if b.accessibleName() == button).click()

    QTimer.singleShot(0, act)
    return questions


def unnamed(root: QWidget) -> list[str]:
    missing = []
    for w in [root, *root.findChildren(QWidget)]:
        reachable = w.focusPolicy() != Qt.FocusPolicy.NoFocus or isinstance(w, (QAbstractButton, QAbstractItemView))
        if not reachable or isinstance(w, QLabel) or w.window() is not root.window():
            continue
        iface = QAccessible.queryAccessibleInterface(w)
        if not (iface and iface.text(QAccessible.Text.Name).strip()):
            missing.append(f"{type(w).__name__} {w.objectName()!r}")
    return missing


def test_the_list_reads_each_model_in_full(panel: ModelsPanel, registry: Registry, model_copy: Path) -> None:
    size = human_size(read_manifest(model_copy).total_bytes)
    assert rows(panel) == [
        f"tiny-linked (default): Florence-2, fp32, {size}, linked folder; installed, last evaluation: not evaluated",
        f"tiny-own: Florence-2, fp32, {size}; installed, last evaluation: not evaluated",
    ]
    for i, path in enumerate([model_copy, registry.root / "tiny-own"]):
        item = panel.list.item(i)
        assert item.data(Qt.ItemDataRole.AccessibleTextRole) == item.text()
        assert item.data(Qt.ItemDataRole.AccessibleDescriptionRole) == f"Folder: {path}"
    assert panel.selected_name() == "tiny-linked"  # the default is selected first


def test_every_control_is_named_and_in_order(panel: ModelsPanel) -> None:
    assert unnamed(panel) == []
    buttons = panel.findChildren(QAbstractButton)
    assert len(buttons) == 7
    letters = []
    for b in buttons:
        assert "&" in b.text() and b.accessibleDescription(), b.text()
        letters.append(b.text()[b.text().index("&") + 1].lower())
    assert len(letters) == len(set(letters)), letters
    assert panel.status.accessibleName() == "Status" and panel.progress.accessibleName() == "Progress"
    # Tab goes list, model actions, add actions, then the status line.
    expected = [panel.list, *panel.model_buttons, *panel.add_buttons, panel.status]
    chain, w = [], panel.list
    for _ in range(len(expected)):
        chain.append(w)
        w = w.nextInFocusChain()
        while not (w.focusPolicy() & Qt.FocusPolicy.TabFocus) or w.focusProxy() is not None:
            w = w.nextInFocusChain()
    assert chain == expected


def test_settings_has_a_models_page_and_it_switches_the_window(qtbot, make_window, registry: Registry, model_copy: Path) -> None:
    from desktop.setup.settings_dialog import SettingsDialog

    window = make_window(model=model_copy)
    dialog = SettingsDialog(window.settings, window.voice, window.translator, "", window)
    qtbot.addWidget(dialog)
    tabs = dialog.findChild(QTabWidget)
    assert tabs.tabText(tabs.count() - 1) == "&Models"
    page = dialog.models_panel
    assert tabs.widget(tabs.count() - 1) is page and rows(page)[0].startswith("tiny-linked (default)")
    dialog.show()
    tabs.setCurrentWidget(page)
    assert unnamed(dialog) == []

    page.select("tiny-own")
    qtbot.mouseClick(page.default_button, Qt.MouseButton.LeftButton)
    own = registry.root / "tiny-own"
    assert Registry().default_name() == "tiny-own"
    assert rows(page)[1].startswith("tiny-own (default)") and "(default)" not in rows(page)[0]
    assert page.status.text() == "tiny-own is now the default model."
    assert window.model_dir == own
    qtbot.waitUntil(lambda: window.engine.state == "ready" and window.engine.info.folder == own, timeout=TIMEOUT_MS)
    dialog.close()


def test_remove_asks_and_deletes_only_after_yes(qtbot, panel: ModelsPanel, registry: Registry) -> None:
    own = registry.root / "tiny-own"
    panel.select("tiny-own")
    questions = answer(None)  # Escape
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert questions and "Delete the model tiny-own" in questions[0] and str(own) in questions[0]
    assert own.is_dir() and registry.exists("tiny-own")
    assert said(panel)[-1] == "Nothing was removed."

    answer("Keep it")
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert own.is_dir() and registry.exists("tiny-own")

    answer("Delete it")
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Removed tiny-own." in said(panel), timeout=TIMEOUT_MS)
    assert not own.exists() and registry.names() == ["tiny-linked"]
    assert rows(panel) == [r for r in rows(panel) if r.startswith("tiny-linked")]
    assert panel.remove_button.isEnabled() and panel.defaults == []  # the default did not change


def test_removing_a_linked_model_forgets_it_and_keeps_its_folder(qtbot, panel: ModelsPanel, registry: Registry,
                                                                 model_copy: Path) -> None:
    panel.select("tiny-linked")
    questions = answer("Forget it")
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert "left as it is" in questions[0]
    qtbot.waitUntil(lambda: not panel._busy, timeout=TIMEOUT_MS)
    assert registry.names() == ["tiny-own"]
    check_folder(model_copy)  # every file still there and whole
    assert said(panel)[-1] == (f"Forgot tiny-linked; its folder {model_copy} is left as it is. "
                               "The default model is now tiny-own.")
    assert panel.defaults == [registry.root / "tiny-own"]  # the window is told to follow


def test_verify_names_the_damaged_file(qtbot, panel: ModelsPanel, registry: Registry) -> None:
    panel.select("tiny-own")
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel._busy, timeout=TIMEOUT_MS)
    assert panel.heard[-1] == ("tiny-own is whole: every file matches its checksum.", False)

    damaged = registry.root / "tiny-own" / "tokenizer.json"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, one bit changed: only the checksum can tell
    damaged.write_bytes(bytes(data))
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    assert not panel.verify_button.isEnabled()  # the work runs in the background
    qtbot.waitUntil(lambda: not panel._busy, timeout=TIMEOUT_MS)
    message, assertive = panel.heard[-1]
    assert assertive and message.startswith("tiny-own is damaged.")
    assert f"{damaged} does not match its checksum" in message
    assert panel.status.text() == message
    assert "Damaged:" in rows(panel)[1] and "tokenizer.json" in rows(panel)[1]
    assert registry.exists("tiny-own")  # verifying never deletes


def test_adding_runs_the_setup_flows(qtbot, tmp_path: Path, monkeypatch, model_copy: Path) -> None:
    isolate(monkeypatch, tmp_path)
    panel = make_panel(qtbot)
    assert rows(panel) == ["No model is installed. Add one below."] and panel.selected_name() is None
    qtbot.mouseClick(panel.default_button, Qt.MouseButton.LeftButton)
    assert panel.heard[-1] == ("No model is selected; add one first.", True)

    chosen = [""]  # the folder picker's answer; "" is Cancel
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: chosen[0]))
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    assert Registry().names() == [] and panel.heard[-1][0] == "No model is selected; add one first."

    chosen[0] = str(model_copy)
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    linked = Registry().get(Registry().names()[0])
    assert linked.linked and linked.path == model_copy and linked.is_default
    assert panel.defaults == [model_copy]  # the first model becomes the default; the window follows
    assert said(panel)[-1] == f"{linked.name} is added and is the default model."

    other = tmp_path / "from-usb"
    shutil.copytree(model_copy, other)
    manifest = json.loads((other / "lumen.json").read_text())
    manifest["name"] = "tiny-imported"
    (other / "lumen.json").write_text(json.dumps(manifest))
    chosen[0] = str(other)
    qtbot.mouseClick(panel.folder_button, Qt.MouseButton.LeftButton)  # returns when the copy is checked
    assert (tmp_path / "models" / "tiny-imported").is_dir()
    assert panel.selected_name() == "tiny-imported" and len(rows(panel)) == 2
    assert said(panel)[-1] == "tiny-imported is added. Choose Make default to describe pictures with it."

    chosen[0] = str(tmp_path)  # not a model folder: the reason is announced, nothing added
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    message, assertive = panel.heard[-1]
    assert assertive and str(tmp_path) in message and len(Registry().names()) == 2


def test_the_recommended_model_is_not_downloaded_twice(qtbot, tmp_path: Path, monkeypatch, model_copy: Path) -> None:
    isolate(monkeypatch, tmp_path)
    panel = make_panel(qtbot)
    name = panel.recommendation.installed_name
    assert name == "florence-2-base-ft-int8" and "about 297 MB" in panel.install_button.text()
    Registry().link(model_copy, name)
    panel.refresh()
    qtbot.mouseClick(panel.install_button, Qt.MouseButton.LeftButton)
    assert said(panel)[-1] == f"{name} is already installed." and panel.selected_name() == name
