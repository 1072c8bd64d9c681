"""OpenCV, imported without changing what programs Lumen starts inherit.

cv2's loader prepends its own library folder to LD_LIBRARY_PATH "for sub-processes". Inside the
one-folder bundle that folder holds the bundle's copies of system libraries, which would then
reach the audio player and the screenshot tools (tests/test_bundle.py): keep the variable as
the user (or packaging/hooks/rthook_child_env.py) left it.
"""
from __future__ import annotations

import os

_saved = os.environ.get("LD_LIBRARY_PATH")
import cv2  # noqa: E402

if _saved is None:
    os.environ.pop("LD_LIBRARY_PATH", None)
else:
    os.environ["LD_LIBRARY_PATH"] = _saved

__all__ = ["cv2"]
