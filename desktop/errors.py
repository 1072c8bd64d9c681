"""The desktop's own exceptions (no Qt here, so the CLI can raise them before Qt loads)."""
from __future__ import annotations

from models.errors import LumenError
from models.exit_status import ExitStatus


class CaptureError(LumenError):
    """The screen could not be captured (Wayland without a portal, no permission, cancelled)."""

    exit_code = ExitStatus.CAPTURE


class NoDisplayError(LumenError):
    """There is no display to open the window on or to capture."""

    exit_code = ExitStatus.NO_DISPLAY
