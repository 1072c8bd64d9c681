"""models.image_io: every mode and format to upright RGB, every failure to one ImageError."""
from __future__ import annotations

import io
import os
import pathlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from PIL.JpegImagePlugin import JpegImageFile

from models.errors import ImageError
from models.image_io import MAX_SIDE, load_image

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def halves(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue: any rotation or flip shows in the corners."""
    img = Image.new("RGB", (width, height), BLUE)
    img.paste(RED, (0, 0, width // 2, height))
    return img


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img).astype(np.int16)


def stored(path: Path) -> tuple[str, int]:
    """Mode and frame count of a file as Pillow sees it: proves the fixture is what we claim."""
    with Image.open(path) as img:
        return img.mode, getattr(img, "n_frames", 1)


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming any size, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def assert_error(excinfo: pytest.ExceptionInfo[ImageError], *needles: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message and message.endswith("."), message
    for needle in needles:
        assert needle in message, message


# --- sources -------------------------------------------------------------------------------------


def test_rgb_png_round_trips_exactly(tmp_path: Path) -> None:
    source = Image.fromarray(np.random.default_rng(1).integers(0, 256, (33, 47, 3), dtype=np.uint8))
    source.save(tmp_path / "a.png")
    for given in (tmp_path / "a.png", str(tmp_path / "a.png")):
        out = load_image(given)
        assert out.mode == "RGB" and out.size == (47, 33)
        np.testing.assert_array_equal(np.asarray(out), np.asarray(source))


def test_bytes_and_pil_inputs_match_the_file(tmp_path: Path) -> None:
    buf = io.BytesIO()
    halves().save(buf, "PNG")
    from_bytes = load_image(buf.getvalue())
    from_bytearray = load_image(bytearray(buf.getvalue()))
    np.testing.assert_array_equal(np.asarray(from_bytes), np.asarray(halves()))
    np.testing.assert_array_equal(np.asarray(from_bytearray), np.asarray(halves()))


def test_pil_input_is_not_modified() -> None:
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    out = load_image(rgba)
    assert rgba.mode == "RGBA" and out.mode == "RGB"
    small_rgb = halves()
    assert load_image(small_rgb) is small_rgb  # nothing to do, no copy


def test_wrong_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        load_image(42)  # type: ignore[arg-type]


# --- orientation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    upright = halves()
    # Store what a camera would: the sensor image plus the tag that undoes it.
    undo = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    stored = upright.transpose(undo[orientation]) if orientation in undo else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "o.png", exif=exif)
    out = load_image(tmp_path / "o.png")
    np.testing.assert_array_equal(np.asarray(out), np.asarray(upright))


def test_exif_rotated_jpeg_comes_out_upright(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored lying on its side: rotate 90 degrees clockwise to view
    halves(40, 20).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = pixels(load_image(tmp_path / "r.jpg"))
    assert out.shape == (20, 40, 3)
    assert np.abs(out[10, 5] - RED).max() < 40 and np.abs(out[10, 35] - BLUE).max() < 40


def test_broken_exif_does_not_cost_the_image(tmp_path: Path) -> None:
    halves().save(tmp_path / "b.jpg", exif=b"Exif\x00\x00MM\x00*garbage")
    assert load_image(tmp_path / "b.jpg").size == (40, 20)


# --- modes ---------------------------------------------------------------------------------------


def test_transparency_is_composited_onto_white_so_dark_text_stays_readable(tmp_path: Path) -> None:
    img = Image.new("RGBA", (30, 10), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (5, 2, 25, 8))  # black "text"
    img.putpixel((0, 0), (0, 0, 0, 128))  # half-transparent black
    img.save(tmp_path / "t.png")
    out = pixels(load_image(tmp_path / "t.png"))
    assert out[9, 29].tolist() == [255, 255, 255]
    assert out[5, 10].tolist() == [0, 0, 0]
    assert abs(int(out[0, 0, 0]) - 127) <= 1


def test_light_content_on_transparency_gets_a_dark_background() -> None:
    img = Image.new("RGBA", (30, 10), (0, 0, 0, 0))
    img.paste((255, 255, 255, 255), (5, 2, 25, 8))  # white text, e.g. a logo for dark themes
    out = pixels(load_image(img))
    assert out[5, 10].tolist() == [255, 255, 255] and out[9, 29].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("mode", "fmt", "value", "expected"),
    [
        ("L", "PNG", 77, (77, 77, 77)),
        ("1", "PNG", 1, (255, 255, 255)),
        ("P", "GIF", None, RED),
        ("LA", "PNG", (40, 255), (40, 40, 40)),
        ("LA", "PNG", (0, 0), (255, 255, 255)),
        ("PA", None, None, RED),
        ("RGBa", None, (100, 50, 0, 255), (100, 50, 0)),
        ("La", None, (60, 255), (60, 60, 60)),
        ("CMYK", "JPEG", (0, 255, 255, 0), RED),
        ("CMYK", "TIFF", (255, 0, 255, 0), GREEN),
        ("YCbCr", "JPEG", (76, 85, 255), RED),
        ("LAB", "TIFF", (136, 208, 195), (250, 3, 11)),
        ("HSV", None, (0, 255, 255), RED),
        ("RGBX", None, (1, 2, 3, 0), (1, 2, 3)),
    ],
)
def test_modes_convert_to_rgb(tmp_path: Path, mode: str, fmt: str | None, value, expected) -> None:
    if mode in ("P", "PA"):
        img = Image.new("RGB", (16, 8), RED).convert("P")
        img = img.convert("PA") if mode == "PA" else img
    else:
        img = Image.new(mode, (16, 8), value)
    if fmt is not None:
        path = tmp_path / f"m.{fmt.lower()}"
        img.save(path, fmt, **({"quality": 100} if fmt == "JPEG" else {}))
        img = path  # type: ignore[assignment]
    out = load_image(img)
    assert out.mode == "RGB" and out.size == (16, 8)
    tolerance = 6 if fmt == "JPEG" else 1
    assert np.abs(pixels(out)[4, 8] - expected).max() <= tolerance


def test_palette_colour_key_transparency_is_composited(tmp_path: Path) -> None:
    img = Image.new("P", (10, 10), 1)
    img.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    img.paste(0, (0, 0, 5, 10))
    img.save(tmp_path / "k.png", transparency=1)  # palette entry 1 (dark red) is see-through
    out = pixels(load_image(tmp_path / "k.png"))
    assert out[5, 2].tolist() == [0, 0, 0] and out[5, 8].tolist() == [255, 255, 255]


def test_16bit_png_uses_the_full_range_instead_of_clipping(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)
    Image.fromarray(np.tile(ramp, (4, 1))).save(tmp_path / "16.png")
    assert stored(tmp_path / "16.png")[0].startswith("I")  # really stored as 16-bit
    out = pixels(load_image(tmp_path / "16.png"))[0, :, 0]
    np.testing.assert_allclose(out, ramp / 257, atol=1)
    assert len(np.unique(out)) == 256


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_12bit_data_in_16bit_containers_is_stretched(tmp_path: Path, mode: str) -> None:
    ramp = np.tile(np.linspace(0, 4095, 64).astype(np.uint16), (4, 1))
    dtype = ">u2" if mode == "I;16B" else "<u2"
    Image.frombytes(mode, (64, 4), ramp.astype(dtype).tobytes()).save(tmp_path / "12.tif")
    assert stored(tmp_path / "12.tif")[0] == mode
    out = pixels(load_image(tmp_path / "12.tif"))[0, :, 0]
    assert out[0] == 0 and out[-1] == 255 and np.all(np.diff(out) > 0)


def test_32bit_integer_and_float_images_are_stretched(tmp_path: Path) -> None:
    ints = np.linspace(-70000, 70000, 50).astype(np.int32).reshape(5, 10)
    Image.fromarray(ints, "I").save(tmp_path / "i.tif")
    out = pixels(load_image(tmp_path / "i.tif"))[..., 0]
    assert out.min() == 0 and out.max() == 255 and np.all(np.diff(out.ravel()) >= 0)

    floats = np.linspace(0.25, 0.75, 50, dtype=np.float32).reshape(5, 10)
    floats[0, 0], floats[0, 1] = np.nan, np.inf
    out = pixels(load_image(Image.fromarray(floats, "F")))[..., 0]
    assert out[4, 9] == 255 and out[0, 2] < 10 and out[0, 0] == 0 and out[0, 1] == 255


def test_flat_high_bit_images_do_not_divide_by_zero() -> None:
    assert pixels(load_image(Image.new("I", (4, 4), 0))).max() == 0
    assert pixels(load_image(Image.new("I;16", (4, 4), 900))).min() == 255


# --- animation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"), [("GIF", "a.gif"), ("PNG", "a.png"), ("WEBP", "a.webp"), ("TIFF", "a.tif")]
)
def test_animated_and_multipage_files_give_the_first_frame(tmp_path: Path, fmt: str, name: str) -> None:
    frames = [Image.new("RGB", (12, 12), colour) for colour in (RED, GREEN, BLUE)]
    extra = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(tmp_path / name, fmt, save_all=True, append_images=frames[1:], duration=100, **extra)
    assert stored(tmp_path / name)[1] == 3
    out = pixels(load_image(tmp_path / name))
    assert np.abs(out[6, 6] - RED).max() <= 2


# --- size ----------------------------------------------------------------------------------------


def test_huge_png_is_downscaled_keeping_the_aspect_ratio(tmp_path: Path) -> None:
    halves(8200, 1000).save(tmp_path / "wide.png")
    out = load_image(tmp_path / "wide.png")
    assert out.size == (MAX_SIDE, 500)
    assert pixels(out)[250, 100].tolist() == list(RED) and pixels(out)[250, 4000].tolist() == list(BLUE)


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    halves(8400, 600).save(tmp_path / "wide.jpg", quality=90)
    drafts: list[tuple[int, int]] = []
    original = JpegImageFile.draft

    def spy(self, mode, size):
        drafts.append(size)
        return original(self, mode, size)

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    out = load_image(tmp_path / "wide.jpg")
    assert drafts and out.size == (MAX_SIDE, 293)
    assert np.abs(pixels(out)[150, 100] - RED).max() < 30


def test_max_side_can_be_lowered() -> None:
    assert load_image(halves(300, 120), max_side=100).size == (100, 40)


def test_decompression_bomb_header_is_refused_without_decoding(tmp_path: Path, recwarn) -> None:
    (tmp_path / "bomb.png").write_bytes(png_header(100_000, 100_000))
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "bomb.png")
    assert_error(excinfo, "bomb.png is too large", "million pixels")
    # Under Pillow's hard limit but over ours: refused from the header, with the size named.
    (tmp_path / "big.png").write_bytes(png_header(12_000, 12_000))
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "big.png", max_pixels=100_000_000)
    assert_error(excinfo, "big.png is too large (12000 x 12000 pixels)")
    assert not [w for w in recwarn.list if "decompression" in str(w.message).lower()]


def test_zero_size_image_is_refused() -> None:
    with pytest.raises(ImageError) as excinfo:
        load_image(Image.new("RGB", (0, 7)))
    assert_error(excinfo, "has no pixels (0 x 7)")


# --- failures ------------------------------------------------------------------------------------


def test_truncated_jpeg(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "cut.jpg")
    assert_error(excinfo, "cut.jpg is damaged or incomplete", "truncated")
    assert isinstance(excinfo.value.__cause__, OSError)


def test_text_file_renamed_png(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("shopping list: milk, eggs\n")
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "notes.png")
    assert_error(excinfo, "notes.png is not an image")


def test_garbage_bytes_and_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as excinfo:
        load_image(b"\x00\x01 definitely not an image")
    assert_error(excinfo, "The pasted image is not an image")
    with pytest.raises(ImageError) as excinfo:
        load_image(b"")
    assert_error(excinfo, "empty")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "empty.png")
    assert_error(excinfo, "empty.png is empty")
    with pytest.raises(ImageError) as excinfo:
        load_image("  ")
    assert_error(excinfo, "No image file")


def test_missing_path_directory_and_fifo(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "nope" / "missing.jpg")
    assert_error(excinfo, "Cannot find the image file", "missing.jpg")
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path)
    assert_error(excinfo, "is a folder")
    os.mkfifo(tmp_path / "pipe.png")  # reading it would block forever
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "pipe.png")
    assert_error(excinfo, "not a regular file")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    halves().save(tmp_path / "locked.png")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "open", denied)  # root can read anything, so simulate it
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "locked.png")
    assert_error(excinfo, "Permission denied", "locked.png")


def test_control_characters_in_names_stay_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "a\nb.png").write_text("not an image")
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "a\nb.png")
    assert_error(excinfo, "a?b.png")


@pytest.mark.parametrize(
    "error",
    [struct.error("unpack"), SyntaxError("bad chunk"), EOFError(), TypeError("Missing dimensions"),
     IndexError("palette"), ValueError("tile"), KeyError("x"), MemoryError()],
)
def test_any_decoder_exception_becomes_image_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    halves().save(tmp_path / "x.png")

    def broken(self):
        raise error

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken)
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "x.png")
    assert_error(excinfo, "x.png")
    assert excinfo.value.__cause__ is error


def test_eps_is_refused_so_ghostscript_never_runs(tmp_path: Path) -> None:
    (tmp_path / "a.eps").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n")
    with pytest.raises(ImageError) as excinfo:
        load_image(tmp_path / "a.eps")
    assert_error(excinfo, "a.eps is not an image Lumen can read")
