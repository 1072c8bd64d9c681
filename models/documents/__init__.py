"""Documents read page by page: PDFs (PDFium through pypdfium2) and multi-page TIFFs (Pillow).

The API other parts use (CLI, `lumen batch`, the HTTP API, the window):

    for page in iter_pages(path, pages="1-3,7", password=None):   # lazily, in page order
        result = PageReader(TextFirst(config), captioner).read(page, DescribeOptions(task="auto"))
        result.to_json(str(path))   # lumen describe --json's object with page, pages, figures

No Qt.
"""
from models.documents.reading import FigureResult, PageReader, PageResult
from models.documents.selection import parse_pages
from models.documents.source import RENDER_DPI, Document, Page, is_document, iter_pages
from models.documents.text_layer import Figure

__all__ = ["RENDER_DPI", "Document", "Figure", "FigureResult", "Page", "PageReader", "PageResult",
           "is_document", "iter_pages", "parse_pages"]
