"""Keep libtiff from printing to the terminal.

libtiff reports a broken TIFF ("TIFFFillStrip: Read error on strip 0", "Fax4Decode: Bad code
word") through process-wide handlers that write to stderr, under Pillow's exception; Lumen
already turns that exception into its own one-line error. Pillow offers no switch, so the
handlers of the libtiff loaded in this process are set to none, once (libtiff's documented
TIFFSetErrorHandler/TIFFSetWarningHandler; a null handler prints nothing).
"""
from __future__ import annotations

import ctypes
import logging
import re
import sys

log = logging.getLogger(__name__)
_done = False


def _loaded_libtiff() -> str | None:
    """The path of the libtiff Pillow's _imaging module linked (Linux: from /proc/self/maps)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            found = re.search(r"(/\S*libtiff[^/\s]*\.so[^/\s]*)", maps.read())
    except OSError:
        return None
    return found.group(1) if found else None


def silence_libtiff() -> None:
    global _done
    if _done:
        return
    _done = True
    import os

    import PIL._imaging  # noqa: F401 - loads the libtiff Pillow uses

    if os.environ.get("LUMEN_LOG", "").upper() != "DEBUG":
        # Pillow logs the same failures ("More samples per pixel than can be decoded") that our
        # one-line error already reports.
        logging.getLogger("PIL").setLevel(logging.CRITICAL)

    path = _loaded_libtiff() if sys.platform.startswith("linux") else None
    if path is None:
        return  # other systems: Pillow's own build; nothing known to print
    try:
        lib = ctypes.CDLL(path)
        for name in ("TIFFSetErrorHandler", "TIFFSetWarningHandler"):
            setter = getattr(lib, name)
            setter.restype = ctypes.c_void_p
            setter.argtypes = [ctypes.c_void_p]
            setter(None)
    except (OSError, AttributeError) as e:
        log.debug("libtiff stays as it is: %s", e)
