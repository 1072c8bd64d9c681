"""PDFs for `lumen bench --document` and the document tests, written with PDFium itself
(pypdfium2): standard-font text laid out in one or two columns with headings, lists and
paragraphs, pictures placed on pages, image-only "scans", and many-page files. Text is wrapped by
the width PDFium measures, so every line of a paragraph but its last is full.
"""
from __future__ import annotations

import ctypes
import io
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

A4 = (595.0, 842.0)
MARGIN = 56.0
SIZE = 11.0
LEADING = 14.0
PARAGRAPH_SPACE = 10.0

PROSE = [
    "Lumen reads documents page by page for people who cannot see them. When a page has a text "
    "layer, its words are read exactly as they were written, in the order a sighted reader follows.",
    "A scanned letter has no text layer, so the page is rendered and read by the text reader. "
    "Invoices, forms and leaflets arrive this way every day, and each page is said in turn.",
    "Figures and photos on a page are described after its text, one after another, so nothing "
    "on the page is silently skipped. Numbers such as 2026, 3.14 and 42% are kept as written.",
]


@dataclass
class Block:
    """A heading, a paragraph or a list item, placed in a column."""

    text: str
    kind: str = "paragraph"  # heading, paragraph, item


@dataclass
class PageSpec:
    columns: list[list[Block]] = field(default_factory=list)  # one or two columns of blocks
    heading: str | None = None  # across the whole width, above the columns
    pictures: list[tuple[Image.Image, tuple[float, float, float, float]]] = field(default_factory=list)
    size: tuple[float, float] = A4  # points; pictures' boxes are (x, y-from-top, w, h) in points


class _Writer:
    def __init__(self) -> None:
        self.pdf = pdfium.PdfDocument.new()
        self._fonts: dict[str, object] = {}

    def text(self, page: pdfium.PdfPage, text: str, x: float, y_top: float, size: float,
             font: str = "Helvetica") -> None:
        """Draw one line with its top at y_top (from the page's top)."""
        obj = self._text_object(text, size, font)
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, page.get_height() - y_top - size)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)

    def _text_object(self, text: str, size: float, font: str):  # noqa: ANN202 - a raw FPDF_PAGEOBJECT
        if font not in self._fonts:  # loaded once: a font per text object makes writing quadratic
            self._fonts[font] = pdfium_c.FPDFText_LoadStandardFont(self.pdf.raw, font.encode())
        obj = pdfium_c.FPDFPageObj_CreateTextObj(self.pdf.raw, self._fonts[font], ctypes.c_float(size))
        buffer = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        return obj

    def width(self, text: str, size: float, font: str = "Helvetica") -> float:
        obj = self._text_object(text, size, font)
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top)
        pdfium_c.FPDFPageObj_Destroy(obj)
        return right.value - left.value

    def wrap(self, text: str, width: float, size: float, font: str = "Helvetica") -> list[str]:
        lines: list[str] = []
        for word in text.split():
            if lines and self.width(f"{lines[-1]} {word}", size, font) <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
        return lines

    def picture(self, page: pdfium.PdfPage, picture: Image.Image, box: tuple[float, float, float, float]) -> None:
        x, y_top, w, h = box
        data = io.BytesIO()
        picture.convert("RGB").save(data, "JPEG", quality=90)
        data.seek(0)
        image = pdfium.PdfImage.new(self.pdf)
        image.load_jpeg(data, inline=True)
        image.set_matrix(pdfium.PdfMatrix().scale(w, h).translate(x, page.get_height() - y_top - h))
        page.insert_obj(image)

    def page(self, spec: PageSpec) -> None:
        width, height = spec.size
        page = self.pdf.new_page(width, height)
        y = MARGIN
        if spec.heading:
            self.text(page, spec.heading, MARGIN, y, 18, "Helvetica-Bold")
            y += 18 + 2 * PARAGRAPH_SPACE
        gutter = 36.0
        count = max(1, len(spec.columns))
        column = (width - 2 * MARGIN - gutter * (count - 1)) / count
        for i, blocks in enumerate(spec.columns):
            x, top = MARGIN + i * (column + gutter), y
            for block in blocks:
                size, font = (14.0, "Helvetica-Bold") if block.kind == "heading" else (SIZE, "Helvetica")
                for line in self.wrap(block.text, column, size, font):
                    self.text(page, line, x, top, size, font)
                    top += LEADING if size == SIZE else size + 4
                top += PARAGRAPH_SPACE
        for picture, box in spec.pictures:
            self.picture(page, picture, box)
        page.gen_content()
        page.close()

    def close(self) -> None:
        for font in self._fonts.values():
            pdfium_c.FPDFFont_Close(font)
        self.pdf.close()

    def save(self, path: Path) -> Path:
        self.pdf.save(str(path))
        self.close()
        return path


