"""One image file read right, mode by mode, files written by Pillow in their exact on-disk formats:
8- and 16-bit grey (scaled by 257, never clipped), RGBA and palette composited on the stated
background, 1-bit, CMYK and YCbCr JPEG, EXIF orientation, an animation's first frame, a file whose
extension lies; the resize policies' geometry; damaged files as BadImage, never anything else."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnreport.data import images
from cnnreport.data.images import BadImage, decode, fit, is_grey, luma, pixels


def _read(path: Path, background: str = "white") -> np.ndarray:
    return pixels(decode(path, background).image, 3)


def test_16_bit_grey_is_scaled_by_257_not_clipped(tmp_path):
    values = np.array([[0, 1, 128, 129, 256, 257], [385, 32767, 32896, 65279, 65534, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "xray.png")
    with Image.open(tmp_path / "xray.png") as im:
        assert im.mode == "I;16"  # what a 16-bit grey PNG opens as
        clipped = np.asarray(im.convert("RGB"))[..., 0]  # the old way
    got = _read(tmp_path / "xray.png")
    expected = ((values.astype(np.int64) + 128) // 257).astype(np.uint8)
    np.testing.assert_array_equal(got[..., 0], expected)
    np.testing.assert_array_equal(got[..., 1], expected)
    assert expected.tolist()[1][-1] == 255 and expected.tolist()[0][4] == 1
    assert (clipped == 255).mean() > 0.5  # what convert("RGB") made of it: mostly white


def test_16_bit_image_of_typical_range_keeps_its_mean(tmp_path):
    """The issue's case: an X-ray whose 8-bit mean should be about 120 loaded at 191-255."""
    rng = np.random.default_rng(0)
    values = np.clip(rng.normal(120 * 257, 40 * 257, (64, 64)), 0, 65535).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "scan.png")
    got = _read(tmp_path / "scan.png")[..., 0].astype(np.float64)
    assert abs(got.mean() - values.mean() / 257) < 0.6 and (got == 255).mean() < 0.01


def test_32_bit_integer_grey_is_read_as_16_bit_range_and_clipping_is_noted(tmp_path):
    values = np.array([[-5, 0, 65535, 70000]], dtype=np.int32)
    Image.fromarray(values, "I").save(tmp_path / "wide.tif")
    d = decode(tmp_path / "wide.tif")
    assert np.asarray(d.image).tolist() == [[0, 0, 255, 255]]
    assert d.notes == [("out_of_range", "2 pixel values outside 0–65535 clipped")]


