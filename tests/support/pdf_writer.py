"""PDFs for the document tests: export/benchmark/pdf_pages.py writes them with PDFium (the bench
uses the same pages); encrypted copies are made here with pypdf (a dev dependency: PDFium cannot
write encryption)."""
from __future__ import annotations

from pathlib import Path

from export.benchmark.pdf_pages import (  # noqa: F401 - re-exported for the tests
    A4, PROSE, Block, PageSpec, expected_text, full_page, image_only_pdf, many_pages, prose_page, render_page,
    write_pdf, zero_page_pdf,
)


def encrypted_copy(source: Path, path: Path, password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.encrypt(user_password=password, owner_password=None, algorithm="RC4-128")
    with open(path, "wb") as f:
        writer.write(f)
    return path
