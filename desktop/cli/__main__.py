"""`python -m desktop.cli` runs the `lumen` command, as `python -m desktop` does."""
from __future__ import annotations

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
