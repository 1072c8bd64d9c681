"""How many ONNX Runtime threads the window's models use, and how they wait."""
from __future__ import annotations

import os

# Every core, threads that sleep while they wait. One thread (a core left to the window) made
# Florence-2-base int8's vision encoder take 5.2 s instead of 2.9 s on a 2-core machine; without
# spinning, two threads cost 5% over spinning ones and the GUI thread and the screen reader get a
# core as soon as they wake (the model work runs on the worker thread, never on the GUI's).
SPIN = False


def model_threads() -> int:
    return os.cpu_count() or 1
