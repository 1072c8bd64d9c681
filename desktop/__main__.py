"""`python -m desktop` runs the `lumen` command; PyInstaller's bundle starts here too (build.spec)."""
from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    if os.environ.get("LUMEN_SPEECH_CHILD"):  # the bundle started as the speech engine's process
        from services.speech_child import main as speech_child

        speech_child()
        sys.exit(0)
    from desktop.cli import main

    sys.exit(main())
