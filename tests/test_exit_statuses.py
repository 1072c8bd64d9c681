"""Exit statuses are one table: README's "Exit statuses" and `ExitStatus` (models/exit_status.py)
hold the same statuses, every error class carries one of its members (never a bare number),
and desktop/cli/__init__.py alone turns an error into a status. The commands themselves are run into
each situation in tests/test_exit_status_runs.py."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from models.exit_status import SEVERITY, ExitStatus

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "services", "export", "desktop", "training")


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("### Exit statuses", 1)[1].split("\n#", 1)[0]


def readme_table() -> dict[int, str]:
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", _section(), re.M)
    statuses = [int(n) for n, _ in rows]
    assert len(statuses) == len(set(statuses)), f"a status is listed twice: {statuses}"
    return {int(n): meaning for n, meaning in rows}


def test_the_readme_table_is_the_enum_both_ways() -> None:
    table = readme_table()
    assert sorted(table) == sorted(int(s) for s in ExitStatus)
    assert len(set(ExitStatus)) == len(ExitStatus.__members__)  # no alias: one meaning per number


def test_most_serious_is_one_order_of_every_status_as_the_readme_gives_it() -> None:
    assert sorted(SEVERITY) == sorted(ExitStatus) and len(SEVERITY) == len(set(SEVERITY))
    order = re.search(r"From most to\s+least serious: ([\d, ]+)\.", _section())
    assert order, "README's Exit statuses section gives the order"
    assert [int(n) for n in order.group(1).split(",")] == [int(s) for s in SEVERITY]


@pytest.mark.parametrize("described, failures, status", [
    (3, [], ExitStatus.OK),
    (0, [], ExitStatus.OK),
    (1, [ExitStatus.USAGE], ExitStatus.SOME_FAILED),  # a.png broken.png
    (0, [ExitStatus.USAGE, ExitStatus.USAGE], ExitStatus.USAGE),  # nothing could be read
    (0, [ExitStatus.USAGE], ExitStatus.USAGE),  # one picture: its own status
    (2, [ExitStatus.USAGE, ExitStatus.MODEL_FAILED], ExitStatus.MODEL_FAILED),  # never hidden by 11
    (0, [ExitStatus.NO_MODEL, ExitStatus.USAGE], ExitStatus.NO_MODEL),
    (5, [ExitStatus.INTERRUPTED, ExitStatus.USAGE], ExitStatus.INTERRUPTED),
])
def test_a_batch_ends_with_the_most_serious_status_it_met(described: int, failures: list, status) -> None:
    assert ExitStatus.of_batch(described, failures) is status


def _exit_code_assignments() -> list[tuple[str, ast.expr]]:
    """(where, value) of every `exit_code = ...` in our packages, in a class or not."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                for target in targets:
                    name = getattr(target, "id", None) or getattr(target, "attr", None)
                    if name == "exit_code" and node.value is not None:  # not a bare annotation
                        found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def test_every_error_class_carries_an_enum_member_never_a_number() -> None:
    found = _exit_code_assignments()
    assert len(found) >= 15  # the walk found the errors
    members = set(ExitStatus.__members__)
    wrong = {where: ast.unparse(value) for where, value in found
             if not (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                     and value.value.id == "ExitStatus" and value.attr in members)}
    assert wrong == {}


def _lumen_errors() -> list[type]:
    """Every LumenError subclass of the modules that declare a status (training's import torch,
    which takes half a minute: the walk above checks them)."""
    import importlib

    from models.errors import LumenError

    for where, _ in _exit_code_assignments():
        path = Path(where.split(":")[0])
        if path.parts[0] != "training":
            importlib.import_module(".".join(path.with_suffix("").parts))
    seen, todo = [], [LumenError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def test_each_error_class_maps_to_its_member_through_cli_main(monkeypatch, capsys) -> None:
    """A command raises; cli.main prints one line and returns the class's status, as an ExitStatus."""
    import types

    from desktop import cli

    errors = _lumen_errors()
    assert len(errors) >= 15
    for cls in errors:
        error = cls.__new__(cls)
        Exception.__init__(error, "the model folder /x is missing config.json;\nreinstall it")

        def run(_args, error=error):
            raise error

        monkeypatch.setattr(cli.importlib, "import_module", lambda name, run=run: types.SimpleNamespace(
            run=run, register=lambda parser: parser.add_argument("image")))
        status = cli.main(["describe", "x.png"])
        assert type(status) is ExitStatus and status == cls.exit_code, cls
        assert capsys.readouterr().err == "error: the model folder /x is missing config.json; reinstall it\n"


def _command_folders() -> set[Path]:
    """Folders holding `lumen` subcommand modules (a module with both register() and run())."""
    folders = set()
    for path in (ROOT / "desktop").rglob("*.py"):
        names = {n.name for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)}
        if {"register", "run"} <= names:
            folders.add(path.parent)
    return folders


def _numbers_returned(path: Path) -> list[str]:
    """Where a module ends a command with a bare number: `return 2`, `sys.exit(1)`,
    `report_error(message, 3)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        value = None
        if isinstance(node, ast.Return):
            value = node.value
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "exit" and node.args:
                value = node.args[0]
            elif name == "report_error" and len(node.args) > 1:
                value = node.args[1]
        if isinstance(value, ast.Constant) and type(value.value) is int:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "report_error" and len(node.args) > 1:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_commands_raise_and_only_cli_main_turns_errors_into_statuses() -> None:
    """No command module returns or exits with a number of its own: a failure is raised, and a
    run over several pictures returns an ExitStatus member. cli.main returns only members."""
    folders = _command_folders()
    assert len(folders) >= 1 and sum(len(list(f.glob("*.py"))) for f in folders) >= 12, folders
    found = [hit for folder in folders for path in sorted(folder.glob("*.py")) for hit in _numbers_returned(path)]
    assert found == []
    from desktop import cli

    main = next(n for n in ast.walk(ast.parse(Path(cli.__file__).read_text(encoding="utf-8")))
                if isinstance(n, ast.FunctionDef) and n.name == "main")
    returns = [ast.unparse(n.value) for n in ast.walk(main) if isinstance(n, ast.Return)]
    assert returns and all(r.startswith("ExitStatus") for r in returns), returns
