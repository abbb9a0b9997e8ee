"""Image decoding: files, bytes and arrays to BGR ``uint8`` pixels, with the size guards.

``decode_image`` reads through ``np.fromfile`` + ``cv2.imdecode`` (unicode paths, grayscale,
RGBA, 16-bit, CMYK, EXIF orientation). ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`,
PIL's decompression-bomb limit) is checked from the file *header*
(:mod:`lcnet_ov.inputs.headers`) for every format this OpenCV build decodes, before any pixel
buffer is allocated: a 40000×40000 PNG is a few hundred bytes on disk but 4.8 GB once decoded.
Headers that cannot be parsed fall through to OpenCV (which caps images at 2**30 pixels itself)
and the limit is checked again on the decoded array.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import ImageDecodeError, ImageTooLargeError
from .headers import image_format, image_size

#: PIL's ``Image.MAX_IMAGE_PIXELS``: about 0.5 GB of BGR pixels (1 GiB // 4 // 3 in PIL's terms)
DEFAULT_MAX_PIXELS = 178_956_970
#: longest side of the resized image may be at most this many times ``resize_short``: past 16:1

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray

# ---- Decoding ------------------------------------------------------------------------------------


def _check_pixels(w: int, h: int, max_pixels: int | None, name: str) -> None:
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"{name}: image has zero size ({w}x{h})", name)
    if max_pixels is not None and w * h > max_pixels:
        raise ImageTooLargeError(
            f"{name}: image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
            "(pass a larger max_pixels to allow it)",
            name,
        )


def _from_array(img: np.ndarray, max_pixels: int | None, name: str) -> np.ndarray:
    """Accept the layouts callers hold in memory; only uint8, since float ranges are ambiguous."""
    if img.dtype != np.uint8:
        raise ImageDecodeError(
            f"{name}: array images must be uint8 (got {img.dtype}); convert to 0..255 first", name
        )
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        _check_pixels(img.shape[1], img.shape[0], max_pixels, name)
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ImageDecodeError(
            f"{name}: expected an HxW, HxWx1, HxWx3 (BGR) or HxWx4 (BGRA) array, "
            f"got shape {img.shape}",
            name,
        )
    _check_pixels(img.shape[1], img.shape[0], max_pixels, name)
    return np.ascontiguousarray(img[:, :, :3])  # drop alpha as IMREAD_COLOR does for files


#: DCT-domain reductions libjpeg(-turbo) offers through OpenCV, largest first
_REDUCED = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)


def reduced_decode_flag(w: int, h: int, min_short_side: int) -> tuple[int, int]:
    """``(factor, imdecode flag)`` of the largest JPEG reduction keeping the short side
    ``>= min_short_side`` (libjpeg rounds a scaled side up: ``ceil(side / factor)``)."""
    short = min(w, h)
    for factor, flag in _REDUCED:
        if -(-short // factor) >= min_short_side:
            return factor, flag
    return 1, cv2.IMREAD_COLOR


def decode_image(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    min_short_side: int | None = None,
) -> np.ndarray:
    """Decode a path, encoded bytes or an array into a contiguous uint8 HxWx3 BGR image.

    Files go through ``np.fromfile`` + ``cv2.imdecode`` rather than ``cv2.imread`` so non-ASCII
    and spaced paths work on every OS; ``IMREAD_COLOR`` applies EXIF orientation, drops alpha,
    expands grayscale, converts CMYK and scales 16-bit to 8-bit exactly as ``cv2.imread`` does.
    ``name`` is what errors call the input (defaults to the path). ``max_pixels=None`` disables
    the pixel limit.

    ``min_short_side`` (fast decode) lets a JPEG be decoded at 1/2, 1/4 or 1/8 scale in the DCT
    domain (libjpeg-turbo's scaled IDCT) when its short side stays ``>= min_short_side``: a
    12 MP photo then costs a fraction of a full decode, since the resize that follows throws
    most of those pixels away. The result is then no longer bit-identical to PaddleClas (the
    reduction averages 2×2..8×8 blocks before the bilinear resize); other formats and small
    JPEGs decode in full. ``None`` (default) always decodes in full.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels, name or "<array>")
    if isinstance(source, (str, os.PathLike)):
        name = name or str(source)
        try:
            data = np.fromfile(Path(source), dtype=np.uint8)
        except OSError as e:
            raise ImageDecodeError(
                f"{name}: cannot read image file ({e.strerror or e})", name
            ) from e
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "<bytes>"
        data = np.frombuffer(source, dtype=np.uint8)
    else:
        raise TypeError(f"cannot decode an image from {type(source).__name__}")

    if data.size == 0:
        raise ImageDecodeError(f"{name}: empty file, not an image", name)
    size = image_size(data)
    flag = cv2.IMREAD_COLOR
    if size is not None:
        _check_pixels(size[0], size[1], max_pixels, name)
        if min_short_side is not None and image_format(data) == "jpeg":
            flag = reduced_decode_flag(size[0], size[1], min_short_side)[1]
    try:
        img = cv2.imdecode(data, flag)
    except cv2.error as e:
        raise ImageDecodeError(f"{name}: cannot decode image ({e.err or e})", name) from e
    if img is None:
        fmt = image_format(data)
        what = f"corrupt or unsupported {fmt.upper()} data" if fmt else "not a supported image"
        raise ImageDecodeError(f"{name}: cannot decode image ({what})", name)
    _check_pixels(img.shape[1], img.shape[0], max_pixels, name)
    return img
