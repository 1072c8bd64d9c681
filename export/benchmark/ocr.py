"""`lumen bench --ocr`: how long PP-OCR takes to read a full 1280x800 screen of text.

The picture is drawn with Pillow (15 px DejaVu Sans prose filling the screen, as
tests/support/text_pages.py draws it, without importing the tests). Reported: wall time per read
(after one warm-up), CPU time of this process (threads spinning count there too), the detector's
and recogniser's shares, lines and characters read; and, read a few lines at a time as the window
does, when the first lines' text is ready (speech starts there) and the whole read.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from PIL import Image, ImageDraw, ImageFont

PROSE = ("Lumen describes pictures aloud for people who cannot see them. When the picture is a "
         "page of text, it reads the words instead of guessing what they show, from the top of "
         "the page to the bottom and one column after the other.")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class OcrBench:
    size: tuple[int, int]
    threads: int | None
    runs: int
    wall_s: float  # median
    cpu_s: float  # median
    detect_ms: float
    recognize_ms: float
    lines: int
    characters: int
    first_text_s: float = 0.0  # median: reading a few lines at a time, the first lines' text
    streamed_wall_s: float = 0.0  # median: the whole read when read that way (the window's)
    # Resident memory a read adds at its peak, over the reader loaded and warmed (Linux only):
    # the detector's activations, which grow with the screen (tiles above 1280 x 832).
    read_peak_mb: float | None = None


def screen_of_text(size: tuple[int, int] = (1280, 800), start: int = 0) -> Image.Image:
    """A screen filled with 15 px prose; `start` begins it at another word (other pixels)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(FONT, 15)
    words, line, y = (PROSE.split() * 200)[start:], "", 10
    for word in words:
        if draw.textlength(f"{line} {word}", font=face) > size[0] - 40:
            draw.text((20, y), line.strip(), font=face, fill="black")
            line, y = "", y + 21
            if y > size[1] - 30:
                break
        line = f"{line} {word}"
    return image


def run_ocr_bench(runs: int = 3, threads: int | None = None,
                  size: tuple[int, int] = (1280, 800)) -> OcrBench:
    from export.benchmark.process_memory import peak_rss_mb, reset_peak, rss_mb
    from models.memory import release_free_memory
    from models.ocr import TextReader
    from models.session import SessionConfig

    image = screen_of_text(size)
    reader = TextReader(config=SessionConfig("cpu", threads))
    reader.read(image)  # warm-up
    release_free_memory()
    before, reset = rss_mb(), reset_peak()
    reader.read(image)
    peak = peak_rss_mb()
    read_peak = peak - before if reset and peak is not None and before is not None else None
    walls, cpus, results = [], [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        results.append(reader.read(image))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    firsts, streamed = [], []
    for _ in range(runs):
        heard: list[float] = []
        wall = time.perf_counter()
        reader.read(image, on_text=lambda _text: heard or heard.append(time.perf_counter() - wall))
        streamed.append(time.perf_counter() - wall)
        firsts.append(heard[0] if heard else streamed[-1])
    last = results[-1]
    return OcrBench(image.size, threads, runs, statistics.median(walls), statistics.median(cpus),
                    statistics.median(r.timings_ms["detect"] for r in results),
                    statistics.median(r.timings_ms["recognize"] for r in results),
                    len(last.lines), len(last.text), statistics.median(firsts), statistics.median(streamed),
                    read_peak)


def markdown(result: OcrBench) -> str:
    w, h = result.size
    return "\n".join((
        "| Reading a full screen of text (PP-OCRv4) | |", "|---|---|",
        f"| picture | {w}x{h}, {result.lines} lines, {result.characters} characters |",
        f"| wall time (median of {result.runs}) | {result.wall_s:.2f} s |",
        f"| CPU time of the process | {result.cpu_s:.2f} s |",
        f"| detection / recognition | {result.detect_ms / 1000:.2f} s / {result.recognize_ms / 1000:.2f} s |",
        f"| read a few lines at a time (as the window speaks it): first lines / all | "
        f"{result.first_text_s:.2f} s / {result.streamed_wall_s:.2f} s |",
        f"| threads | {result.threads or 'one per core'} |",
        f"| resident memory a read adds at its peak | "
        f"{'not measured' if result.read_peak_mb is None else f'{result.read_peak_mb:.0f} MB'} |",
    ))


def as_json(result: OcrBench) -> dict:
    return asdict(result)


if __name__ == "__main__":
    import argparse
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 800), metavar=("W", "H"))
    args = parser.parse_args()
    print(markdown(run_ocr_bench(args.runs, args.threads, tuple(args.size))))
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
