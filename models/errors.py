"""Our own exceptions. Each message says what happened and what the user can do, and each class
carries the one exit status (models/exit_status.py) desktop/cli/__init__.py ends a command with."""
from __future__ import annotations

from models.exit_status import ExitStatus


class LumenError(Exception):
    """Base class: the message is one sentence fit to show, print or speak."""

    exit_code = ExitStatus.FAILED


class UsageError(LumenError):
    """Something given on the command line or in the environment cannot be used."""

    exit_code = ExitStatus.USAGE


class ImageError(LumenError):
    """The image cannot be read: missing, corrupt, truncated, too large, not an image."""

    exit_code = ExitStatus.USAGE


class DocumentError(ImageError):
    """A PDF or multi-page picture cannot be read: broken, truncated, empty, a page past its end."""


class DocumentPasswordError(DocumentError):
    """The PDF is encrypted and no password, or a wrong one, was given."""


# What every "no description model" message ends with (the CLI adds "or pass --model DIR").
INSTALL_A_MODEL = "install one with `lumen models install florence-2-base-ft`"


class ModelFolderError(LumenError):
    """The model folder is missing, incomplete or broken."""

    exit_code = ExitStatus.NO_MODEL


class ModelRuntimeError(LumenError):
    """ONNX Runtime failed while running a model that loaded."""

    exit_code = ExitStatus.MODEL_FAILED


class ExportError(LumenError):
    """Exporting or validating a model failed."""

    exit_code = ExitStatus.EXPORT


class CancelledError(LumenError):
    """The caller cancelled the work between two steps."""

    exit_code = ExitStatus.INTERRUPTED


class MissingExtraError(LumenError):
    """An optional part of Lumen (an extra: export, train, serve, translate) is not installed."""

    exit_code = ExitStatus.NOT_INSTALLED

    def __init__(self, what: str, extra: str, otherwise: str = "") -> None:
        super().__init__(f"{what}: {extra_hint(extra)}{f'; {otherwise}' if otherwise else ''}")
        self.extra = extra


def unexpected(error: BaseException) -> str:
    """A bug of ours (an exception that is not a LumenError), said in one line."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"unexpected {type(error).__name__}{f': {first}' if first else ''}; please report this"


def require_extra(extra: str, *packages: str, what: str, otherwise: str = "") -> None:
    """Raise MissingExtraError ("`what` needs PACKAGE: install it with ...[; otherwise]") when
    any of the extra's `packages` is missing; found without importing them."""
    missing = missing_packages(*packages)
    if missing:
        raise MissingExtraError(f"{what} needs {' and '.join(missing)}", extra, otherwise)


def extra_hint(extra: str) -> str:
    """How to get an optional part of Lumen: pip in a source install, nothing in a bundle."""
    import sys

    if getattr(sys, "frozen", False):
        return "this packaged build of Lumen does not include it; use Lumen from a source checkout"
    return f"install it with `pip install 'lumen[{extra}]'`"


def missing_packages(*names: str) -> list[str]:
    """The optional third-party packages of `names` that are not installed, found without
    importing them. Check these, then import our own modules unguarded: an ImportError from
    Lumen's own code is a bug to report, never "not installed"."""
    import importlib.util

    return [name for name in names if importlib.util.find_spec(name) is None]
