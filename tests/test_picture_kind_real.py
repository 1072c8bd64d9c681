"""The picture-kind check (blank / text / photo) on real pictures, not only generated ones: the
photographs that ship inside scikit-image, and screenshots of real programs on Xvfb (a terminal,
a GTK dialog, a text editor, a browser page, Lumen's own window, a picture viewer showing a
photograph). Each program starts once, all side by side on their own displays.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.picture_kind import text_coverage
from models.text_first import TextFirst
from tests.support.real_screens import INSTALL, ProgramScreen, missing_tools, programs

try:
    import skimage.data
except ImportError:  # a declared dev dependency: fail with the fix, never skip
    pytest.fail("scikit-image is missing: pip install -e '.[dev]'", pytrace=False)

SKIMAGE = Path(skimage.data.__file__).parent
# scikit-image's own pictures (files in its wheel) and what the check must answer. Photographs,
# and drawings (a silhouette, a phantom, a logo, a chessboard) that the caption model describes;
# "text" is a photograph of handwritten formulas (PP-OCR cannot read handwriting); "page" is a
# photographed page of a book.
SKIMAGE_KINDS = {
    "astronaut.png": "photo", "coffee.png": "photo", "chelsea.png": "photo", "rocket.jpg": "photo",
    "camera.png": "photo", "coins.png": "photo", "moon.png": "photo", "hubble_deep_field.jpg": "photo",
    "ihc.png": "photo", "retina.jpg": "photo", "motorcycle_left.png": "photo", "grass.png": "photo",
    "gravel.png": "photo", "brick.png": "photo", "cell.png": "photo", "clock_motion.png": "photo",
    "microaneurysms.png": "photo", "text.png": "photo", "horse.png": "photo", "phantom.png": "photo",
    "logo.png": "photo", "color.png": "photo", "chessboard_RGB.png": "photo", "page.png": "text",
}


@pytest.fixture(scope="module")
def first() -> TextFirst:
    return TextFirst()


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ProgramScreen]]:
    missing = missing_tools()
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: {INSTALL}", pytrace=False)
    work = tmp_path_factory.mktemp("screens")
    started: list[ProgramScreen] = []
    try:
        for program in programs(work, SKIMAGE / "chelsea.png"):
            started.append(ProgramScreen(program, work))
        yield started
    finally:
        for screen in started:
            screen.close()


def test_photographs_shipped_with_scikit_image(first: TextFirst) -> None:
    assert {p.name for p in SKIMAGE.iterdir()} >= set(SKIMAGE_KINDS)
    wrong = []
    for name, expected in SKIMAGE_KINDS.items():
        kind = first.classify(Image.open(SKIMAGE / name))[0]
        if kind.kind != expected:
            wrong.append(f"{name}: {kind}")
    assert not wrong, wrong


def test_screenshots_of_real_programs(first: TextFirst, screens: list[ProgramScreen],
                                      tmp_path: Path) -> None:
    wrong = []
    for screen in screens:
        whole, window = screen.shot()
        for part, picture in (("screen", whole), ("window", window)):
            kind = first.classify(picture)[0]
            if kind.kind != screen.program.kind:
                picture.save(tmp_path / f"{screen.program.name} {part}.png")
                wrong.append(f"{screen.program.name}, {part}: {kind}")
    assert not wrong, f"{wrong} (pictures in {tmp_path})"


def test_text_boxes_are_lines_not_shapes() -> None:
    def box(x: int, y: int, w: int, h: int) -> np.ndarray:
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=float)

    # A silhouette's dark body: tall and not long, not a line of text.
    assert text_coverage(np.array([box(0, 131, 188, 185)]), (400, 328)) == 0.0
    # A region around one line of text: as tall as the picture but long.
    assert text_coverage(np.array([box(5, 2, 300, 40)]), (310, 44)) > 0.8
    # Ordinary lines on a page.
    assert text_coverage(np.array([box(10, 10, 200, 20), box(10, 40, 180, 20)]), (400, 300)) > 0.05
