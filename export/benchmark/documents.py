"""`lumen bench --document`: documents read page by page (models/documents), against issue 21's goals.

Every PDF is written here with PDFium (export/benchmark/pdf_pages.py), so the true text of each
page is known:

* born-digital A4 pages (one and two columns): the text read from the text layer against the
  text written (character error rate, jiwer), and against PDFium's own plain extraction;
* a scanned A4 page: the one-column page rendered at 150 dpi and wrapped in an image-only PDF,
  read by PP-OCR (no text layer): character error rate, the first text ready (speech starts
  there) and the whole read; the same for the two-column page;
* the real window on a 3-page scan (desktop/window/bench_pages.py, its own process): the first
  text after opening it, after Page Down once the next page was read ahead, and after Page Down
  pressed at once;
* a 2,000-page PDF: the first page's result from opening the file, in this process and as a
  fresh `lumen describe --json` process (to its first line), and resident memory while every
  page streams;
* two-column pages: of the words read right, the share in column order.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from export.benchmark.probes import child_env
from export.benchmark.process_memory import rss_mb
from export.benchmark.pdf_pages import expected_text, full_page, image_only_pdf, many_pages, render_page, write_pdf

LONG_PAGES = 2000


@dataclass
class DocumentBench:
    born_digital_cer: float = 0.0  # text layer read vs the text written (one and two columns)
    text_layer_cer: float = 0.0  # vs PDFium's own extraction, whitespace folded
    scanned_cer: float = 0.0  # the one-column page scanned at 150 dpi, PP-OCR
    scanned_two_column_cer: float = 0.0
    scanned_first_text_s: float = 0.0  # page asked for -> first lines ready (rendering included)
    scanned_page_s: float = 0.0  # the whole page read
    # The real window (desktop/window/bench_pages.py) on a 3-page scan: to the page's first text.
    window: dict[str, float] = field(default_factory=dict)
    two_column_order_text_layer: float = 0.0  # share of words in column order
    two_column_order_scanned: float = 0.0
    long_pages: int = LONG_PAGES
    long_first_page_s: float = 0.0  # open + first page read, in this process
    long_first_line_process_s: float = 0.0  # `lumen describe big.pdf --json`: start -> first line
    long_all_pages_s: float = 0.0
    rss_mb: dict[str, float] = field(default_factory=dict)  # after page 1, 1000, 2000
    load_average: float = 0.0


def _rss_mb() -> float:
    now = rss_mb()
    if now is not None:
        return now
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _words_in_order(expected: str, got: str) -> float:
    """Of the words read right, the share that come in the expected order: the longest common
    subsequence of the two word lists over the words both have, so a misread word counts
    against the character error rate, not against the order. (A true LCS: difflib's greedy
    blocks undercount on pages whose paragraphs repeat, as the bench's do.)"""
    from collections import Counter

    want, have = expected.split(), got.split()
    common = sum((Counter(want) & Counter(have)).values())
    previous = [0] * (len(have) + 1)
    for word in want:
        row = [0]
        for j, other in enumerate(have):
            row.append(previous[j] + 1 if word == other else max(previous[j + 1], row[j]))
        previous = row
    return previous[-1] / common if common else 0.0


def _cer(expected: str, got: str) -> float:
    import jiwer

    return float(jiwer.cer(" ".join(expected.split()), " ".join(got.split())))


def _pdfium_text(path: Path, number: int) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[number - 1]
        return page.get_textpage().get_text_range()
    finally:
        pdf.close()


def run_document_bench(log=print) -> DocumentBench:  # noqa: ANN001 - a print-like callable
    from models.documents import PageReader, iter_pages
    from models.results import DescribeOptions
    from models.text_first import TextFirst

    result = DocumentBench()
    auto = DescribeOptions(task="auto")
    specs = [full_page(1), full_page(2)]
    with tempfile.TemporaryDirectory(prefix="lumen-bench-doc-") as tmp:
        folder = Path(tmp)
        born = write_pdf(folder / "born-digital.pdf", specs)
        reader = PageReader(TextFirst())
        log("born-digital pages: the text layer")
        pages = [reader.read(page, auto) for page in iter_pages(born)]
        result.born_digital_cer = max(_cer(expected_text(s), p.caption.caption) for s, p in zip(specs, pages))
        result.text_layer_cer = max(_cer(_pdfium_text(born, n), p.caption.caption) for n, p in ((1, pages[0]), (2, pages[1])))
        result.two_column_order_text_layer = _words_in_order(expected_text(specs[1]), pages[1].caption.caption)

        log("scanned pages: rendered at 150 dpi, wrapped in an image-only PDF, read by PP-OCR")
        scan = image_only_pdf(folder / "scan.pdf", [render_page(born, n, 150.0) for n in (1, 2)], 150.0)
        reader.first.reader  # noqa: B018 - PP-OCR loaded before the clock starts, as in the window
        firsts: list[float] = []
        t = time.perf_counter()
        stream = iter_pages(scan)
        page = next(stream)
        one = reader.read(page, auto, on_settled=lambda _: firsts.append(time.perf_counter() - t))
        result.scanned_page_s = time.perf_counter() - t
        result.scanned_first_text_s = firsts[0] if firsts else result.scanned_page_s
        result.scanned_cer = _cer(expected_text(specs[0]), one.caption.caption)
        two = reader.read(next(stream), auto)
        result.scanned_two_column_cer = _cer(expected_text(specs[1]), two.caption.caption)
        result.two_column_order_scanned = _words_in_order(expected_text(specs[1]), two.caption.caption)

        log("scanned pages in the window: open, then Page Down")
        three = image_only_pdf(folder / "scan3.pdf", [render_page(born, n, 150.0) for n in (1, 2, 1)], 150.0)
        result.window = _window_pages(three, log)

        log(f"a {LONG_PAGES}-page PDF: writing it")
        long = many_pages(folder / "long.pdf", LONG_PAGES)
        log("... first page, in this process")
        t = time.perf_counter()
        stream = iter_pages(long)
        first = reader.read(next(stream), auto)
        result.long_first_page_s = time.perf_counter() - t
        assert "This is page 1." in first.caption.caption
        result.rss_mb["page 1"] = round(_rss_mb(), 1)
        for page in stream:
            reader.read(page, auto)
            if page.number in (1000, LONG_PAGES):
                result.rss_mb[f"page {page.number}"] = round(_rss_mb(), 1)
        result.long_all_pages_s = time.perf_counter() - t
        log("... first page, as a fresh `lumen describe --json` process")
        result.long_first_line_process_s = _first_line_s(long)
    result.load_average = os.getloadavg()[0]
    return result


def _window_pages(path: Path, log) -> dict[str, float]:  # noqa: ANN001 - a print-like callable
    """desktop/window/bench_pages.py on `path`, as its own process (it is a Qt window)."""
    import json

    done = subprocess.run([sys.executable, "-m", "desktop.window.bench_pages", str(path)], env=child_env(),
                          capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        log(f"... the window could not be measured: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
        return {}
    return json.loads(lines[-1])


def _first_line_s(path: Path) -> float:
    """Start `lumen describe PATH --json` and time its first line; then stop it."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "desktop.cli", "describe", str(path), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_env())
    try:
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - t
    finally:
        proc.kill()
        proc.wait()
    return elapsed if line else float("nan")


def markdown(r: DocumentBench) -> str:
    rows = [
        ("born-digital page (1 and 2 columns): CER vs the text written", f"{r.born_digital_cer:.2%}", "0"),
        ("born-digital page: CER vs PDFium's own text extraction", f"{r.text_layer_cer:.2%}", "0"),
        ("scanned A4 page, 150 dpi, PP-OCR: CER", f"{r.scanned_cer:.2%}", "< 2%"),
        ("scanned A4 page, two columns: CER", f"{r.scanned_two_column_cer:.2%}", "< 2%"),
        ("scanned A4 page: first text ready after the page is asked for", f"{r.scanned_first_text_s:.2f} s", "≤ 1.0 s"),
        ("scanned A4 page: whole page read", f"{r.scanned_page_s:.2f} s", ""),
        ("window: scan opened, page 1's first text", _seconds(r.window, "open_first_text_s"), ""),
        ("window: Page Down, the next page read ahead while this one was heard: first text",
         _seconds(r.window, "page_down_read_ahead_s"), "≤ 1.0 s"),
        ("window: Page Down the moment the page before was shown: first text",
         _seconds(r.window, "page_down_at_once_s"), ""),
        (f"{r.long_pages}-page PDF: first page's result (in process)", f"{r.long_first_page_s:.3f} s", "≤ 2 s"),
        (f"{r.long_pages}-page PDF: `lumen describe --json` start -> first line",
         f"{r.long_first_line_process_s:.2f} s", "≤ 2 s"),
        (f"{r.long_pages}-page PDF: every page streamed", f"{r.long_all_pages_s:.1f} s", ""),
        ("resident memory while streaming (MB)", ", ".join(f"{k}: {v:.0f}" for k, v in r.rss_mb.items()), "flat"),
        ("two-column page: words in column order (text layer / scanned)",
         f"{r.two_column_order_text_layer:.1%} / {r.two_column_order_scanned:.1%}", "100%"),
    ]
    lines = ["| figure | measured | goal |", "|---|---:|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + f"\n\nload average after: {r.load_average:.1f} on {os.cpu_count()} cores"


def _seconds(figures: dict[str, float], key: str) -> str:
    return f"{figures[key]:.2f} s" if key in figures else "not measured"


def as_json(r: DocumentBench) -> dict:
    return asdict(r)
