"""The picture's kind (blank, text, photo) on screenshot-like, photo-like and blank pictures,
with the real PP-OCR detector; and `lumen describe --task auto|ocr` without a description model."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from models.ocr import TextReader
from models.picture_kind import GLANCE_TEXT_COVERAGE, decide, text_coverage
from models.text_first import TEXT_INTRO, TextFirst
from tests.support.text_pages import SANS, blank, font, photo_like, text_pages

ROOT = Path(__file__).resolve().parent.parent


def photo_with_a_sign(seed: int) -> Image.Image:
    """A photo-like picture with a little text in it (a sign): still a photo."""
    image = photo_like(seed)
    draw = ImageDraw.Draw(image)
    draw.rectangle((500, 60, 760, 110), fill="white")
    draw.text((515, 70), "EXIT 12", font=font(SANS, 28), fill="black")
    return image


def labelled_pictures() -> list[tuple[str, str, Image.Image]]:
    pictures = [("text", p.name, p.image) for p in text_pages()]
    pictures += [("photo", f"photo-like {i}", photo_like(i)) for i in range(10)]
    pictures += [("photo", f"photo with a sign {i}", photo_with_a_sign(i)) for i in range(3)]
    pictures += [("blank", f"{colour} noise {noise}", blank(colour, noise=noise, seed=i))
                 for i, (colour, noise) in enumerate((("black", 0), ("white", 0), ("black", 3),
                                                      ("#1e1e1e", 2), ("#3a6ea5", 0), ("white", 4)))]
    # Near-blank: a black screen with only the pointer on it.
    pointer = blank("black")
    ImageDraw.Draw(pointer).polygon([(600, 400), (600, 425), (607, 418), (616, 430)], fill="white")
    pictures.append(("blank", "black screen with a pointer", pointer))
    return pictures


@pytest.fixture(scope="module")
def first() -> TextFirst:
    return TextFirst()


def test_kind_is_right_on_screens_photos_and_blank_pictures(first: TextFirst) -> None:
    confusion: dict[tuple[str, str], int] = {}
    wrong = []
    for expected, name, image in labelled_pictures():
        kind = first.classify(image)[0]
        confusion[(expected, kind.kind)] = confusion.get((expected, kind.kind), 0) + 1
        if kind.kind != expected:
            wrong.append(f"{name}: {kind}")
    per_kind = {k: f"{confusion.get((k, k), 0)}/{sum(v for (e, _), v in confusion.items() if e == k)}"
                for k in ("text", "photo", "blank")}
    print("kind right:", per_kind)
    assert not wrong, wrong


def photographed_page(seed: int) -> Image.Image:
    """A page of prose as a camera gives it: larger, soft, darker and grainy (not flat)."""
    rng = np.random.default_rng(seed)
    page = text_pages()[1].image.convert("RGB")
    page = page.resize((page.width * 2, page.height * 2), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1.6))
    pixels = np.asarray(page, np.float32) * 0.85 + rng.normal(0, 6, (page.height, page.width, 3)) + 20
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_a_photograph_is_told_at_a_glance_and_a_page_gets_the_full_look() -> None:
    """The kind check of a picture that is not flat runs the detector on a small copy first
    (TextReader.glance); only a likely page of text is looked at in full. The glance must never
    see less text than the full look, or it would turn pages into photographs."""
    looks: list[tuple[str, tuple[int, int]]] = []

    class Watched(TextReader):  # the real reader; only which look ran, and on what size, is noted
        def glance(self, image):  # noqa: ANN001, ANN202
            looks.append(("glance", image.size))
            return super().glance(image)

        def detect(self, image, **how):  # noqa: ANN001, ANN003, ANN202
            looks.append(("detect", image.size))
            return super().detect(image, **how)

    first = TextFirst(reader_factory=lambda config: Watched(config=config))
    photo = photo_like(3, (1280, 900))
    assert first.classify(photo)[0].kind == "photo"
    assert [look for look, _ in looks] == ["glance"]

    looks.clear()
    page = photographed_page(0)
    kind = first.classify(page)[0]
    assert [look for look, _ in looks] == ["glance", "detect"]
    found, scale = first.reader.glance(page)
    _, full, full_scale = first.reader.detect(page, quick=True)
    glanced, seen = text_coverage(found.boxes / scale, page.size), text_coverage(full.boxes / full_scale, page.size)
    print(f"photographed page {page.size}: coverage at a glance {glanced:.3f}, in full {seen:.3f}: {kind.kind}")
    assert glanced >= GLANCE_TEXT_COVERAGE and glanced >= seen * 0.9
    assert kind.kind == decide(kind.far_share, kind.flat_share, seen, kind.mean).kind


def test_blank_pictures_are_never_captioned(first: TextFirst) -> None:
    class Captioner:  # any call would be a caption of a blank picture
        def describe(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            raise AssertionError("a blank picture was sent to the description model")

    from models.results import DescribeOptions

    black = first.describe(blank("black", noise=2), DescribeOptions(), Captioner(), screen=True)
    assert (black.kind, black.task, black.caption) == ("blank", "none", "The screen is black.")
    white = first.describe(blank("white"), DescribeOptions(), Captioner())
    assert white.caption == "The picture is blank, all white."


def _lumen(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "LUMEN_DATA_DIR": str(tmp_path / "data"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_reads_text_and_names_kinds_without_a_description_model(tmp_path: Path) -> None:
    dialog = tmp_path / "dialog.png"
    text_pages()[6].image.save(dialog)
    black = tmp_path / "black.png"
    blank("black").save(black)
    photo = tmp_path / "photo.png"
    photo_like(1).save(photo)

    ocr = _lumen("describe", "--task", "ocr", str(dialog), tmp_path=tmp_path)
    assert ocr.returncode == 0, ocr.stderr
    assert ocr.stdout.splitlines()[-3:] == ["Save", "Don't Save", "Cancel"]

    auto = _lumen("describe", "--task", "auto", "--json", str(dialog), str(black), str(photo),
                  tmp_path=tmp_path)
    assert auto.returncode == 3  # the photo needs a description model (more serious than 11); the rest is done
    rows = [json.loads(line) for line in auto.stdout.splitlines()]
    assert [(r["kind"], r["task"]) for r in rows] == [("text", "ocr"), ("blank", "none")]
    assert rows[0]["caption"].startswith(TEXT_INTRO + "\nSave changes")
    assert rows[0]["lines"][0]["text"] == "Save changes" and len(rows[0]["lines"][0]["box"]) == 4
    assert rows[1]["caption"] == "The picture is blank, all black."
    assert "photo.png: this picture is a photo and no description model is installed" in auto.stderr


def test_a_screen_of_text_is_heard_from_its_first_lines_on(first: TextFirst) -> None:
    # The window speaks settled text: a screen of text starts with the intro and its first lines
    # while the rest is still being read (the description model comes last, if at all).
    from models.results import DescribeOptions

    page = next(p for p in text_pages() if p.name == "two columns")
    settled: list[str] = []
    caption = first.describe(page.image, DescribeOptions(), None, screen=True, on_settled=settled.append)
    assert caption.kind == "text" and caption.caption.startswith(f"{TEXT_INTRO}\n")
    assert len(settled) >= 2 and all(s.startswith(f"{TEXT_INTRO}\n") for s in settled)
    assert settled[0] == f"{TEXT_INTRO}\n"  # said at once, before any line is read
    assert " ".join(caption.caption.split()).startswith(" ".join(settled[0].split()))
    stopped: list[str] = []
    from models.errors import CancelledError

    with pytest.raises(CancelledError):
        first.describe(page.image, DescribeOptions(), None, on_settled=stopped.append,
                       should_stop=lambda: bool(stopped))
