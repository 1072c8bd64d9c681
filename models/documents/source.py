"""Documents opened page by page: PDFs through PDFium (pypdfium2), multi-page TIFFs through Pillow.

Nothing here holds the whole document: PDFium reads a PDF file lazily, and each page is loaded,
read and let go when asked for, so the first page of a 2,000-page file comes at once and memory
stays flat while the rest stream. PDFium is not thread-safe, even across documents: every call
into it holds one lock.
"""
from __future__ import annotations

import io
import os
import threading
from contextlib import contextmanager
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from models.documents.selection import parse_pages
from models.documents.text_layer import Figure, figures, text_lines
from models.errors import DocumentError, DocumentPasswordError, ImageError
from models.image_io import MAX_SIDE, load_image, quiet_pillow
from models.ocr.layout import TextLine, reading_order

# Pages without a text layer are rendered at this resolution and read by PP-OCR: an A4 page is
# then 1240 x 1754 pixels, inside the detector's 2000-pixel limit (models/ocr/detect.py).
RENDER_DPI = 150.0
PDF_SUFFIXES = (".pdf",)
TIFF_SUFFIXES = (".tif", ".tiff")
_PDFIUM = threading.RLock()

Source = str | os.PathLike[str] | bytes


@dataclass
class Page:
    """One page: its number (1-based) of `pages`, its text layer in reading order (PDF) and the
    figures placed on it. `picture()` renders it (the page keeps its document open for that)."""

    number: int
    pages: int
    name: str
    size: tuple[int, int]  # width, height in pixels at `dpi`
    dpi: float
    lines: list[TextLine] = field(default_factory=list)  # text layer, reading order, pixel boxes
    paragraphs: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    error: DocumentError | None = None  # this page could not be read; the others still can
    _document: Document | None = field(default=None, repr=False)
    _picture: Image.Image | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The text layer, a blank line between paragraphs ("" when the page has none)."""
        return "\n\n".join(self.paragraphs)

    @property
    def has_text_layer(self) -> bool:
        return any(any(c.isalnum() for c in t.text) for t in self.lines)

    @property
    def text_chars(self) -> int:
        return sum(len(t.text) for t in self.lines)

    def picture(self) -> Image.Image:
        """The page as an RGB picture at `dpi` (kept once made)."""
        if self._picture is None:
            if self._document is None:
                raise DocumentError(f"Page {self.number} of {self.name} cannot be shown: open the document again.")
            self._picture = self._document.render(self.number)
        return self._picture

    def figure_picture(self, figure: Figure) -> Image.Image:
        x0, y0, x1, y1 = (round(v) for v in figure.box)
        return self.picture().crop((x0, y0, x1, y1))


def _shown(source: Source) -> str:
    return "the document" if isinstance(source, bytes) else Path(source).name or str(source)


def _kind(source: Source) -> str | None:
    """'pdf', 'tiff' or None, from the first bytes (and a .pdf name for a damaged PDF)."""
    if isinstance(source, bytes):
        head = source[:1024]
    else:
        try:
            with open(source, "rb") as f:
                head = f.read(1024)
        except OSError:
            return None
    if b"%PDF-" in head:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if not isinstance(source, bytes) and Path(source).suffix.lower() in PDF_SUFFIXES:
        return "pdf"
    return None


def is_document(source: Source) -> bool:
    """A PDF (or a file named .pdf), or a TIFF with more than one page: read page by page.
    A one-page TIFF stays a picture (models/image_io.py)."""
    kind = _kind(source)
    if kind != "tiff":
        return kind == "pdf"
    try:  # quietly: a broken TIFF makes Pillow warn and libtiff print, and its error comes later
        with quiet_pillow(), Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return getattr(image, "n_frames", 1) > 1
    except Exception:  # noqa: BLE001 - a broken TIFF is left to the picture path's own error
        return False


def _check_file(source: Source) -> None:
    if isinstance(source, bytes):
        if not source:
            raise DocumentError("The document is empty: copy or save it again and retry.")
        return
    path = Path(source)
    if not path.exists():
        raise DocumentError(f"Cannot find the file {path}: check the path and try again.")
    if path.is_dir():
        raise DocumentError(f"{path} is a folder, not a document: choose a file inside it.")
    if not os.access(path, os.R_OK):
        raise DocumentError(f"Permission denied for {path}: check that you may read this file.")


class Document:
    """An open PDF or multi-page TIFF. Use as a context manager, or close() it."""

    def __init__(self, source: Source, *, password: str | None = None, dpi: float = RENDER_DPI) -> None:
        _check_file(source)
        self.name = _shown(source)
        self.dpi = dpi
        self.kind = _kind(source)
        if self.kind == "pdf":
            self._pdf = self._open_pdf(source, password)
            self._tiff = None
            with _PDFIUM:
                self.pages = len(self._pdf)
        elif self.kind == "tiff":
            self._pdf = None
            try:
                with quiet_pillow():
                    self._tiff = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
                    self.pages = getattr(self._tiff, "n_frames", 1)
            except Exception as e:  # noqa: BLE001 - Pillow raises many types on broken files
                raise DocumentError(f"{self.name} is a damaged TIFF: save it again and retry.") from e
        else:
            raise DocumentError(f"{self.name} is not a PDF or a TIFF: choose a PDF, a TIFF or a picture.")
        if self.pages < 1:
            self.close()
            raise DocumentError(f"{self.name} has no pages: there is nothing to read in it.")

    def _open_pdf(self, source: Source, password: str | None):  # noqa: ANN202 - pypdfium2.PdfDocument
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        try:
            with _PDFIUM:
                _prime_last_error(pdfium_c)
                return pdfium.PdfDocument(source if isinstance(source, bytes) else str(source), password=password)
        except pdfium.PdfiumError as e:
            code = getattr(e, "err_code", None)
            if code == pdfium_c.FPDF_ERR_FILE and (isinstance(source, bytes) or os.access(source, os.R_OK)):
                # PDFium refused a readable file without saying why: it does so for an empty page tree.
                raise DocumentError(f"{self.name} has no pages: there is nothing to read in it.") from e
            if code == pdfium_c.FPDF_ERR_PASSWORD:
                if password:
                    raise DocumentPasswordError(f"The password for {self.name} is wrong: check it and try again.") from e
                raise DocumentPasswordError(f"{self.name} is locked with a password: give its password to open it.") from e
            if code == pdfium_c.FPDF_ERR_SECURITY:
                raise DocumentError(f"{self.name} uses a kind of protection Lumen cannot open: "
                                    "save an unprotected copy and retry.") from e
            if code == pdfium_c.FPDF_ERR_FILE:
                raise DocumentError(f"Cannot open {self.name}: check the path and that you may read it.") from e
            raise DocumentError(f"{self.name} is damaged or not a PDF: open it in a PDF viewer, "
                                "save it again and retry.") from e

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pdf is not None:
            with _PDFIUM:
                self._pdf.close()
            self._pdf = None
        if self._tiff is not None:
            self._tiff.close()
            self._tiff = None

    def select(self, pages: str | Sequence[int] | None = None) -> list[int]:
        """Page numbers to read: all, a spec like "1-3,7", or numbers (checked)."""
        if pages is None:
            return list(range(1, self.pages + 1))
        if isinstance(pages, str):
            return parse_pages(pages, self.pages)
        return parse_pages(",".join(str(n) for n in pages), self.pages)

    def _scale(self, width_pt: float, height_pt: float) -> float:
        scale = self.dpi / 72.0
        return min(scale, MAX_SIDE / max(width_pt, height_pt, 1.0))

    def page(self, number: int, picture: Image.Image | None = None) -> Page:
        """Page `number` (1-based), its text layer and figures read; never raises for a page
        that is damaged: its `error` says why. `picture`: the page already rendered (at this
        document's dpi), used instead of rendering it again."""
        if not 1 <= number <= self.pages:
            raise DocumentError(f"Page {number} is past the end: {self.name} has {self.pages} pages.")
        try:
            if self._tiff is not None:
                return self._tiff_page(number) if picture is None else Page(
                    number, self.pages, self.name, picture.size, self.dpi, _document=self, _picture=picture)
            page = self._pdf_page(number)
            page._picture = picture
            return page
        except DocumentError as e:
            return Page(number, self.pages, self.name, (0, 0), self.dpi, error=e)

    @contextmanager
    def _opened_pdf_page(self, number: int, doing: str) -> Iterator[tuple[object, float, float, float]]:
        """PDF page `number` (pypdfium2's PdfPage), its size in points and the render scale,
        under the PDFium lock, closed afterwards; PDFium's failures become one DocumentError."""
        if self._pdf is None:
            raise DocumentError(f"{self.name} was closed: open it again.")
        try:
            with _PDFIUM:
                page = self._pdf[number - 1]
                try:
                    width, height = page.get_size()
                    yield page, width, height, self._scale(width, height)
                finally:
                    page.close()
        except Exception as e:  # noqa: BLE001 - PDFium and ctypes raise several types
            raise DocumentError(f"Page {number} of {self.name} cannot be {doing}: the file is damaged there.") from e

    def _pdf_page(self, number: int) -> Page:
        with self._opened_pdf_page(number, "read") as (page, width, height, scale):
            pieces = text_lines(page, scale)
            placed = figures(page, scale)
        ordered, paragraphs = reading_order(pieces)
        return Page(number, self.pages, self.name, (round(width * scale), round(height * scale)), self.dpi,
                    ordered, paragraphs, placed, _document=self)

    def _tiff_page(self, number: int) -> Page:
        picture = self._tiff_frame(number)
        return Page(number, self.pages, self.name, picture.size, self.dpi, _document=self, _picture=picture)

    def _tiff_frame(self, number: int) -> Image.Image:
        if self._tiff is None:
            raise DocumentError(f"{self.name} was closed: open it again.")
        try:
            self._tiff.seek(number - 1)
            frame = self._tiff.copy()
            return load_image(frame)
        except ImageError as e:
            raise DocumentError(f"Page {number} of {self.name} cannot be read: {e}") from e
        except Exception as e:  # noqa: BLE001 - Pillow raises many types on broken frames
            raise DocumentError(f"Page {number} of {self.name} cannot be read: the file is damaged there.") from e

    def render(self, number: int) -> Image.Image:
        """Page `number` as an RGB picture at the document's dpi (at most MAX_SIDE pixels a side)."""
        if self._tiff is not None:
            return self._tiff_frame(number)
        with self._opened_pdf_page(number, "shown") as (page, _, _, scale):
            bitmap = page.render(scale=scale, may_draw_forms=True)
            picture = bitmap.to_pil().convert("RGB")
            bitmap.close()
        return picture


def _prime_last_error(pdfium_c) -> None:  # noqa: ANN001 - pypdfium2.raw
    """Set PDFium's last error to FPDF_ERR_FILE (a missing file) before a load.

    PDFium keeps its last error across calls (a successful load does not clear it) and does not
    set one when it refuses a document with no pages: without this, an earlier locked PDF's
    "password" error would be reported for an empty one."""
    missing = os.path.join(os.path.dirname(os.path.abspath(__file__)), "no such file.pdf").encode()
    handle = pdfium_c.FPDF_LoadDocument(missing, None)
    if handle:  # cannot happen unless someone made that file; never leak it
        pdfium_c.FPDF_CloseDocument(handle)


def iter_pages(source: Source, pages: str | Sequence[int] | None = None, password: str | None = None,
               *, dpi: float = RENDER_DPI) -> Iterator[Page]:
    """The document's pages in order (or those of `pages`, e.g. "1-3,7"), one at a time.

    Raises DocumentError (DocumentPasswordError for a password) before the first page when
    the document cannot be opened or `pages` is wrong; a damaged page comes with its `error`
    set and the next pages still come."""
    document = Document(source, password=password, dpi=dpi)
    # Not closed here: a page kept after the loop (or after `next(iter_pages(...))`) can still
    # render; the document closes when its last page is let go (PDFium's handles are freed then).
    for number in document.select(pages):
        yield document.page(number)
