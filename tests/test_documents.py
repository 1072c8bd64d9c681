"""Documents page by page (models/documents): PDFs written by PDFium, image-only "scans", TIFFs,
read with the real PP-OCR weights and a tiny exported Florence-2; bad documents."""
from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest
from PIL import Image, ImageDraw

from models.documents import Document, PageReader, is_document, iter_pages, parse_pages
from models.errors import DocumentError, DocumentPasswordError, LumenError
from models.results import DescribeOptions
from models.text_first import NoDescriptionModel, TextFirst
from tests.support.pdf_writer import (
    Block, PageSpec, encrypted_copy, expected_text, image_only_pdf, many_pages, prose_page, render_page,
    write_pdf, zero_page_pdf,
)
from tests.support.text_pages import SANS, font


def words(text: str) -> list[str]:
    return text.split()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture(scope="module")
def born_digital(folder: Path) -> Path:
    return write_pdf(folder / "report.pdf", [prose_page(1), prose_page(2), prose_page(1, heading="Third")])


@pytest.fixture(scope="module")
def first() -> TextFirst:
    return TextFirst()


def test_text_layer_is_the_page_exactly_with_paragraphs_and_two_columns_in_order(born_digital: Path) -> None:
    pages = list(iter_pages(born_digital))
    assert [(p.number, p.pages) for p in pages] == [(1, 3), (2, 3), (3, 3)]
    for page, spec in zip(pages, [prose_page(1), prose_page(2), prose_page(1, heading="Third")]):
        assert page.has_text_layer and page.error is None
        assert page.text == expected_text(spec)  # headings, items, paragraphs; blank lines between
    two = pages[1].text
    # Column by column: everything of the left column before the right column's heading.
    assert two.index("each page is said in turn.") < two.index("What you can do")


def test_pages_stream_one_at_a_time(folder: Path, monkeypatch) -> None:
    path = many_pages(folder / "long.pdf", 300)
    loaded: list[int] = []
    original = Document.page
    monkeypatch.setattr(Document, "page", lambda self, n: loaded.append(n) or original(self, n))
    stream = iter_pages(path)
    first_page = next(stream)
    assert first_page.number == 1 and first_page.pages == 300 and loaded == [1]
    assert "This is page 1." in first_page.text
    assert [p.number for p in stream][-1] == 300 and loaded == list(range(1, 301))


def test_page_selection(born_digital: Path) -> None:
    assert parse_pages("1-3,7", 9) == [1, 2, 3, 7]
    assert parse_pages("4-", 6) == [4, 5, 6]
    assert parse_pages("2,2,1") == [2, 1]
    assert [p.number for p in iter_pages(born_digital, "3,1")] == [3, 1]
    for bad, says in [("1-x", "write pages like 1-3,7"), ("0", "numbered from 1"), ("3-2", "low to high"),
                      ("4", "Page 4 is past the end: the document has 3 pages.")]:
        with pytest.raises(DocumentError, match=says):
            list(iter_pages(born_digital, bad))


def test_bad_documents_are_one_sentence_each(folder: Path, born_digital: Path) -> None:
    data = born_digital.read_bytes()
    truncated = folder / "truncated.pdf"
    truncated.write_bytes(data[:len(data) // 3])
    garbage = folder / "notes.pdf"
    garbage.write_text("this is not a PDF")
    locked = encrypted_copy(born_digital, folder / "locked.pdf", "sesame")
    cases = [
        (garbage, None, DocumentError, "notes.pdf is damaged or not a PDF"),
        (locked, None, DocumentPasswordError, "locked.pdf is locked with a password"),
        (locked, "wrong", DocumentPasswordError, "The password for locked.pdf is wrong"),
        (zero_page_pdf(folder / "empty.pdf"), None, DocumentError, "empty.pdf has no pages"),
        (folder / "missing.pdf", None, DocumentError, "Cannot find the file"),
        (folder, None, DocumentError, "is a folder"),
    ]
    for path, password, error, says in cases:
        with pytest.raises(error, match=says) as caught:
            list(iter_pages(path, password=password))
        assert "\n" not in str(caught.value) and caught.value.exit_code == 2
    # A truncated file: PDFium repairs what it can; whatever is lost is one sentence, never a crash.
    try:
        for page in iter_pages(truncated):
            assert page.error is None or "cannot be read" in str(page.error)
    except DocumentError as e:
        assert "truncated.pdf is damaged" in str(e)
    assert [p.text for p in iter_pages(locked, password="sesame")] == [p.text for p in iter_pages(born_digital)]


def test_what_is_a_document(folder: Path, born_digital: Path) -> None:
    pages = [Image.new("RGB", (60, 40), "white"), Image.new("RGB", (60, 40), "black")]
    tiff = folder / "two.tiff"
    pages[0].save(tiff, save_all=True, append_images=pages[1:])
    one = folder / "one.tiff"
    pages[0].save(one)
    assert is_document(born_digital) and is_document(born_digital.read_bytes()) and is_document(tiff)
    assert not is_document(one) and not is_document(folder / "missing.png")


def _text_picture(lines: list[str], size: tuple[int, int] = (900, 400)) -> Image.Image:
    picture = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(picture)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 48 * i), line, fill="black", font=font(SANS, 30))
    return picture


