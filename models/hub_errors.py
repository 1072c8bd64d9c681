"""huggingface_hub and network failures, turned into one sentence that says what to do."""
from __future__ import annotations

from models.errors import LumenError
from models.exit_status import ExitStatus


class DownloadError(LumenError):
    """The hub could not be reached or refused a request."""

    exit_code = ExitStatus.FAILED


class hub_errors:
    """Turn huggingface_hub and network failures into a DownloadError that says what to do."""

    def __init__(self, endpoint: str | None, repo_id: str) -> None:
        self.where = endpoint or "https://huggingface.co"
        self.repo_id = repo_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, tb) -> bool:
        if error is None or isinstance(error, LumenError):
            return False
        from huggingface_hub.errors import (
            HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError, RevisionNotFoundError,
        )

        if isinstance(error, OfflineModeIsEnabled):
            raise DownloadError(
                "Downloads are switched off (HF_HUB_OFFLINE is set); unset it, or import the "
                "model from a .zip with `lumen models import`."
            ) from error
        if isinstance(error, (RepositoryNotFoundError, RevisionNotFoundError)):
            raise DownloadError(
                f"{self.where} has no model {self.repo_id}; check the name and HF_ENDPOINT."
            ) from error
        if isinstance(error, HfHubHTTPError):
            status = getattr(error.response, "status_code", "an error")
            raise DownloadError(
                f"{self.where} answered {status} for {self.repo_id}; try again later."
            ) from error
        if isinstance(error, (OSError, *_network_errors())):
            raise DownloadError(
                f"Could not download from {self.where} ({type(error).__name__}: {error}); check "
                "the network and run the install again to resume, or import the model from a "
                ".zip with `lumen models import`."
            ) from error
        return False


def _network_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for module in ("httpx2", "httpx", "requests"):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        cls = getattr(mod, "TransportError", None) or getattr(mod, "RequestException", None)
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)
