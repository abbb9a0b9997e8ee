"""Decoding and PaddleClas-exact preprocessing (post-processing tests: test_labels.py).

The reference pipeline below is written independently from the PaddleClas deploy spec
(``DecodeImage`` → ``ResizeImage(resize_short)`` → ``CropImage`` → ``NormalizeImage(order='')``
→ ``ToCHWImage``), one plain step after another, so the optimised implementation (resize before
the channel swap, lookup-table normalisation) is checked against the straightforward one.
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import IMAGENET_SAMPLE

from lcnet_ov.errors import ImageDecodeError, ImageTooLargeError, LcnetOVError
from lcnet_ov.inputs import preprocess as processing
from lcnet_ov.inputs.decode import DEFAULT_MAX_PIXELS, decode_image
from lcnet_ov.inputs.headers import image_format, image_size
from lcnet_ov.inputs.preprocess import (
    MAX_ASPECT_RATIO,
    check_resize,
    plan_resize,
    preprocess,
    preprocess_batch,
    preprocess_image,
)
from lcnet_ov.zoo import Preprocess

SAMPLE_DIR = IMAGENET_SAMPLE  # conftest: ../shared/imagenet-sample or $LCNET_OV_IMAGENET_SAMPLE
DEFAULT = Preprocess()
CUSTOM = Preprocess(
    resize_short=288,
    crop_size=256,
    mean=(0.5, 0.4, 0.3),
    std=(0.25, 0.2, 0.3),
    scale=1.0 / 255.0,
    channel_order="BGR",
    interpolation="bicubic",
)


# ---- Independent reference, straight from PaddleClas' deploy/python/preprocess.py semantics ------

_REF_INTERP = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


def reference_decode(data: bytes) -> np.ndarray:
    """DecodeImage(to_rgb=False): frombuffer + imdecode with flag 1."""
    return cv2.imdecode(np.frombuffer(data, dtype="uint8"), 1)


def reference_preprocess(img_bgr: np.ndarray, pp: Preprocess) -> np.ndarray:
    img = img_bgr
    # DecodeImage(to_rgb=True) swaps channels right after decoding
    if pp.channel_order == "RGB":
        img = img[:, :, ::-1]
    # ResizeImage(resize_short=...): factor first, then round each side
    img_h, img_w = img.shape[0], img.shape[1]
    factor = float(pp.resize_short) / min(img_w, img_h)
    target_w = round(img_w * factor)  # Python 3 round: half to even, returns int
    target_h = round(img_h * factor)
    img = cv2.resize(img, (target_w, target_h), interpolation=_REF_INTERP[pp.interpolation])
    # CropImage(size=crop): centre window, floor division for the start
    cur_h, cur_w = img.shape[0], img.shape[1]
    top = (cur_h - pp.crop_size) // 2
    left = (cur_w - pp.crop_size) // 2
    img = img[top : top + pp.crop_size, left : left + pp.crop_size, :]
    # NormalizeImage(order=''): float32 scale, mean and std shaped (1, 1, 3)
    scale = np.float32(pp.scale)
    mean = np.array(pp.mean).reshape((1, 1, 3)).astype("float32")
    std = np.array(pp.std).reshape((1, 1, 3)).astype("float32")
    img = (img.astype("float32") * scale - mean) / std
    # ToCHWImage
    return img.transpose((2, 0, 1)).astype("float32")


def _sample_files() -> list[Path]:
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"{SAMPLE_DIR} not present")
    files = sorted(SAMPLE_DIR.glob("*.JPEG"))
    if not files:
        pytest.skip(f"no JPEGs in {SAMPLE_DIR}")
    return files


# ---- Parity with the reference -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.imagenet
def test_parity_all_imagenet_sample_images():
    """Every sample image (~11 s for 1000) gives the identical float tensor, bit for bit."""
    files = _sample_files()
    grayscale = 0
    for f in files:
        data = f.read_bytes()
        ref_img = reference_decode(data)
        ours_img = decode_image(f)
        assert np.array_equal(ours_img, ref_img), f.name
        ref = reference_preprocess(ref_img, DEFAULT)
        ours = preprocess_image(f, DEFAULT)
        assert ours.dtype == np.float32 and ours.shape == (3, 224, 224)
        assert ours.flags.c_contiguous
        assert np.array_equal(ours, ref), f.name
        # header sizing agrees with the decoder (EXIF rotation may swap the two sides)
        w, h = image_size(data)
        assert sorted((w, h)) == sorted(ours_img.shape[:2]), f.name
        pil_gray = ref_img.ndim == 3 and np.array_equal(ref_img[..., 0], ref_img[..., 2])
        grayscale += bool(pil_gray and np.array_equal(ref_img[..., 0], ref_img[..., 1]))
    if len(files) == 1000:
        assert grayscale >= 23  # the README's grayscale JPEGs went through as 3-channel


@pytest.mark.imagenet
def test_parity_custom_spec_on_sample_subset():
    """A non-default spec (BGR, bicubic, other sizes and stats) also matches the reference."""
    files = _sample_files()[::25]
    for f in files:
        img = decode_image(f)
        assert np.array_equal(preprocess(img, CUSTOM), reference_preprocess(img, CUSTOM)), f.name


@pytest.mark.parametrize("pp", [DEFAULT, CUSTOM], ids=["default", "custom"])
@pytest.mark.parametrize(
    "shape", [(1, 1), (3, 5), (224, 224), (256, 256), (257, 300), (375, 500), (640, 41), (99, 97)]
)
def test_parity_synthetic(shape, pp):
    rng = np.random.default_rng(sum(shape))
    img = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    ours = preprocess(img, pp)
    assert ours.shape == (3, pp.crop_size, pp.crop_size)
    assert np.array_equal(ours, reference_preprocess(img, pp))


@pytest.mark.parametrize("interp", ["nearest", "area", "lanczos"])
def test_parity_other_interpolations(interp):
    pp = Preprocess(interpolation=interp)
    img = np.random.default_rng(7).integers(0, 256, size=(300, 411, 3), dtype=np.uint8)
    assert np.array_equal(preprocess(img, pp), reference_preprocess(img, pp))


def test_batch_equals_single():
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, size=s, dtype=np.uint8) for s in [(300, 400, 3), (500, 260, 3)]]
    batch = preprocess_batch(imgs, DEFAULT)
    assert batch.shape == (2, 3, 224, 224) and batch.dtype == np.float32
    for i, img in enumerate(imgs):
        assert np.array_equal(batch[i], preprocess(img, DEFAULT))
    with pytest.raises(ValueError):
        preprocess_batch([], DEFAULT)


def test_batch_error_names_the_image():
    imgs = [np.zeros((300, 300, 3), np.uint8), np.zeros((1, 3000, 3), np.uint8)]
    with pytest.raises(ImageTooLargeError, match=r"strip\.png"):
        preprocess_batch(imgs, DEFAULT, names=["ok.png", "strip.png"])


def test_normalisation_values():
    """Spot-check the maths: a mid-grey pixel maps to (128/255 - mean) / std per channel."""
    img = np.full((224, 224, 3), 128, np.uint8)
    img[..., 0] = 10  # blue in BGR, so channel 2 of the RGB tensor
    out = preprocess(img, DEFAULT)
    r = (np.float32(128) * np.float32(1 / 255) - np.float32(0.485)) / np.float32(0.229)
    b = (np.float32(10) * np.float32(1 / 255) - np.float32(0.406)) / np.float32(0.225)
    assert out[0, 0, 0] == r and out[2, 0, 0] == b


# ---- Resize planning and guards ------------------------------------------------------------------


def test_plan_resize_known_sizes():
    assert plan_resize(375, 500, DEFAULT) == (256, 341)
    assert plan_resize(500, 375, DEFAULT) == (341, 256)
    assert plan_resize(224, 224, DEFAULT) == (256, 256)
    assert plan_resize(1, 1, DEFAULT) == (256, 256)
    assert plan_resize(300, 400, CUSTOM) == (288, 384)


def test_plan_resize_rounds_half_to_even_like_paddleclas():
    # short side 512 → factor 0.5 exactly; 513 * 0.5 = 256.5 → 256, 515 * 0.5 = 257.5 → 258
    assert plan_resize(512, 513, DEFAULT) == (256, 256)
    assert plan_resize(512, 515, DEFAULT) == (256, 258)


def test_plan_resize_rejects_empty():
    with pytest.raises(ValueError):
        plan_resize(0, 10, DEFAULT)


def test_one_by_3000_refused_without_resizing(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("cv2.resize must not run for a refused image")

    monkeypatch.setattr(processing.cv2, "resize", boom)
    with pytest.raises(ImageTooLargeError, match=r"strip\.png") as ei:
        preprocess(np.zeros((1, 3000, 3), np.uint8), DEFAULT, name="strip.png")
    assert ei.value.filename == "strip.png"
    assert "768000" in str(ei.value)


def test_aspect_limit_boundary():
    limit = int(MAX_ASPECT_RATIO)
    assert check_resize(1, limit, DEFAULT) == (256, 256 * limit)
    with pytest.raises(ImageTooLargeError):
        check_resize(1, limit + 1, DEFAULT, name="x")
    with pytest.raises(ImageTooLargeError):
        check_resize(limit + 1, 1, DEFAULT, name="x")


def test_resized_pixel_budget_for_large_custom_specs():
    big = Preprocess(resize_short=2048, crop_size=224)
    with pytest.raises(ImageTooLargeError, match="budget"):
        check_resize(2048, 10000, big, name="big.jpg")


def test_strip_file_refused_with_its_name(tmp_path):
    path = tmp_path / "strip.png"
    path.write_bytes(cv2.imencode(".png", np.zeros((1, 3000, 3), np.uint8))[1].tobytes())
    assert decode_image(path).shape == (1, 3000, 3)  # decoding alone is fine
    with pytest.raises(ImageTooLargeError, match=r"strip\.png"):
        preprocess_image(path, DEFAULT)


@pytest.mark.parametrize(
    "pp",
    [
        Preprocess(resize_short=200, crop_size=224),
        Preprocess(interpolation="random"),
        Preprocess(channel_order="RGBA"),
        Preprocess(std=(0.2, 0.0, 0.2)),
    ],
)
def test_invalid_specs_rejected(pp):
    with pytest.raises(ValueError):
        preprocess(np.zeros((300, 300, 3), np.uint8), pp)


def test_preprocess_requires_bgr_uint8():
    with pytest.raises(ValueError):
        preprocess(np.zeros((300, 300), np.uint8), DEFAULT)
    with pytest.raises(ValueError):
        preprocess(np.zeros((300, 300, 3), np.float32), DEFAULT)


# ---- Decoding: formats, paths, arrays ------------------------------------------------------------


def _encode(ext: str, img: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, img, params or [])
    assert ok
    return buf.tobytes()


def test_unicode_and_space_path(tmp_path):
    img = np.random.default_rng(3).integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    path = tmp_path / "ñandú photo 1.png"
    path.write_bytes(_encode(".png", img))
    assert np.array_equal(decode_image(path), img)
    assert np.array_equal(decode_image(str(path)), img)
    assert preprocess_image(str(path), DEFAULT).shape == (3, 224, 224)


def test_grayscale_file_becomes_three_equal_channels(tmp_path):
    gray = np.arange(30 * 20, dtype=np.uint8).reshape(30, 20)
    path = tmp_path / "gray.png"
    path.write_bytes(_encode(".png", gray))
    out = decode_image(path)
    assert out.shape == (30, 20, 3) and out.dtype == np.uint8
    for c in range(3):
        assert np.array_equal(out[..., c], gray)


def test_rgba_png_drops_alpha():
    bgra = np.random.default_rng(4).integers(0, 256, size=(16, 24, 4), dtype=np.uint8)
    out = decode_image(_encode(".png", bgra), name="rgba.png")
    assert out.shape == (16, 24, 3)
    assert np.array_equal(out, bgra[..., :3])


def test_16bit_png_scaled_like_imread(tmp_path):
    img16 = np.random.default_rng(5).integers(0, 65536, size=(12, 9, 3), dtype=np.uint16)
    img16[0, 0] = (0xFFFF, 0x00FF, 0x0180)
    path = tmp_path / "deep.png"
    path.write_bytes(_encode(".png", img16))
    out = decode_image(path)
    assert out.dtype == np.uint8 and out.shape == (12, 9, 3)
    assert np.array_equal(out, cv2.imread(str(path), cv2.IMREAD_COLOR))
    assert np.array_equal(out, (img16 >> 8).astype(np.uint8))


def test_cmyk_jpeg(tmp_path, need):
    pil = need("pil")
    buf = io.BytesIO()
    pil.new("CMYK", (20, 10), (0, 255, 255, 0)).save(buf, "JPEG", quality=95)  # pure red
    path = tmp_path / "cmyk.jpg"
    path.write_bytes(buf.getvalue())
    out = decode_image(path)
    assert out.shape == (10, 20, 3) and out.dtype == np.uint8
    assert np.allclose(out[5, 10].astype(int), (0, 0, 255), atol=8)  # BGR red


def test_exif_orientation_applied_like_imread(tmp_path, need):
    pil = need("pil")
    img = pil.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))  # left half red, right half blue
    exif = pil.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rotated.jpg"
    img.save(path, "JPEG", exif=exif, quality=95)
    out = decode_image(path)
    assert out.shape == (40, 20, 3)  # portrait after rotation
    assert np.array_equal(out, cv2.imread(str(path), cv2.IMREAD_COLOR))
    # after a clockwise turn the old left (red) half is on top
    assert out[2, 10, 2] > 200 and out[2, 10, 0] < 50
    assert out[37, 10, 0] > 200 and out[37, 10, 2] < 50
    assert image_size(path.read_bytes()) == (40, 20)  # header keeps stored size


def test_gif_via_pillow(need):
    pil = need("pil")
    buf = io.BytesIO()
    pil.new("RGB", (31, 17), (0, 255, 0)).save(buf, "GIF")
    assert image_format(buf.getvalue()) == "gif"
    assert image_size(buf.getvalue()) == (31, 17)
    out = decode_image(buf.getvalue())
    assert out.shape == (17, 31, 3)


@pytest.mark.parametrize(
    ("ext", "params", "fmt"),
    [
        (".png", None, "png"),
        (".jpg", None, "jpeg"),
        (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], "jpeg"),
        (".bmp", None, "bmp"),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80], "webp"),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101], "webp"),  # lossless (VP8L)
        (".tiff", None, "tiff"),
        (".ppm", None, "pnm"),
        (".pgm", None, "pnm"),
        (".pbm", None, "pnm"),
        (".pam", None, "pnm"),
        (".pfm", None, "pnm"),
        (".hdr", None, "hdr"),
        (".ras", None, "sunras"),
        (".jp2", None, "jp2"),
        (".avif", None, "avif"),
        (".gif", None, "gif"),
    ],
)
def test_header_size_matches_decoder(ext, params, fmt):
    if not cv2.haveImageWriter("x" + ext):
        pytest.skip(f"this OpenCV cannot write {ext}")
    img = np.random.default_rng(6).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    if ext in (".pfm", ".hdr"):
        img = img.astype(np.float32) / 255
    if ext in (".pgm", ".pbm"):
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    try:
        data = _encode(ext, img, params)
    except cv2.error as e:
        pytest.skip(f"{ext} encoder unavailable: {e}")
    assert image_format(data) == fmt
    assert image_size(data) == (53, 37)
    assert decode_image(data).shape == (37, 53, 3)


def test_array_inputs():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = decode_image(gray)
    assert out.shape == (3, 4, 3) and np.array_equal(out[..., 1], gray)
    assert np.array_equal(decode_image(gray[..., None]), out)
    bgr = np.random.default_rng(8).integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    assert np.array_equal(decode_image(bgr), bgr)
    bgra = np.concatenate([bgr, np.full((5, 6, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(decode_image(bgra), bgr)
    assert decode_image(bgr[:, ::-1]).flags.c_contiguous


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((2, 4, 4, 3), np.uint8),
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((5, 0), np.uint8),
    ],
)
def test_bad_arrays_rejected(arr):
    with pytest.raises(ImageDecodeError, match="frame-7"):
        decode_image(arr, name="frame-7")


def test_array_pixel_limit():
    with pytest.raises(ImageTooLargeError):
        decode_image(np.zeros((10, 10, 3), np.uint8), max_pixels=99)
    assert decode_image(np.zeros((10, 10, 3), np.uint8), max_pixels=100).shape == (10, 10, 3)


# ---- Refusals: header pixel limit, zero size, garbage --------------------------------------------


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def crafted_png(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def crafted_jpeg(w: int, h: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 200) + b"\x00" * 200  # EXIF-sized padding
    sof = (
        b"\xff\xc0"
        + struct.pack(">HBHHB", 17, 8, h, w, 3)
        + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8" + app0 + app1 + sof + b"\xff\xda\x00\x08" + b"\x00" * 10 + b"\xff\xd9"


def crafted_gif(w: int, h: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", w, h, 0, 0, 0) + b";"


def crafted_bmp(w: int, h: int) -> bytes:
    dib = struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, 14 + len(dib)) + dib


def crafted_webp(w: int, h: int) -> bytes:
    vp8x = b"\x00\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def crafted_tiff(w: int, h: int) -> bytes:
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (277, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHII", tag, typ, count, value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00"


def crafted_ppm(w: int, h: int) -> bytes:
    return f"P6\n# made by a test\n{w} {h}\n255\n".encode() + b"\x00" * 12


CRAFTERS = {
    "png": crafted_png,
    "jpeg": crafted_jpeg,
    "gif": crafted_gif,
    "bmp": crafted_bmp,
    "webp": crafted_webp,
    "tiff": crafted_tiff,
    "pnm": crafted_ppm,
}


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any pixel decode fail loudly: refusals must happen from the header alone."""

    def boom(*a, **k):
        raise AssertionError("cv2.imdecode was called; the header check should have refused")

    monkeypatch.setattr(processing.cv2, "imdecode", boom)


