"""What `make test` installs is required, never optional: a test whose tool is missing fails
with the command that installs it, instead of skipping (a skipped test proves nothing)."""
from __future__ import annotations

import importlib
import shutil
from types import ModuleType

import pytest

DEV = "pip install -e '.[dev]' (or `make test`, which installs it)"
SYSTEM = "`make system-test` (packaging/system-packages.txt)"


def require(module: str, install: str = DEV) -> ModuleType:
    """Import `module`, or fail the test with how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pytest.fail(f"{module} cannot be imported ({e}); install it: {install}", pytrace=False)


def require_tool(command: str, package: str) -> str:
    """The path of a system command, or fail with the Debian package that has it."""
    found = shutil.which(command)
    if found is None:
        pytest.fail(f"`{command}` is not installed; install it: apt-get install {package} "
                    f"(or {SYSTEM})", pytrace=False)
    return found
