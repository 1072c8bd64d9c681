"""`python -m desktop` runs the `lumen` command; PyInstaller's bundle starts here too (build.spec)."""
from __future__ import annotations

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
