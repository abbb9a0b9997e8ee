"""Image decoding, PaddleClas deploy preprocessing and top-k post-processing.

Pure numpy + OpenCV (no OpenVINO import) so the exact tensor a model sees can be built, tested
and compared against PaddleClas without loading a network.

Preprocessing reproduces PaddleClas ``deploy/python/preprocess.py`` bit for bit: ``DecodeImage``
(``cv2.imdecode`` + BGR→RGB), ``ResizeImage(resize_short)`` (scale factor computed first, then
``int(round(side * factor))`` with Python's round-half-to-even, ``cv2.resize``),
``CropImage`` (``(W - crop) // 2``), ``NormalizeImage`` (float32 ``x * scale - mean) / std``) and
``ToCHWImage``. Normalisation runs through a per-channel 256-entry lookup table built with those
very float32 operations, so it is exact and several times faster than elementwise arithmetic.

Guards (why they exist):

* ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`, PIL's decompression-bomb limit) is checked
  from the file *header* (:mod:`lcnet_ov.headers`) for every format this OpenCV build decodes,
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ImageDecodeError, ImageTooLargeError
from .headers import image_format, image_size
from .zoo import Preprocess

#: PIL's ``Image.MAX_IMAGE_PIXELS``: about 0.5 GB of BGR pixels (1 GiB // 4 // 3 in PIL's terms)
DEFAULT_MAX_PIXELS = 178_956_970
#: longest side of the resized image may be at most this many times ``resize_short``: past 16:1
#: the centre crop sees under 1/16 of the picture and the resize buffer grows without bound
MAX_ASPECT_RATIO = 16.0
#: absolute budget for the resized image (16 Mi pixels, 48 MB of BGR): only custom specs with a
#: large ``resize_short`` get near it; the default spec tops out at 256×4096 = 1 Mi pixels
MAX_RESIZED_PIXELS = 16 * 1024 * 1024

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray

_INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


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


# ---- Preprocessing -------------------------------------------------------------------------------


def _validate(pp: Preprocess) -> None:
    """Reject specs PaddleClas would crash on (or silently mis-handle) before touching pixels."""
    if pp.resize_short <= 0 or pp.crop_size <= 0:
        raise ValueError(f"resize_short and crop_size must be positive: {pp}")
    if pp.resize_short < pp.crop_size:
        raise ValueError(
            f"resize_short={pp.resize_short} is smaller than crop_size={pp.crop_size}: "
            "the centre crop would not fit"
        )
    if len(pp.mean) != 3 or len(pp.std) != 3 or any(s == 0 for s in pp.std):
        raise ValueError(f"mean/std need 3 values and std must be non-zero: {pp}")
    if pp.channel_order.upper() not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {pp.channel_order!r}")
    if pp.interpolation.lower() not in _INTERPOLATIONS:
        raise ValueError(
            f"unsupported interpolation {pp.interpolation!r}; "
            f"choose from {', '.join(sorted(_INTERPOLATIONS))}"
        )


def plan_resize(h: int, w: int, pp: Preprocess) -> tuple[int, int]:
    """``(new_h, new_w)`` that PaddleClas ``ResizeImage(resize_short=...)`` resizes to.

    The factor is computed first and then multiplied (``w * (s / min)``, not ``w * s / min``) and
    rounded with Python's ``round`` (half to even), because that is what PaddleClas does and a
    different float path flips sizes that land on .5.
    """
    if h <= 0 or w <= 0:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    percent = float(pp.resize_short) / min(w, h)
    return round(h * percent), round(w * percent)


def check_resize(h: int, w: int, pp: Preprocess, *, name: str | None = None) -> tuple[int, int]:
    """:func:`plan_resize` plus the size guards; raises :class:`ImageTooLargeError` naming ``name``.

    Refused when the resized long side exceeds ``MAX_ASPECT_RATIO × resize_short`` (a 16:1 strip
    or worse) or the resized image exceeds ``MAX_RESIZED_PIXELS``.
    """
    label = name or "<image>"
    new_h, new_w = plan_resize(h, w, pp)
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
    ``(float32(v) * float32(scale) - float32(mean)) / float32(std)`` in PaddleClas' order, so a
    lookup reproduces its output bit for bit. ``cv2.LUT`` on a split plane writes straight into
    the output tensor with the GIL released, about 2.5× faster than ``np.take`` (which first
    casts the uint8 indices to int64).
    """
    values, scale = np.arange(256, dtype=np.float32)[None, :], np.float32(pp.scale)
    mean, std = (np.asarray(v, dtype=np.float32)[:, None] for v in (pp.mean, pp.std))
    lut = (values * scale - mean) / std
    src = (2, 1, 0) if pp.channel_order.upper() == "RGB" else (0, 1, 2)
    return tuple((s, np.ascontiguousarray(lut[ch]).reshape(1, 256)) for ch, s in enumerate(src))


