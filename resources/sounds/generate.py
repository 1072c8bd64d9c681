"""Regenerates Lumen's earcons: short, soft sine tones (16-bit mono, 22.05 kHz).

capture: one rising blip (work started); done: two rising notes; error: two falling, lower.
Run: python resources/sounds/generate.py
"""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050
HERE = Path(__file__).resolve().parent


def tone(freq: float, ms: int, volume: float = 0.35) -> list[float]:
    n = int(RATE * ms / 1000)
    fade = max(1, int(RATE * 0.01))  # 10 ms fades: no clicks
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        out.append(volume * env * math.sin(2 * math.pi * freq * i / RATE))
    return out


def write(name: str, samples: list[float]) -> None:
    with wave.open(str(HERE / name), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(s * 32767)) for s in samples))


if __name__ == "__main__":
    write("capture.wav", tone(660, 70) + tone(880, 70))
    write("done.wav", tone(784, 90) + [0.0] * 600 + tone(1047, 120))
    write("error.wav", tone(440, 120) + [0.0] * 600 + tone(311, 180))
