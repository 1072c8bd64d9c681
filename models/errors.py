"""Our own exceptions. Each message says what happened and what the user can do."""
from __future__ import annotations


class LumenError(Exception):
    """Base class: the message is one sentence fit to show, print or speak."""

    exit_code = 1


class ImageError(LumenError):
    """The image cannot be read: missing, corrupt, truncated, too large, not an image."""

    exit_code = 2


class DocumentError(ImageError):
    """A PDF or multi-page picture cannot be read: broken, truncated, empty, a page past its end."""


class DocumentPasswordError(DocumentError):
    """The PDF is encrypted and no password, or a wrong one, was given."""


class ModelFolderError(LumenError):
    """The model folder is missing, incomplete or broken."""

    exit_code = 3


class ModelRuntimeError(LumenError):
    """ONNX Runtime failed while running a model that loaded."""

    exit_code = 4


class ExportError(LumenError):
    """Exporting or validating a model failed."""

    exit_code = 5


class CancelledError(LumenError):
    """The caller cancelled the work between two steps."""

    exit_code = 130


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
