"""Image decoding and preprocessing, as PaddleClas deploy and PaddleX 3 do it.

Pure numpy + OpenCV (no OpenVINO import) so the exact tensor a model sees can be built, tested
and compared against PaddleClas without loading a network.

Preprocessing reproduces PaddleClas ``deploy/python/preprocess.py`` bit for bit: ``DecodeImage``
(``cv2.imdecode`` + BGR→RGB), ``ResizeImage(resize_short)`` (scale factor computed first, then
``int(round(side * factor))`` with Python's round-half-to-even, ``cv2.resize``),
``CropImage`` (``(W - crop) // 2``), ``NormalizeImage`` (float32 ``x * scale - mean) / std``) and
``ToCHWImage``. The model's own config (:mod:`lcnet_ov.inputs.model_config`) may instead ask
for a fixed ``ResizeImage(size=[w, h])`` without crop (text lines: 160x80), Pillow's resize
(``backend: pil``: an antialiasing filter, not OpenCV's) or PaddleX 3's normalisation
``x * f32(scale / std) + f32(-mean / std)``; each is reproduced the same way. Normalisation
runs through a per-channel 256-entry lookup table built with those very float32 operations,
so it is exact and several times faster than elementwise arithmetic.

Guards (why they exist):

* ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`, PIL's decompression-bomb limit) is checked
  from the file *header* (:mod:`lcnet_ov.inputs.headers`) for every format this OpenCV build
  decodes,
  before any pixel buffer is allocated: a 40000×40000 PNG is a few hundred bytes on disk but
  4.8 GB once decoded. Headers that cannot be parsed fall through to OpenCV (which caps images
  at 2**30 pixels itself) and the limit is checked again on the decoded array.
* :data:`MAX_ASPECT_RATIO` and :data:`MAX_RESIZED_PIXELS` bound the *resized* image: resizing the
  short side up to 256 turns a 1×3000 strip into a 256×768000 array (590 MB) whose 224×224
  centre crop shows 0.03 % of the picture, so such inputs are refused instead.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import cv2
import numpy as np

from ..errors import ImageTooLargeError
from ..zoo import Preprocess
from .decode import DEFAULT_MAX_PIXELS, ImageSource, decode_image

#: the centre crop sees under 1/16 of the picture and the resize buffer grows without bound
MAX_ASPECT_RATIO = 16.0
#: absolute budget for the resized image (16 Mi pixels, 48 MB of BGR): only custom specs with a
#: large ``resize_short`` get near it; the default spec tops out at 256×4096 = 1 Mi pixels
MAX_RESIZED_PIXELS = 16 * 1024 * 1024


_INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
#: Pillow's filters by the same names (``Image.Resampling`` member names)
_PIL_FILTERS = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "box": "BOX",
    "lanczos": "LANCZOS",
}


# ---- Preprocessing -------------------------------------------------------------------------------


def _validate(pp: Preprocess) -> None:
    """Reject specs PaddleClas would crash on (or silently mis-handle) before touching pixels."""
    if (pp.resize_short is None) == (pp.resize_size is None):
        raise ValueError(f"exactly one of resize_short and resize_size must be set: {pp}")
    if pp.resize_short is not None and pp.crop_size is None:
        raise ValueError(f"resize_short without crop_size gives a size per image: {pp}")
    sides = [pp.resize_short, pp.crop_size, *(pp.resize_size or ())]
    if any(v is not None and v <= 0 for v in sides):
        raise ValueError(f"resize and crop sizes must be positive: {pp}")
    smallest = pp.resize_short if pp.resize_short is not None else min(pp.resize_size or (0,))
    if pp.crop_size is not None and smallest < pp.crop_size:
        raise ValueError(
            f"resize to {smallest} is smaller than crop_size={pp.crop_size}: "
            "the centre crop would not fit"
        )
    if pp.backend not in ("cv2", "pil"):
        raise ValueError(f"backend must be 'cv2' or 'pil', got {pp.backend!r}")
    if pp.norm_formula not in ("paddleclas", "paddlex"):
        raise ValueError(f"norm_formula must be 'paddleclas' or 'paddlex': {pp.norm_formula!r}")
    if len(pp.mean) != 3 or len(pp.std) != 3 or any(s == 0 for s in pp.std):
        raise ValueError(f"mean/std need 3 values and std must be non-zero: {pp}")
    if pp.channel_order.upper() not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {pp.channel_order!r}")
    table = _PIL_FILTERS if pp.backend == "pil" else _INTERPOLATIONS
    if pp.interpolation.lower() not in table:
        raise ValueError(
            f"unsupported interpolation {pp.interpolation!r} for {pp.backend}; "
            f"choose from {', '.join(sorted(table))}"
        )


def plan_resize(h: int, w: int, pp: Preprocess) -> tuple[int, int]:
    """``(new_h, new_w)`` that PaddleClas ``ResizeImage(resize_short=...)`` resizes to.

    The factor is computed first and then multiplied (``w * (s / min)``, not ``w * s / min``) and
    rounded with Python's ``round`` (half to even), because that is what PaddleClas does and a
    different float path flips sizes that land on .5.
    """
    if h <= 0 or w <= 0:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    if pp.resize_short is None:
        assert pp.resize_size is not None
        return pp.resize_size[1], pp.resize_size[0]
    percent = float(pp.resize_short) / min(w, h)
    return round(h * percent), round(w * percent)


def check_resize(h: int, w: int, pp: Preprocess, *, name: str | None = None) -> tuple[int, int]:
    """:func:`plan_resize` plus the size guards; raises :class:`ImageTooLargeError` naming ``name``.

    Refused when the resized long side exceeds ``MAX_ASPECT_RATIO × resize_short`` (a 16:1 strip
    or worse) or the resized image exceeds ``MAX_RESIZED_PIXELS``.
    """
    label = name or "<image>"
    new_h, new_w = plan_resize(h, w, pp)
    if pp.resize_short is None:
        return new_h, new_w  # a fixed size: nothing grows with the input
    if max(new_h, new_w) > MAX_ASPECT_RATIO * pp.resize_short:
        raise ImageTooLargeError(
            f"{label}: image is {w}x{h} (aspect {max(w, h) / min(w, h):.1f}:1); resizing its "
            f"short side to {pp.resize_short} would give {new_w}x{new_h}, beyond the "
            f"{MAX_ASPECT_RATIO:g}:1 limit. Crop it to a less elongated region first",
            name,
        )
    if new_h * new_w > MAX_RESIZED_PIXELS:
        raise ImageTooLargeError(
            f"{label}: resizing {w}x{h} to {new_w}x{new_h} exceeds the budget of "
            f"{MAX_RESIZED_PIXELS:,} pixels",
            name,
        )
    return new_h, new_w


@functools.lru_cache(maxsize=32)
def _channel_luts(pp: Preprocess) -> tuple[tuple[int, np.ndarray], ...]:
    """Per network channel: the BGR plane it reads and a ``(1, 256)`` float32 table for it.

    Entries are NormalizeImage's exact float32 ops applied to every byte,
    ``(float32(v) * float32(scale) - float32(mean)) / float32(std)`` in PaddleClas' order, or
    PaddleX 3's ``float32(v) * float32(scale / std) + float32(-mean / std)`` (constants in
    float64 first), so a lookup reproduces either output bit for bit. ``cv2.LUT`` on a split
    plane writes straight into the output tensor with the GIL released, where ``np.take``
    would first cast the uint8 indices to int64.
    """
    values, scale = np.arange(256, dtype=np.float32)[None, :], np.float32(pp.scale)
    if pp.norm_formula == "paddlex":
        alpha = np.asarray([pp.scale / s for s in pp.std], dtype=np.float32)[:, None]
        beta = np.asarray([-m / s for m, s in zip(pp.mean, pp.std, strict=True)], np.float32)
        lut = values * alpha + beta[:, None]
    else:
        mean, std = (np.asarray(v, dtype=np.float32)[:, None] for v in (pp.mean, pp.std))
        lut = (values * scale - mean) / std
    src = (2, 1, 0) if pp.channel_order.upper() == "RGB" else (0, 1, 2)
    return tuple((s, np.ascontiguousarray(lut[ch]).reshape(1, 256)) for ch, s in enumerate(src))


def _pil_resize(img: np.ndarray, size_wh: tuple[int, int], interpolation: str) -> np.ndarray:
    """Pillow's ``Image.resize`` (PaddleX/PaddleClas ``backend: pil``), on BGR as well as RGB:
    every filter works per channel, so the channel order does not change the values."""
    try:
        from PIL import Image
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError(
            "this model's config resizes with Pillow (backend: pil); install it with: "
            "pip install pillow"
        ) from exc
    if (img.shape[1], img.shape[0]) == size_wh:
        return img
    flt = getattr(Image.Resampling, _PIL_FILTERS[interpolation.lower()])
    return np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize(size_wh, flt))


def resize_crop(img_bgr: np.ndarray, pp: Preprocess, *, name: str | None = None) -> np.ndarray:
    """Resize (short side or fixed size) + optional centre crop: the uint8 BGR image an IR with
    folded preprocessing takes, ``input_hw`` in size."""
    if img_bgr.dtype != np.uint8 or img_bgr.ndim != 3 or img_bgr.shape[2] != 3:
        raise ValueError(
            f"{name or '<image>'}: preprocess expects uint8 HxWx3 BGR (use decode_image), "
            f"got {img_bgr.dtype} {img_bgr.shape}"
        )
    h, w = img_bgr.shape[:2]
    new_h, new_w = check_resize(h, w, pp, name=name)
    # Resizing before the BGR→RGB swap is bit-identical (every interpolation is per channel)
    # and avoids copying a negative-stride view.
    if pp.backend == "pil":
        resized = _pil_resize(img_bgr, (new_w, new_h), pp.interpolation)
    else:
        resized = cv2.resize(
            np.ascontiguousarray(img_bgr),
            (new_w, new_h),
            interpolation=_INTERPOLATIONS[pp.interpolation.lower()],
        )
    c = pp.crop_size
    if c is None:
        return resized
    y0, x0 = (new_h - c) // 2, (new_w - c) // 2
    return resized[y0 : y0 + c, x0 : x0 + c]


def _normalize_into(crop: np.ndarray, pp: Preprocess, out: np.ndarray) -> None:
    planes = cv2.split(crop)
    for ch, (s, lut) in enumerate(_channel_luts(pp)):
        cv2.LUT(planes[s], lut, dst=out[ch])  # out[ch] is a contiguous float32 plane: in place


def _preprocess_into(img_bgr: np.ndarray, pp: Preprocess, out: np.ndarray, name: str | None):
    _normalize_into(resize_crop(img_bgr, pp, name=name), pp, out)


def normalize(crops_bgr: np.ndarray, pp: Preprocess) -> np.ndarray:
    """uint8 BGR crops ``N×H×W×3`` → float32 ``N×3×H×W``: NormalizeImage + ToCHW, bit for bit.

    The one normalization of the package: :func:`preprocess` ends with it, datasets and
    verification call it on crops they already hold, and :func:`folded_normalization` gives
    the same affine map for OpenVINO's graph.
    """
    x = np.asarray(crops_bgr)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3:
        raise ValueError(f"normalize expects uint8 N×H×W×3 BGR crops, got {x.dtype} {x.shape}")
    _validate(pp)
    out = np.empty((x.shape[0], 3, x.shape[1], x.shape[2]), dtype=np.float32)
    for i in range(len(x)):
        _normalize_into(x[i], pp, out[i])
    return out


def folded_normalization(pp: Preprocess) -> tuple[bool, list[float], list[float]]:
    """``(to_rgb, mean, std)`` of NormalizeImage rewritten on the raw 0..255 values.

    ``(x * scale - mean) / std == (x - mean/scale) / (std/scale)``, so a graph that takes uint8
    pixels subtracts and divides by these. Equal in real arithmetic, not bit for bit in float32
    (the tests bound the difference by 1e-5 on probabilities).
    """
    to_rgb = pp.channel_order.upper() == "RGB"
    return to_rgb, [m / pp.scale for m in pp.mean], [s / pp.scale for s in pp.std]


def preprocess(img_bgr: np.ndarray, pp: Preprocess, *, name: str | None = None) -> np.ndarray:
    """One uint8 HxWx3 BGR image → float32 ``(3, crop, crop)`` tensor, exactly as PaddleClas."""
    _validate(pp)
    out = np.empty((3, *pp.input_hw), dtype=np.float32)
    _preprocess_into(img_bgr, pp, out, name)
    return out


def preprocess_batch(
    images: Sequence[np.ndarray], pp: Preprocess, *, names: Sequence[str] | None = None
) -> np.ndarray:
    """A list of BGR images → float32 ``(N, 3, crop, crop)``, written in place (no stack copy)."""
    if len(images) == 0:
        raise ValueError("preprocess_batch needs at least one image")
    if names is not None and len(names) != len(images):
        raise ValueError(f"{len(names)} names for {len(images)} images")
    _validate(pp)
    out = np.empty((len(images), 3, *pp.input_hw), dtype=np.float32)
    for i, img in enumerate(images):
        _preprocess_into(img, pp, out[i], names[i] if names is not None else None)
    return out


def fast_decode_side(pp: Preprocess) -> int | None:
    """The short side a reduced-scale JPEG decode must keep, or ``None`` (decode in full).

    Only resize-short with OpenCV may decode small: a fixed-size or Pillow resize of a
    smaller decode would not give the reference's pixels."""
    return pp.resize_short if pp.backend == "cv2" else None


def preprocess_image(
    source: ImageSource,
    pp: Preprocess,
    *,
    name: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    fast_decode: bool = False,
) -> np.ndarray:
    """:func:`decode_image` then :func:`preprocess`, with errors naming the file.

    ``fast_decode`` lets a large JPEG decode at a reduced scale that still covers
    ``pp.resize_short`` (see :func:`decode_image`'s ``min_short_side``)."""
    if name is None and isinstance(source, (str, os.PathLike)):
        name = str(source)
    img = decode_image(
        source,
        name=name,
        max_pixels=max_pixels,
        min_short_side=fast_decode_side(pp) if fast_decode else None,
    )
    return preprocess(img, pp, name=name)
