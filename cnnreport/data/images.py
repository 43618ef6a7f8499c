"""One image file, read the way a person sees it, as 8-bit grey or RGB pixels.

Pillow decodes; the mode is then normalised explicitly, because `convert("RGB")` is wrong for
several modes students' data sets bring: 16-bit grey (X-rays, microscopy) is *clipped* by it
(everything above 255 turns white), where it must be scaled by 257 (65535 -> 255). Also: CMYK
and YCbCr JPEGs to RGB, the EXIF orientation applied (phones store portraits sideways), palette
and alpha composited on a stated background, the first frame of an animation, and the format
read from the content, not the extension (a JPEG named .png is still a JPEG).

`decode` returns the normalised image and what is worth knowing about it; `fit` brings it to
the study's size under a policy (resize, pad, crop); `pixels` makes the uint8 array. A file that
cannot be decoded raises `BadImage` with the kind of problem and one line of detail.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Files tried as images (torchvision's ImageFolder keeps an allow-list too); anything else in a
# class folder is listed as a skipped non-image file.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".gif", ".webp",
                              ".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".pnm"})
# The formats Pillow reports and the extensions that name them, to notice an extension that lies.
FORMAT_EXTENSIONS = {"PNG": {".png"}, "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "MPO": {".jpg", ".jpeg"},
                     "GIF": {".gif"}, "BMP": {".bmp", ".dib"}, "DIB": {".bmp", ".dib"}, "WEBP": {".webp"},
                     "TIFF": {".tif", ".tiff"}, "PPM": {".pgm", ".ppm", ".pbm", ".pnm"}}
ORIENTATION = 0x0112  # the EXIF tag
BACKGROUND_VALUE = {"white": 255, "black": 0}
RESAMPLE = Image.Resampling.BICUBIC  # Pillow's own default; antialiased when shrinking
RESAMPLE_NAME = "bicubic"
PAD_FILL = 0  # letterbox bars are black, as Keras's pad_to_aspect_ratio pads
# An RGB image whose channels differ by at most this many levels everywhere is grey content
# (grey X-rays saved as RGB JPEGs differ by a level or two after chroma rounding).
GREY_TOLERANCE = 3

Policy = Literal["resize", "pad", "crop"]
Background = Literal["white", "black"]


class BadImage(Exception):
    """A file that is not a usable image: `kind` (facts.ProblemKind) and a one-line detail."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass
class Decoded:
    image: Image.Image  # mode "L" or "RGB", orientation applied, alpha composited
    size: tuple[int, int]  # (height, width) as a person sees it (after EXIF orientation)
    sha256: bytes  # of the file's bytes
    notes: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail) worth reporting


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


@contextlib.contextmanager
def strict_decoding() -> Iterator[None]:
    """A truncated file is an error, not an image whose missing rows are filled in grey.
    Pillow's switch for that is process-wide, and WeasyPrint turns it on when it is imported
    (for the figures of a report), so it is turned off here while images are read."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def decode(path: Path, background: Background = "white") -> Decoded:
    """The file's first frame as an "L" or "RGB" image; BadImage when it is not one."""
    with strict_decoding():
        return _decode(path, background)


def _decode(path: Path, background: Background) -> Decoded:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadImage("unreadable", f"cannot be read ({exc.strerror or _one_line(exc)})") from None
    if not raw:
        raise BadImage("empty", "empty file (0 bytes)")
    notes: list[tuple[str, str]] = []
    try:
        # From the bytes already read (no second read; no file handle left open either way).
        opened = Image.open(io.BytesIO(raw))
        fmt = opened.format or "?"
        expected = FORMAT_EXTENSIONS.get(fmt)
        if expected is not None and path.suffix.lower() not in expected:
            notes.append(("format_mismatch", f"a {fmt} file named {path.suffix or '(no extension)'}; read as {fmt}"))
        frames = getattr(opened, "n_frames", 1)
        if frames > 1:
            opened.seek(0)
            notes.append(("animated", f"{frames} frames; the first is used"))
        opened.load()  # decoding errors (truncated data) surface here
        turned = opened.getexif().get(ORIENTATION, 1) not in (1, None)
        upright = ImageOps.exif_transpose(opened) if turned else opened
        image, range_note = _normalise(upright, BACKGROUND_VALUE[background])
    except UnidentifiedImageError:
        raise BadImage("not_an_image", "not an image Pillow can identify") from None
    except Image.DecompressionBombError as exc:
        raise BadImage("too_large", _one_line(exc)) from None
    except Exception as exc:  # truncated or damaged data surfaces as many exception types
        raise BadImage("undecodable", f"cannot be decoded ({_one_line(exc)})") from None
    if range_note:
        notes.append(("out_of_range", range_note))
    return Decoded(image, (image.height, image.width), hashlib.sha256(raw).digest(), notes)


