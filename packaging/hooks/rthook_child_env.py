"""PyInstaller runtime hook: programs Lumen starts get the user's library path, not the bundle's.

The Linux bootloader puts the bundle's `_internal/` first on LD_LIBRARY_PATH (keeping the
user's value in LD_LIBRARY_PATH_ORIG). Lumen itself is already loaded by then, so the variable
only reaches child processes (aplay, paplay, grim, spectacle, gnome-screenshot, xdotool), which
would otherwise load the bundle's copies of system libraries instead of their own.
"""
import os
import sys


def _restore_library_path() -> None:
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if current.split(os.pathsep)[0] != getattr(sys, "_MEIPASS", None):
        return  # not the bootloader's doing: leave the user's value alone
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


_restore_library_path()
del _restore_library_path