def write_pdf(path: Path, pages: list[PageSpec]) -> Path:
    writer = _Writer()
    for spec in pages:
        writer.page(spec)
    return writer.save(path)


def expected_text(spec: PageSpec) -> str:
    """What the page says, in reading order, a blank line between paragraphs."""
    parts = [spec.heading] if spec.heading else []
    parts += [block.text for blocks in spec.columns for block in blocks]
    return "\n\n".join(parts)


def full_page(columns: int = 1, repeats: int = 6) -> PageSpec:
    """An A4 page filled with paragraphs (about 40 lines in one column), a heading on top."""
    blocks = [Block(PROSE[i % len(PROSE)]) for i in range(repeats * len(PROSE))]
    if columns == 1:
        return PageSpec([blocks], "A full page of text")
    half = len(blocks) // 2
    return PageSpec([blocks[:half], blocks[half:]], "Two columns of text")


def prose_page(columns: int = 1, heading: str | None = "Reading documents aloud") -> PageSpec:
    """A page of headings, paragraphs and list items, in one or two columns."""
    first = [Block("How it works", "heading"), Block(PROSE[0]), Block(PROSE[1])]
    second = [Block("What you can do", "heading"), Block("- Move to the next page with Page Down.", "item"),
              Block("- Read the current page again with Ctrl+T.", "item"), Block(PROSE[2])]
    return PageSpec([first, second] if columns == 2 else [first + second], heading)


def image_only_pdf(path: Path, pictures: list[Image.Image], dpi: float = 150.0) -> Path:
    """A "scanned" PDF: each picture fills one page at `dpi`, with no text layer."""
    writer = _Writer()
    for picture in pictures:
        size = (picture.width * 72.0 / dpi, picture.height * 72.0 / dpi)
        page = writer.pdf.new_page(*size)
        writer.picture(page, picture, (0.0, 0.0, *size))
        page.gen_content()
        page.close()
    return writer.save(path)


def render_page(path: Path, number: int = 1, dpi: float = 150.0) -> Image.Image:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return pdf[number - 1].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        pdf.close()


def many_pages(path: Path, count: int, chunk: int = 100) -> Path:
    """A `count`-page PDF, each page its own: a line that names its number, then a paragraph.
    Written `chunk` pages to a document and joined: PDFium's content generation slows with every
    page of the document it writes into (2,000 pages in one: minutes; in chunks: seconds)."""
    width, height = A4
    joined = pdfium.PdfDocument.new()
    for start in range(1, count + 1, chunk):
        writer = _Writer()
        wrapped = [writer.wrap(text, width - 2 * MARGIN, SIZE) for text in PROSE]
        for n in range(start, min(count, start + chunk - 1) + 1):
            page = writer.pdf.new_page(width, height)
            writer.text(page, f"This is page {n}.", MARGIN, MARGIN, SIZE)
            for i, line in enumerate(wrapped[n % len(PROSE)]):
                writer.text(page, line, MARGIN, MARGIN + PARAGRAPH_SPACE + LEADING * (i + 1), SIZE)
            page.gen_content()
            page.close()
        joined.import_pages(writer.pdf)
        writer.close()
    joined.save(str(path))
    joined.close()
    return path


def zero_page_pdf(path: Path) -> Path:
    return _Writer().save(path)
