"""Screenshot-like and photo-like pictures rendered with Pillow, with the text they show.

Pages of text (fonts from fonts-dejavu-core, fonts-liberation2 and fonts-freefont-ttf; several
sizes; light and dark themes; two columns; a dialog with buttons; a terminal) for the text
reader's character error rate, and photo-like pictures (noise, gradients, shapes) and blank
screens for the picture-kind figures. Everything is seeded: the same pictures every run.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation2"),
             Path("/usr/share/fonts/truetype/freefont"))
SANS = "DejaVuSans.ttf"
SERIF = "DejaVuSerif.ttf"
MONO = "DejaVuSansMono.ttf"
LIBERATION_SANS = "LiberationSans-Regular.ttf"  # Arial's metrics
LIBERATION_SERIF = "LiberationSerif-Regular.ttf"  # Times New Roman's metrics
FREE_SANS = "FreeSans.ttf"

PROSE = (
    "Lumen describes pictures aloud for people who cannot see them. When the picture is a page "
    "of text, it reads the words instead of guessing what they show. The reader keeps the order "
    "a sighted person would follow: from the top of the page to the bottom, and one column after "
    "the other. Numbers such as 2026, 3.14 and 42% are read as they are written.",
    "Every action works from the keyboard. Press the shortcut to capture the screen, then listen "
    "while the result is spoken by your own screen reader. Nothing leaves this computer: the "
    "models run offline, and the history stays in your own folder.",
)


@dataclass(frozen=True)
class Page:
    name: str
    image: Image.Image
    text: str  # what a reader should say, paragraphs separated by newlines


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return ImageFont.truetype(str(folder / name), size)
    raise FileNotFoundError(f"font {name} is not installed (fonts-dejavu-core, fonts-liberation2, "
                            "fonts-freefont-ttf)")


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=face) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _paragraphs(draw: ImageDraw.ImageDraw, x: int, y: int, width: int, paragraphs: tuple[str, ...],
                face: ImageFont.FreeTypeFont, fill: str, leading: float = 1.45) -> int:
    step = int(face.size * leading)
    for paragraph in paragraphs:
        for line in _wrap(draw, paragraph, face, width):
            draw.text((x, y), line, font=face, fill=fill)
            y += step
        y += step  # an empty line between paragraphs
    return y


def document(name: str, face_name: str, size: int, *, dark: bool = False, width: int = 1000) -> Page:
    bg, fg = ("#1e1e1e", "#e6e6e6") if dark else ("white", "#111111")
    face, heading = font(face_name, size), font(face_name, int(size * 1.6))
    image = Image.new("RGB", (width + 120, 80 + int(size * 1.45) * 22), bg)
    draw = ImageDraw.Draw(image)
    draw.text((60, 30), "Reading with Lumen", font=heading, fill=fg)
    _paragraphs(draw, 60, 30 + int(size * 1.6) * 2, width, PROSE, face, fg)
    return Page(name, image, "\n".join(("Reading with Lumen", *PROSE)))


def two_columns() -> Page:
    face, heading = font(LIBERATION_SERIF, 18), font(LIBERATION_SANS, 30)
    image = Image.new("RGB", (1280, 800), "#fdfcf7")
    draw = ImageDraw.Draw(image)
    draw.text((60, 40), "Offline descriptions", font=heading, fill="black")
    _paragraphs(draw, 60, 120, 540, PROSE[:1], face, "black")
    _paragraphs(draw, 680, 120, 540, PROSE[1:], face, "black")
    return Page("two columns", image, "\n".join(("Offline descriptions", *PROSE)))


def dialog() -> Page:
    image = Image.new("RGB", (900, 560), "#3a6ea5")  # a desktop behind the dialog
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 120, 750, 440), fill="#f0f0f0", outline="#888888")
    draw.rectangle((150, 120, 750, 160), fill="#2b5797")
    draw.text((165, 128), "Save changes", font=font(SANS, 18), fill="white")
    body = font(SANS, 16)
    draw.text((180, 190), "Do you want to save the changes you made", font=body, fill="black")
    draw.text((180, 216), "to the report before closing?", font=body, fill="black")
    draw.text((180, 262), "Your changes will be lost if you do not save them.", font=body, fill="black")
    for x, label in ((300, "Save"), (450, "Don't Save"), (600, "Cancel")):
        draw.rectangle((x - 10, 370, x + 120, 410), fill="#e1e1e1", outline="#707070")
        w = draw.textlength(label, font=body)
        draw.text((x + 55 - w / 2, 380), label, font=body, fill="black")
    return Page("dialog", image, "\n".join((
        "Save changes", "Do you want to save the changes you made to the report before closing?",
        "Your changes will be lost if you do not save them.", "Save", "Don't Save", "Cancel")))


TERMINAL_LINES = (
    "user@lumen:~$ make test",
    "Installing the system packages Lumen needs: espeak-ng xvfb xdotool sox",
    "Setting up espeak-ng (1.51) ...",
    "collected 42 items",
    "tests/test_ocr_reader.py PASSED [100%]",
    "42 passed in 31.07s",
    "user@lumen:~$ lumen describe --task ocr page.png",
)


def terminal() -> Page:
    face = font(MONO, 16)
    image = Image.new("RGB", (1000, 300), "#000000")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(TERMINAL_LINES):
        draw.text((12, 12 + i * 24), line, font=face, fill="#33ff66" if i % 3 else "#dddddd")
    return Page("terminal", image, "\n".join(TERMINAL_LINES))


def text_pages() -> list[Page]:
    return [
        document("DejaVu Sans 16 light", SANS, 16),
        document("DejaVu Serif 20 light", SERIF, 20),
        document("Liberation Sans 14 dark", LIBERATION_SANS, 14, dark=True),
        document("FreeSans 24 dark", FREE_SANS, 24, dark=True),
        document("Liberation Serif 18 light", LIBERATION_SERIF, 18),
        two_columns(), dialog(), terminal(),
    ]


def screen_page(size: tuple[int, int], face_name: str = SANS, px: int = 15, *, dark: bool = False) -> Page:
    """A screen of numbered paragraphs (the prose in turn) down to its bottom, with their text."""
    bg, fg = ("#1e1e1e", "#e6e6e6") if dark else ("white", "#111111")
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    face, step, y, drawn = font(face_name, px), int(px * 1.4), 10, []
    while True:
        paragraph = f"Paragraph {len(drawn) + 1}. {PROSE[len(drawn) % 2]}"
        if y + (len(_wrap(draw, paragraph, face, size[0] - 40)) + 1) * step > size[1] - 10:
            return Page(f"{size[0]}x{size[1]} {face_name} {px}", image, "\n".join(drawn))
        y = _paragraphs(draw, 20, y, size[0] - 40, (paragraph,), face, fg, leading=1.4)
        drawn.append(paragraph)


def full_screen_of_text(size: tuple[int, int] = (1280, 800)) -> Image.Image:
    """A 1280x800 screen filled with 15 px prose: the text reader's benchmark picture."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    y = 10
    face = font(SANS, 15)
    while y < size[1] - 30:
        y = _paragraphs(draw, 20, y, size[0] - 40, PROSE, face, "black", leading=1.4)
    return image


# --- photo-like pictures and blank screens, for the picture kind ----------------------------

def photo_like(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """Smooth colour gradients, blurred shapes and sensor-like noise: no flat areas, no text."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([
        (np.sin(xx / rng.uniform(40, 200) + rng.uniform(0, 6)) + np.cos(yy / rng.uniform(40, 200))) * 50 + rng.uniform(60, 190)
        for _ in range(3)], axis=-1)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 14))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(20, 200))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0 - r, y0 - r, x0 + r, y0 + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(1.5, 6))))
    noise = rng.normal(0, rng.uniform(4, 14), (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8))


def blank(colour: str | tuple[int, int, int], size: tuple[int, int] = (1280, 800), noise: float = 0.0,
          seed: int = 0) -> Image.Image:
    """A uniform picture (a black screen behind a screen curtain, an empty page), with optional
    faint noise as a camera or a dithered display gives it."""
    image = Image.new("RGB", size, colour)
    if noise:
        rng = np.random.default_rng(seed)
        pixels = np.asarray(image, np.float32) + rng.normal(0, noise, (size[1], size[0], 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image