@pytest.mark.parametrize("fmt", sorted(CRAFTERS))
def test_crafted_headers_are_sized(fmt):
    data = CRAFTERS[fmt](40000, 30000)
    assert image_format(data) == fmt
    assert image_size(data) == (40000, 30000)


@pytest.mark.parametrize("fmt", sorted(CRAFTERS))
def test_huge_image_refused_from_header(fmt, tmp_path, no_decoding):
    data = CRAFTERS[fmt](40000, 40000)
    assert len(data) < 1024  # tiny file, 1.6 gigapixels
    path = tmp_path / f"bomb.{fmt}"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLargeError, match="bomb") as ei:
            decode_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # numpy buffers are traced: nothing near 4.8 GB was requested
    assert ei.value.filename == str(path)
    assert "40000x40000" in str(ei.value)
    assert isinstance(ei.value, ImageDecodeError) and isinstance(ei.value, LcnetOVError)


def test_pixel_limit_is_configurable(no_decoding):
    with pytest.raises(ImageTooLargeError):
        decode_image(crafted_png(1000, 1000), max_pixels=999_999)
    assert DEFAULT_MAX_PIXELS == 178_956_970


def test_pixel_limit_can_be_disabled():
    img = np.zeros((30, 20, 3), np.uint8)
    assert decode_image(_encode(".png", img), max_pixels=None).shape == (30, 20, 3)
    with pytest.raises(ImageTooLargeError):
        decode_image(_encode(".png", img), max_pixels=10)


