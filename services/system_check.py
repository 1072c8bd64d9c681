"""`python -m services.system_check`: which system packages Lumen needs and lacks (Linux).

`make run` runs it after installing: Python packages come from pip, but speech, sound and
Qt's X11 support come from the system, and a blind user needs to hear what is missing.
"""
from __future__ import annotations

import ctypes.util
import shutil
import sys

# (what it is for, how to test for it, Debian/Ubuntu package)
NEEDS = (
    ("speech", lambda: shutil.which("espeak-ng") or ctypes.util.find_library("espeak-ng"), "espeak-ng"),
    ("playing sound", lambda: shutil.which("aplay") or shutil.which("paplay"), "alsa-utils"),
    ("the window on X11", lambda: ctypes.util.find_library("xcb-cursor"), "libxcb-cursor0"),
    ("the window on X11", lambda: ctypes.util.find_library("xkbcommon-x11"), "libxkbcommon-x11-0"),
)


def missing_packages() -> list[tuple[str, str]]:
    if not sys.platform.startswith("linux"):
        return []
    return [(why, package) for why, present, package in NEEDS if not present()]


def main() -> int:
    missing = missing_packages()
    if not missing:
        return 0
    for why, package in missing:
        print(f"Lumen needs the system package {package} for {why}.")
    packages = " ".join(dict.fromkeys(p for _, p in missing))
    print(f"Install with: sudo apt-get install {packages}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