def resize_crop(img_bgr: np.ndarray, pp: Preprocess, *, name: str | None = None) -> np.ndarray:
    """Resize-short + center-crop only: the uint8 BGR crop an IR with folded preprocessing takes."""
    if img_bgr.dtype != np.uint8 or img_bgr.ndim != 3 or img_bgr.shape[2] != 3:
        raise ValueError(
            f"{name or '<image>'}: preprocess expects uint8 HxWx3 BGR (use decode_image), "
            f"got {img_bgr.dtype} {img_bgr.shape}"
        )
    h, w = img_bgr.shape[:2]
    new_h, new_w = check_resize(h, w, pp, name=name)
    # Resizing before the BGR→RGB swap is bit-identical (every interpolation is per channel)
    # and avoids copying a negative-stride view.
    resized = cv2.resize(
        np.ascontiguousarray(img_bgr),
        (new_w, new_h),
        interpolation=_INTERPOLATIONS[pp.interpolation.lower()],
    )
    c = pp.crop_size
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
    out = np.empty((3, pp.crop_size, pp.crop_size), dtype=np.float32)
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
    out = np.empty((len(images), 3, pp.crop_size, pp.crop_size), dtype=np.float32)
    for i, img in enumerate(images):
        _preprocess_into(img, pp, out[i], names[i] if names is not None else None)
    return out


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
        min_short_side=pp.resize_short if fast_decode else None,
    )
    return preprocess(img, pp, name=name)


# ---- Post-processing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """Top-k result for one image, in PaddleClas ``Topk`` terms (best first)."""

    class_ids: tuple[int, ...]
    scores: tuple[float, ...]  # as the model gave them; rounded only for display
    label_names: tuple[str, ...] = ()
    filename: str | None = None

    @property  # top-1 shortcuts
    def class_id(self) -> int:
        return self.class_ids[0]

    @property
    def score(self) -> float:
        return self.scores[0]

    @property
    def label_name(self) -> str | None:
        return self.label_names[0] if self.label_names else None

    def rounded_scores(self, decimals: int = 5) -> list[float]:
        """Scores rounded with ``np.around`` as PaddleClas does (so 0.0036 prints as 0.0036)."""
        return np.around(np.asarray(self.scores, dtype=np.float64), decimals).tolist()

    def to_dict(self, decimals: int | None = 5) -> dict[str, Any]:
        """The dict the ``paddleclas`` package returns; ``decimals=None`` keeps full scores."""
        scores = list(self.scores) if decimals is None else self.rounded_scores(decimals)
        d: dict[str, Any] = {
            "class_ids": list(self.class_ids),
            "scores": scores,
            "label_names": list(self.label_names),
        }
        if self.filename is not None:
            d["filename"] = self.filename
        return d

    def format(self) -> str:
        """PaddleClas' log line: ``class_ids: [...], scores: [...], label_names: [...]``.

        ``, filename: ...`` is appended when the prediction has one.
        """
        line = (
            f"class_ids: {list(self.class_ids)}, scores: {self.rounded_scores(5)}, "
            f"label_names: {list(self.label_names)}"
        )
        if self.filename is not None:
            line += f", filename: {self.filename}"
        return line

    def __str__(self) -> str:
        return self.format()


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax for callers holding logits (official exports don't need it)."""
    x = np.asarray(logits)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def is_probability(x: np.ndarray, atol: float = 1e-3) -> bool:
    """True when every row (last axis) is finite, non-negative and sums to 1 within ``atol``.

    Used to tell a model that already ends in Softmax from one that emits logits, so softmax is
    never applied twice.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0 or a.ndim == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        return False
    return bool(np.all(np.abs(a.sum(axis=-1) - 1.0) <= atol))


def topk_ids(scores: np.ndarray, k: int) -> np.ndarray:
    """Class ids of the ``k`` best scores per row of ``[N, C]``, best first (``k`` clipped to C).

    Ties rank the lower class id first (stable sort on float64), so every caller (top-k
    predictions, evaluation, verification) orders classes the same way.
    """
    p = np.asarray(scores)
    return np.argsort(-p.astype(np.float64), axis=1, kind="stable")[:, : min(k, p.shape[1])]


def topk(
    probs: np.ndarray,
    k: int = 5,
    labels: Sequence[str] | None = None,
    filenames: Sequence[str | None] | None = None,
) -> list[Prediction]:
    """Top-``k`` per row of ``probs`` ``[N, C]`` (a 1-D vector counts as one row).

    Scores are used as given: PaddleClas exports already end in Softmax. Ties rank the lower
    class id first (stable sort), so results are deterministic; ``k`` is clipped to ``C``.
    """
    p = np.asarray(probs)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"topk expects scores shaped [N, C] with C > 0, got {p.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n, c = p.shape
    if labels is not None and len(labels) != c:
        raise ValueError(f"{len(labels)} labels for a model with {c} outputs")
    if filenames is not None and len(filenames) != n:
        raise ValueError(f"{len(filenames)} filenames for {n} results")
    if not np.all(np.isfinite(p)):
        rows = np.nonzero(~np.all(np.isfinite(p), axis=1))[0].tolist()
        which = [filenames[r] for r in rows] if filenames is not None else rows
        raise ValueError(f"non-finite scores (NaN/inf) in results for {which}")
    order = topk_ids(p, k)
    return [
        Prediction(
            class_ids=tuple(int(i) for i in ids),
            scores=tuple(float(p[r, i]) for i in ids),
            label_names=tuple(labels[i] for i in ids) if labels is not None else (),
            filename=filenames[r] if filenames is not None else None,
        )
        for r, ids in enumerate(order)
    ]
