"""Exit statuses are one table (README "Exit statuses"): every LumenError subclass carries one
status, each status has one meaning, and desktop/cli.py turns the exceptions into statuses."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "services", "export", "desktop", "training")


def _readme_table() -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit statuses", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)
    statuses = [int(n) for n, _ in rows]
    assert len(statuses) == len(set(statuses)), f"a status is listed twice: {statuses}"
    return {int(n): meaning for n, meaning in rows}


def _declared_statuses() -> dict[str, int]:
    """class name -> the exit_code it declares, for every class in our packages that sets one."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ClassDef):
                    continue
                for item in node.body:
                    if (isinstance(item, ast.Assign) and any(getattr(t, "id", "") == "exit_code" for t in item.targets)
                            and isinstance(item.value, ast.Constant)):
                        found[f"{path.relative_to(ROOT)}:{node.name}"] = item.value.value
    return found


def test_every_status_a_class_declares_is_in_the_readme_table() -> None:
    table = _readme_table()
    declared = _declared_statuses()
    assert len(declared) >= 10  # the walk found the errors
    assert {name: status for name, status in declared.items() if status not in table} == {}


def test_speech_capture_and_display_have_their_own_statuses() -> None:
    from desktop.errors import CaptureError, NoDisplayError
    from services.errors import SpeechError

    statuses = [SpeechError.exit_code, CaptureError.exit_code, NoDisplayError.exit_code]
    assert len(set(statuses)) == 3
    table = _readme_table()
    assert "Speech" in table[SpeechError.exit_code] and "captured" in table[CaptureError.exit_code]
    assert "no display" in table[NoDisplayError.exit_code]


@pytest.mark.parametrize("error", ["ModelFolderError", "ImageError", "ExportError", "CancelledError"])
def test_cli_maps_a_raised_error_to_its_status(error: str, monkeypatch, capsys) -> None:
    """A command raises; cli.main prints one line and returns the class's status."""
    import types

    from desktop import cli
    from models import errors

    cls = getattr(errors, error)

    def run(_args):
        raise cls("the model folder /x is missing config.json;\nreinstall it")

    monkeypatch.setattr(cli.importlib, "import_module",
                        lambda name: types.SimpleNamespace(
                            run=run, register=lambda parser: parser.add_argument("image")))
    assert cli.main(["describe", "x.png"]) == cls.exit_code
    err = capsys.readouterr().err
    assert err == "error: the model folder /x is missing config.json; reinstall it\n"