@pytest.mark.parametrize("background, value", [("white", 255), ("black", 0)])
def test_rgba_is_composited_on_the_stated_background(tmp_path, background, value):
    rgba = np.array([[[200, 100, 50, 0], [200, 100, 50, 255], [200, 100, 50, 128]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = _read(tmp_path / "a.png", background)[0].astype(int)
    assert got[0].tolist() == [value] * 3
    assert got[1].tolist() == [200, 100, 50]
    a = 128 / 255
    np.testing.assert_allclose(got[2], np.array([200, 100, 50]) * a + value * (1 - a), atol=1)


def test_palette_with_transparency_and_grey_with_alpha(tmp_path):
    pal = Image.fromarray(np.array([[0, 1, 2]], dtype=np.uint8), "P")
    pal.putpalette([9, 9, 9, 255, 0, 0, 0, 0, 255])
    pal.save(tmp_path / "p.png", transparency=0)
    assert _read(tmp_path / "p.png")[0].tolist() == [[255, 255, 255], [255, 0, 0], [0, 0, 255]]
    la = np.array([[[40, 0], [40, 255]]], dtype=np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    d = decode(tmp_path / "la.png", "black")
    assert d.image.mode == "L" and np.asarray(d.image).tolist() == [[0, 40]]


def test_one_bit_and_8_bit_grey(tmp_path):
    Image.fromarray(np.array([[True, False]])).save(tmp_path / "bw.png")
    assert np.asarray(decode(tmp_path / "bw.png").image).tolist() == [[255, 0]]
    Image.fromarray(np.array([[7, 200]], dtype=np.uint8)).save(tmp_path / "g.png")
    d = decode(tmp_path / "g.png")
    assert d.image.mode == "L" and pixels(d.image, 3).tolist() == [[[7, 7, 7], [200, 200, 200]]]


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    rng = np.random.default_rng(1)
    cmyk = np.clip(rng.normal(70, 25, (24, 24, 4)), 0, 255).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "print.jpg", quality=100)
    with Image.open(tmp_path / "print.jpg") as im:
        assert im.mode == "CMYK"
    got = _read(tmp_path / "print.jpg").astype(int)
    # CMYK -> RGB from the generated ink values: R = (255 - C)(255 - K) / 255, and so on
    ink = cmyk.astype(np.float64)
    expected = (255 - ink[..., :3]) * (255 - ink[..., 3:]) / 255
    assert np.abs(got - expected).mean() < 1.5 and np.abs(got - expected).max() <= 6


def test_ycbcr_image_saved_as_jpeg_reads_as_its_rgb(tmp_path):
    rgb = np.random.default_rng(2).integers(30, 220, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("YCbCr").save(tmp_path / "y.jpg", quality=100, subsampling=0)
    assert np.abs(_read(tmp_path / "y.jpg").astype(int) - rgb).mean() < 2.5


@pytest.mark.parametrize("orientation, turn", [(3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(tmp_path, orientation, turn):
    stored = np.zeros((8, 16, 3), np.uint8)
    stored[:4, :8] = 240  # the top-left quarter is bright
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "phone.jpg", quality=100, exif=exif.tobytes())
    d = decode(tmp_path / "phone.jpg")
    shown = np.rot90(stored, turn)  # what a viewer shows (numpy turns counter-clockwise)
    assert d.size == shown.shape[:2]
    assert np.abs(pixels(d.image, 3).astype(int) - shown).mean() < 4


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((4, 4), v, np.uint8)) for v in (10, 120, 250)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], loop=0)
    d = decode(tmp_path / "a.gif")
    assert np.asarray(d.image.convert("L")).tolist() == [[10] * 4] * 4
    assert d.notes == [("animated", "3 frames; the first is used")]


def test_a_file_whose_extension_lies_is_read_as_what_it_is(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "really-a-png.jpg", format="PNG")
    d = decode(tmp_path / "really-a-png.jpg")
    assert pixels(d.image, 3).tolist() == rgb.tolist()
    assert d.notes == [("format_mismatch", "a PNG file named .jpg; read as PNG")]


@pytest.mark.parametrize("damage, kind", [("empty", "empty"), ("truncated", "undecodable"),
                                          ("text", "not_an_image"), ("header_only", "not_an_image")])
def test_bad_files_are_bad_images_with_a_kind(tmp_path, damage, kind):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "PNG")
    raw = buf.getvalue()
    data = {"empty": b"", "truncated": raw[: len(raw) // 2], "text": b"name,label\nx,y\n",
            "header_only": raw[:40]}[damage]
    (tmp_path / "bad.png").write_bytes(data)
    with pytest.raises(BadImage) as info:
        decode(tmp_path / "bad.png")
    assert info.value.kind == kind and "\n" not in info.value.detail


def test_an_unreadable_file_is_a_bad_image(tmp_path):
    with pytest.raises(BadImage) as info:
        decode(tmp_path / "missing.png")
    assert info.value.kind == "unreadable"


# ------------------------------------------------------------------------------------ geometry


def _frame(h: int, w: int) -> Image.Image:
    return Image.fromarray(np.full((h, w), 200, np.uint8))


def test_pad_letterboxes_with_black_bars_and_keeps_the_whole_image():
    out = np.asarray(fit(_frame(10, 20), (20, 20), "pad"))
    assert out.shape == (20, 20)
    assert (out[:5] == images.PAD_FILL).all() and (out[-5:] == images.PAD_FILL).all()  # bars above and below
    assert (out[6:14] == 200).all()  # the image, scaled to 20 wide, whole


def test_crop_keeps_the_centre_and_resize_stretches():
    wide = np.zeros((10, 30), np.uint8)
    wide[:, 10:20] = 255  # a bright centre third
    cropped = np.asarray(fit(Image.fromarray(wide), (10, 10), "crop"))
    assert cropped.shape == (10, 10) and cropped.mean() > 250  # only the centre is left
    stretched = np.asarray(fit(Image.fromarray(wide), (10, 10), "resize"))
    assert stretched.shape == (10, 10) and 60 < stretched.mean() < 110  # all of it, squeezed


def test_an_image_at_the_size_is_left_as_it_is():
    image = Image.fromarray(np.random.default_rng(5).integers(0, 255, (6, 8), dtype=np.uint8))
    for policy in ("resize", "pad", "crop"):
        assert np.asarray(fit(image, (6, 8), policy)).tolist() == np.asarray(image).tolist()


def test_luma_is_pillows_own_and_grey_content_is_told_apart():
    rgb = np.random.default_rng(6).integers(0, 256, (9, 9, 3), dtype=np.uint8)
    np.testing.assert_array_equal(luma(rgb)[..., 0], np.asarray(Image.fromarray(rgb).convert("L")))
    grey = np.repeat(rgb[..., :1], 3, axis=-1)
    assert is_grey(grey) and not is_grey(rgb)
    nearly = grey.astype(int)
    nearly[..., 2] = np.clip(nearly[..., 2] + 2, 0, 255)  # JPEG chroma rounding
    assert is_grey(nearly.astype(np.uint8))


# --------------------------------------------------------------------------------------- fuzzing


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 400), flips=st.lists(st.integers(0, 399), max_size=6), ext=st.sampled_from([".png", ".jpg", ".gif"]))
def test_fuzz_decode_raises_only_bad_image(tmp_path_factory, cut, flips, ext):
    buf = io.BytesIO()
    fmt = {".png": "PNG", ".jpg": "JPEG", ".gif": "GIF"}[ext]
    Image.fromarray(np.random.default_rng(7).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(buf, fmt)
    raw = bytearray(buf.getvalue()[:cut] if cut < len(buf.getvalue()) else buf.getvalue())
    for i in flips:
        if i < len(raw):
            raw[i] ^= 0x5A
    path = tmp_path_factory.mktemp("fuzz") / f"f{ext}"
    path.write_bytes(bytes(raw))
    try:
        d = decode(path)
    except BadImage as bad:
        assert bad.kind in ("empty", "not_an_image", "undecodable", "too_large") and "\n" not in bad.detail
    else:
        assert d.image.mode in ("L", "RGB") and d.size == (d.image.height, d.image.width)


def test_a_truncated_file_stays_an_error_after_weasyprint_is_imported(tmp_path):
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import: a truncated image
    would then load with grey rows, silently."""
    from PIL import ImageFile

    import weasyprint  # noqa: F401 - imported for its side effect

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(8).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(BadImage) as info:
        decode(tmp_path / "cut.png")
    assert info.value.kind == "undecodable" and ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored
