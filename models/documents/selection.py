"""Page selection: "1-3,7" -> [1, 2, 3, 7] (1-based, in the order written, each page once)."""
from __future__ import annotations

import re

from models.errors import DocumentError

_PART = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d*)\s*)?$")


def parse_pages(spec: str, total: int | None = None) -> list[int]:
    """The pages of `spec` ("1-3,7", "4-" for 4 to the end); with `total`, each is checked
    against the document's length. Raises DocumentError with one sentence on a bad spec."""
    pages: list[int] = []
    seen: set[int] = set()
    for part in spec.split(","):
        match = _PART.match(part)
        if not match:
            raise DocumentError(f"Cannot read the page selection {spec!r}: write pages like 1-3,7.")
        first = int(match.group(1))
        if match.group(2) is None:
            last = first
        elif match.group(3):
            last = int(match.group(3))
        elif total is not None:
            last = total
        else:
            last = first  # "4-" without a known length: checked again once the document is open
        if first < 1 or last < first:
            raise DocumentError(f"The page range {part.strip()!r} is empty: pages are numbered from 1, "
                                "write ranges low to high like 2-5.")
        if total is not None and last > total:
            raise DocumentError(f"Page {last} is past the end: the document has {total} "
                                f"page{'s' if total != 1 else ''}.")
        for n in range(first, last + 1):
            if n not in seen:
                seen.add(n)
                pages.append(n)
    return pages