def test_multi_page_tiff_pages_are_read_by_ppocr(folder: Path, first: TextFirst) -> None:
    lines = [["The first page of the fax."], ["Second page, signed by hand."]]
    tiff = folder / "fax.tiff"
    frames = [_text_picture(t) for t in lines]
    frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    reader = PageReader(first)
    results = [reader.read(page, DescribeOptions(task="auto")) for page in iter_pages(tiff)]
    assert [r.heading for r in results] == ["Page 1 of 2", "Page 2 of 2"]
    assert [r.caption.caption for r in results] == [t[0] for t in lines]
    assert all(r.caption.kind == "text" and not r.text_layer for r in results)


def test_scanned_page_is_rendered_and_read_in_reading_order(folder: Path, first: TextFirst) -> None:
    spec = PageSpec([[Block("Dear reader,"), Block("Your parcel arrives on Monday morning. Please be at home "
                                                  "between nine and noon to sign for it.")]],
                    heading="Delivery notice", size=(420.0, 260.0))
    source = write_pdf(folder / "letter.pdf", [spec])
    scan = image_only_pdf(folder / "scan.pdf", [render_page(source, dpi=150)], dpi=150)
    page = next(iter_pages(scan))
    assert not page.has_text_layer
    heard: list[str] = []
    result = PageReader(first).read(page, DescribeOptions(task="auto"), on_settled=heard.append)
    expected = expected_text(spec)
    assert jiwer.cer(expected, result.caption.caption) < 0.02, result.caption.caption
    assert result.caption.caption.count("\n\n") == expected.count("\n\n")  # paragraphs kept
    assert heard and result.caption.caption.startswith(heard[0].split("\n")[0])


def test_text_with_figures_gives_the_text_then_each_figure(folder: Path, first: TextFirst,
                                                         tiny_florence2_onnx: Path) -> None:
    from models.captioner import Captioner

    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    spec = prose_page(1)
    spec.pictures = [(photo, (56.0, 560.0, 200.0, 150.0)), (photo, (300.0, 560.0, 200.0, 150.0))]
    picture_page = PageSpec([[Block("A photo of the harbour.")]], pictures=[(photo, (40.0, 80.0, 515.0, 600.0))])
    path = write_pdf(folder / "figures.pdf", [spec, picture_page])
    captioner = Captioner.load(tiny_florence2_onnx)
    options = DescribeOptions(task="auto", max_tokens=6)
    text_page, photo_page = list(iter_pages(path))
    result = PageReader(first, captioner).read(text_page, options)
    assert result.text_layer and len(result.figures) == 2
    alone = captioner.describe(text_page.figure_picture(text_page.figures[0]),
                               DescribeOptions(task="caption", max_tokens=6)).caption.strip()
    assert result.figures[0].caption == alone
    assert result.caption.caption == "\n\n".join([expected_text(spec)] + [f"Figure: {f.caption}" for f in result.figures])
    data = result.to_json("figures.pdf")
    assert (data["page"], data["pages"], data["text_layer"], len(data["figures"])) == (1, 2, True, 2)
    assert PageReader(first).read(text_page, options).caption.caption.endswith(
        "Figure: not described, no description model is installed.")
    described = PageReader(first, captioner).read(photo_page, options)
    assert described.caption.kind == "photo" and described.caption.caption.endswith("A photo of the harbour.")
    with pytest.raises(NoDescriptionModel):
        PageReader(first).read(photo_page, options)


def test_a_damaged_page_is_reported_and_the_next_pages_still_come(born_digital: Path, monkeypatch, first) -> None:
    import models.documents.source as source

    real = source.text_lines

    def text_lines(page, scale):  # page 3 (headed "Third") fails as a damaged content stream does
        lines = real(page, scale)
        if lines[0].text == "Third":
            raise ValueError("bad stream")
        return lines

    monkeypatch.setattr(source, "text_lines", text_lines)
    pages = list(iter_pages(born_digital, "1,3,2"))
    assert [p.error is None for p in pages] == [True, False, True]
    assert str(pages[1].error) == "Page 3 of report.pdf cannot be read: the file is damaged there."
    with pytest.raises(LumenError, match="Page 3 of report.pdf"):
        PageReader(first).read(pages[1])


def test_two_columns_whose_paragraph_gaps_line_up_are_read_column_by_column() -> None:
    """As PP-OCR boxes a scanned two-column page: a heading above, paragraph gaps at the same
    heights in both columns (a band across the page at each one), a wider gutter."""
    from models.ocr.layout import TextLine, reading_order

    lines = [TextLine("Heading", 0.99, (100, 100, 400, 127))]
    for column, x in (("left", 100), ("right", 640)):
        for paragraph in range(3):
            for row in range(3):
                y = 163 + paragraph * 110 + row * 30
                width = 440 if row < 2 else 200
                lines.append(TextLine(f"{column} {paragraph} {row}", 0.99, (x, y, x + width, y + 27)))
    _, paragraphs = reading_order(lines)
    assert paragraphs == ["Heading"] + [f"{c} {p} 0 {c} {p} 1 {c} {p} 2" for c in ("left", "right") for p in range(3)]


def test_bench_word_order_counts_order_not_misreadings() -> None:
    from export.benchmark.documents import _words_in_order

    page = "one two three four five six one two three"
    assert _words_in_order(page, page) == 1.0
    assert _words_in_order(page, "one two tree four five six one two three") == 1.0  # misread, in order
    assert _words_in_order(page, "four five six one two three one two three") == 6 / 9  # a column late