def _normalise(im: Image.Image, background: int) -> tuple[Image.Image, str]:
    """Any Pillow mode to "L" or "RGB" (and a note when values had to be clipped)."""
    mode = im.mode
    if mode in ("L", "RGB"):
        return im, ""
    if mode == "1":
        return im.convert("L"), ""
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(im, dtype=np.int64)  # I;16 arrives as uint16, I as int32
        clipped = int(((values < 0) | (values > 65535)).sum())
        # 16 bits to 8: v / 257 maps 0..65535 onto 0..255 exactly (257 = 65535 / 255), rounded.
        scaled = (np.clip(values, 0, 65535) + 128) // 257
        note = f"{clipped} pixel values outside 0–65535 clipped" if clipped else ""
        return Image.fromarray(scaled.astype(np.uint8), "L"), note
    if mode == "F":
        values = np.asarray(im, dtype=np.float64)
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 0.0
        scale = 255.0 if top <= 1.0 else 1.0  # floats in [0, 1], else already on the 0–255 scale
        scaled = np.nan_to_num(values * scale, nan=0.0, posinf=255.0, neginf=0.0)
        clipped = int(((scaled < 0) | (scaled > 255)).sum())
        note = f"{clipped} floating-point pixel values outside the range clipped" if clipped else ""
        return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L"), note
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        grey = mode in ("LA", "La")
        rgba = im.convert("RGBA")
        flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (background,) * 3 + (255,)), rgba).convert("RGB")
        return (flat.convert("L") if grey else flat), ""
    return im.convert("RGB"), ""  # P, CMYK, YCbCr, LAB, HSV, RGBX: Pillow's conversions are right


def fit(image: Image.Image, size: tuple[int, int], policy: Policy) -> Image.Image:
    """`image` at (height, width) `size`: `resize` stretches, `pad` letterboxes (whole image,
    aspect kept, black bars), `crop` keeps the centre (aspect kept, borders cut)."""
    target = (size[1], size[0])  # Pillow sizes are (width, height)
    if image.size == target:
        return image
    if policy == "resize":
        return image.resize(target, RESAMPLE)
    if policy == "crop":
        return ImageOps.fit(image, target, RESAMPLE, centering=(0.5, 0.5))
    fill = PAD_FILL if image.mode == "L" else (PAD_FILL,) * 3
    return ImageOps.pad(image, target, RESAMPLE, color=fill, centering=(0.5, 0.5))


def pixels(image: Image.Image, channels: int) -> np.ndarray:
    """(H, W, channels) uint8. Colour to grey uses Pillow's luma (ITU-R 601-2); grey to colour
    repeats the grey value."""
    if channels == 1:
        return np.asarray(image.convert("L") if image.mode != "L" else image, dtype=np.uint8)[..., None]
    return np.asarray(image.convert("RGB") if image.mode != "RGB" else image, dtype=np.uint8)


def is_grey(array: np.ndarray) -> bool:
    """Grey content: one channel, or three within GREY_TOLERANCE levels of each other."""
    if array.shape[-1] == 1:
        return True
    a = array.astype(np.int16)
    return bool(np.abs(a[..., 0] - a[..., 1]).max() <= GREY_TOLERANCE
                and np.abs(a[..., 1] - a[..., 2]).max() <= GREY_TOLERANCE)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (..., 1) uint8 with Pillow's own integer luma (what convert("L") gives)."""
    r, g, b = (rgb[..., k].astype(np.uint32) for k in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]