def test_zero_size_header_refused(tmp_path, no_decoding):
    path = tmp_path / "zero.png"
    path.write_bytes(crafted_png(0, 10))
    with pytest.raises(ImageDecodeError, match=r"zero\.png.*zero size") as ei:
        decode_image(path)
    assert not isinstance(ei.value, ImageTooLargeError)


def test_empty_file_refused(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.jpg"):
        decode_image(path)


@pytest.mark.parametrize(
    "data",
    [
        b"this is not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\xff\xd8\xff" + b"\x00" * 40,
        crafted_png(10, 10)[:40],
    ],
    ids=["text", "png-garbage", "jpeg-garbage", "png-truncated"],
)
def test_undecodable_bytes_named(tmp_path, data):
    path = tmp_path / "broken photo.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageDecodeError, match=r"broken photo\.jpg") as ei:
        decode_image(path)
    assert ei.value.filename == str(path)
    with pytest.raises(ImageDecodeError, match="upload-3"):
        decode_image(data, name="upload-3")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageDecodeError, match=r"nope\.jpg"):
        decode_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageDecodeError, match=re.escape(tmp_path.name)):
        decode_image(tmp_path)


def test_wrong_source_type():
    with pytest.raises(TypeError):
        decode_image(12345)  # type: ignore[arg-type]
