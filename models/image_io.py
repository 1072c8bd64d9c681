"""Safe image loading: any path, bytes or PIL image in, a fully loaded RGB PIL image out.

This is the boundary between untrusted image files and the engine. Pillow raises many exception
types on broken input (OSError, ValueError, SyntaxError, struct.error, EOFError, TypeError,
DecompressionBombError, ...), so every failure here becomes one `ImageError` whose message is a
single sentence saying what is wrong and what to do.

What `load_image` guarantees:
- refuses images whose header claims more than `MAX_PIXELS` before any pixel is decoded;
- decodes only the first frame of animated or multi-page files;
- applies the EXIF (or XMP) orientation;
- converts every mode to RGB: transparency is composited onto white, so dark text drawn on a
  transparent background stays readable (onto black when the visible content is light, so
  white text does too); 16/32-bit and float images are stretched over their actual value
  range instead of being clipped to 255;
- shrinks images whose long side exceeds `MAX_SIDE` (JPEGs are decoded at reduced scale, so a
  108-megapixel photo never exists in memory at full size).
"""
from __future__ import annotations

import io
import os
import re
import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from models.errors import ImageError
from models.tiff_quiet import silence_libtiff

__all__ = ["MAX_PIXELS", "MAX_SIDE", "ImageSource", "load_image", "looks_like_picture", "to_rgb"]

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview | Image.Image

# Pillow's own hard decompression-bomb limit; large enough for 108-megapixel phone photos.
MAX_PIXELS = 178_956_970
# Captioning models look at 384-768 px, so anything beyond this only costs memory and time.
MAX_SIDE = 4096

# EPS makes Pillow run Ghostscript on the file: never with untrusted input. BLP (game textures)
# decodes DXT blocks pixel by pixel in Python: a crafted header stalls the worker for seconds.
_UNSAFE_FORMATS = frozenset({"EPS", "BLP"})

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Above this mean luma (0-255) transparent content is composited onto black instead of white;
# it sits above the 118 where black and white give equal contrast, so white stays the default.
_LIGHT_CONTENT = 160.0

_QUIET_LOCK = threading.Lock()

_PICK_ANOTHER = "choose another image or save it again as PNG or JPEG"


def load_image(
    source: ImageSource, *, max_side: int = MAX_SIDE, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Load `source` (a path, encoded bytes such as a clipboard PNG, or a PIL image).

    Returns a fully decoded RGB image whose long side is at most `max_side`. Raises
    `ImageError` for anything that is not a readable, reasonably sized image. The pixels of a
    PIL image passed in are never changed; when it already is a small upright RGB image it is
    returned as is. Thread-safe; Pillow's warnings are silenced while decoding.
    """
    if isinstance(source, Image.Image):
        with quiet_pillow():
            return _decode(source, "The image", max_side, max_pixels, owned=False)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError("The image data is empty: copy the image again and retry.")
        return _open_and_decode(io.BytesIO(data), "The pasted image", max_side, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        return _load_path(source, max_side, max_pixels)
    raise TypeError(f"load_image() takes a path, bytes or a PIL image, not {type(source).__name__}")


def looks_like_picture(path: str | os.PathLike[str]) -> bool:
    """Whether the file's header is one of the formats `load_image` reads (by content, not by
    name; only the header is read, nothing decoded). A damaged body is still found later."""
    try:
        with open(path, "rb") as fh, quiet_pillow():
            with Image.open(fh, formats=_safe_formats()):
                return True
    except Image.DecompressionBombError:
        return True  # a picture, too large: describing it says so
    except Exception:  # not a picture, unreadable, or a header Pillow refuses
        return False


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a loaded image of any mode to RGB (no resizing, no orientation)."""
    return _to_rgb(image, max_side=None)


# --- sources -----------------------------------------------------------------------------------


def _load_path(source: str | os.PathLike[str], max_side: int, max_pixels: int) -> Image.Image:
    if isinstance(source, str) and not source.strip():
        raise ImageError("No image file was given: pass the path of an image file.")
    path = Path(source)
    shown = _clean(str(path))
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError) as e:
        raise ImageError(f"Cannot find the image file {shown}: check the path and try again.") from e
    except PermissionError as e:
        raise ImageError(f"Permission denied for {shown}: check that you may read this file.") from e
    except (OSError, ValueError) as e:
        raise ImageError(f"Cannot open {shown} ({_detail(e)}): check the path and try again.") from e
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{shown} is a folder, not an image: choose an image file inside it.")
    if not stat.S_ISREG(info.st_mode):
        # Devices and pipes could block or stream forever.
        raise ImageError(f"{shown} is not a regular file: choose an image file.")
    name = _clean(path.name)
    if info.st_size == 0:
        raise ImageError(f"{name} is empty (0 bytes): {_PICK_ANOTHER}.")
    try:
        fh = path.open("rb")
    except PermissionError as e:
        raise ImageError(f"Permission denied for {shown}: check that you may read this file.") from e
    except OSError as e:
        raise ImageError(f"Cannot open {shown} ({_detail(e)}): check the file and try again.") from e
    with fh:
        return _open_and_decode(fh, name, max_side, max_pixels)


def _open_and_decode(fp: BinaryIO, name: str, max_side: int, max_pixels: int) -> Image.Image:
    with quiet_pillow():
        try:
            image = Image.open(fp, formats=_safe_formats())
        except UnidentifiedImageError as e:
            raise ImageError(f"{name} is not an image Lumen can read: {_PICK_ANOTHER}.") from e
        except (Image.DecompressionBombError, MemoryError) as e:
            raise ImageError(_too_large(name, None, max_pixels)) from e
        except Exception as e:  # any decoder failure on untrusted bytes
            raise ImageError(_damaged(name, e)) from e
        try:
            rgb = _decode(image, name, max_side, max_pixels, owned=True)
        except BaseException:
            image.close()
            raise
    # close() destroys the pixels, so keep the image when it already is the RGB result.
    if rgb is not image:
        image.close()
    return rgb


@lru_cache(maxsize=1)
def _safe_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in Image.OPEN if f not in _UNSAFE_FORMATS)


@contextmanager
def quiet_pillow() -> Iterator[None]:
    """Silence Pillow's warnings about odd-but-readable files (bad EXIF, big sizes, ...).

    Our own checks decide what is refused. catch_warnings swaps process-wide state, hence the lock.
    """
    silence_libtiff()  # broken TIFFs: libtiff writes to stderr itself (models/tiff_quiet.py)
    with _QUIET_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- decoding ----------------------------------------------------------------------------------


def _decode(
    image: Image.Image, name: str, max_side: int, max_pixels: int, *, owned: bool
) -> Image.Image:
    """Check the header size, decode the first frame and turn it into an upright RGB image."""
    _check_size(image, name, max_pixels)
    try:
        if owned and image.format == "JPEG" and max(image.size) > max_side:
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: never the full pixel count.
            scale = max_side / max(image.size)
            image.draft(None, (_at_least_1(image.width * scale), _at_least_1(image.height * scale)))
        image.load()
        _check_size(image, name, max_pixels)  # a few formats only know their size now
        transpose = _orientation(image)
        rgb = _shrink(_to_rgb(image, max_side), max_side)
        if transpose is not None:
            rgb = rgb.transpose(transpose)
    except ImageError:
        raise
    except (Image.DecompressionBombError, MemoryError) as e:
        raise ImageError(_too_large(name, None, max_pixels)) from e
    except Exception as e:  # any decoder failure on untrusted bytes
        raise ImageError(_damaged(name, e)) from e
    return rgb


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"{name} has no pixels ({width} x {height}): {_PICK_ANOTHER}.")
    if width * height > max_pixels:
        raise ImageError(_too_large(name, (width, height), max_pixels))


def _orientation(image: Image.Image) -> Image.Transpose | None:
    """The transpose that makes the image upright, from EXIF or XMP; broken metadata is ignored."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
        return _TRANSPOSE.get(int(value))
    except Exception:  # a damaged EXIF block should not cost the user the whole image
        return None


def _to_rgb(image: Image.Image, max_side: int | None) -> Image.Image:
    """Any mode to RGB; `max_side` lets the costly paths shrink first (None: never shrink)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I", "F") or mode.startswith("I;"):
        return _shrink(_stretch_to_l(image), max_side).convert("RGB")
    if mode == "La":  # premultiplied alpha, which Pillow cannot convert directly
        image = _unpremultiply_la(image)
    if "A" in image.getbands() or "a" in image.getbands() or _has_transparency(image):
        rgba = _shrink(image.convert("RGBA"), max_side)
        # White, as transformers' convert_to_rgb does (so preprocessing matches it exactly), unless
        # the visible content is light: white text on a transparent background would vanish.
        shade = 0 if _is_light(rgba) else 255
        background = Image.new("RGBA", rgba.size, (shade, shade, shade, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # P, L, 1, CMYK, YCbCr, LAB, HSV, RGBX: Pillow converts these correctly.
    return image.convert("RGB")


def _has_transparency(image: Image.Image) -> bool:
    # A colour key (PNG tRNS, GIF transparent index) on a mode without an alpha band.
    return image.info.get("transparency") is not None and image.mode in ("P", "L", "RGB", "1")


def _is_light(rgba: Image.Image) -> bool:
    """True when the alpha-weighted brightness of the visible pixels is clearly light."""
    pixels = np.asarray(rgba)
    step = max(1, int((pixels.shape[0] * pixels.shape[1] / 1_000_000) ** 0.5))
    sample = pixels[::step, ::step].astype(np.float32)
    alpha = sample[..., 3]
    weight = float(alpha.sum())
    if weight == 0.0:
        return False
    luma = sample[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float((luma * alpha).sum()) / weight > _LIGHT_CONTENT


def _stretch_to_l(image: Image.Image) -> Image.Image:
    """16/32-bit integer or float pixels to 8-bit grey, stretched over their actual range.

    Pillow's own conversion clips at 255, which turns most 16-bit images white. Scanners and
    cameras also store 10/12-bit data in 16-bit containers, so the range comes from the data.
    """
    values = np.asarray(image)
    if values.dtype.kind == "f":
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    else:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:  # flat image: black when zero or below, white otherwise
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        hi = hi if hi > lo else lo + 1.0
    scale = 255.0 / (hi - lo)
    out = np.empty(values.shape, dtype=np.uint8)
    rows = max(1, (1 << 20) // max(1, values.shape[1]))  # about a million pixels at a time
    for top in range(0, values.shape[0], rows):
        block = values[top : top + rows].astype(np.float64)
        if values.dtype.kind == "f":
            np.nan_to_num(block, copy=False, nan=lo, posinf=hi, neginf=lo)
        block -= lo
        block *= scale
        np.clip(block, 0.0, 255.0, out=block)
        block += 0.5
        out[top : top + rows] = block.astype(np.uint8)
    return Image.fromarray(out, "L")


def _unpremultiply_la(image: Image.Image) -> Image.Image:
    la = np.asarray(image).astype(np.uint16)
    grey, alpha = la[..., 0], la[..., 1]
    safe = np.maximum(alpha, 1)
    grey = np.where(alpha > 0, np.minimum((grey * 255 + safe // 2) // safe, 255), 0)
    return Image.fromarray(np.stack([grey, alpha], axis=-1).astype(np.uint8), "LA")


def _shrink(image: Image.Image, max_side: int | None) -> Image.Image:
    """Fit the long side into `max_side`, keeping the aspect ratio."""
    if max_side is None or max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (_at_least_1(image.width * scale), _at_least_1(image.height * scale))
    # reducing_gap first box-averages by an integer factor: fast and low on memory.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _at_least_1(value: float) -> int:
    return max(1, round(value))


# --- messages ----------------------------------------------------------------------------------


def _too_large(name: str, size: tuple[int, int] | None, max_pixels: int) -> str:
    limit = f"{max_pixels / 1e6:.0f} million pixels"
    claimed = f" ({size[0]} x {size[1]} pixels)" if size else ""
    return f"{name} is too large{claimed}, more than Lumen's limit of {limit}: scale it down and try again."


def _damaged(name: str, error: BaseException) -> str:
    return f"{name} is damaged or incomplete ({_detail(error)}): {_PICK_ANOTHER}."


def _detail(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def _clean(text: str) -> str:
    """File names may hold control characters; messages must stay on one line."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)
