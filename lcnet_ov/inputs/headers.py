"""Image size from the file header alone, for every format this OpenCV build decodes.

Why it exists: a pixel limit must be checked *before* decoding, because a 40000×40000 PNG is a
few hundred bytes on disk but 4.8 GB once decoded. ``cv2.imdecode`` offers no header-only
mode, so each format's size field is read here (pure Python, a few microseconds per file).
Sizers may raise ``struct.error``/``ValueError``/``IndexError`` on truncated input;
:func:`image_size` turns that into "unknown" and OpenCV then gets to reject the file itself.
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections.abc import Callable, Iterator

import numpy as np

_JPEG_SOF = frozenset(
    (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF)
)
_JPEG_NO_LENGTH = frozenset((0x00, 0x01, *range(0xD0, 0xD9)))


def _jpeg_size(b: memoryview) -> tuple[int, int] | None:
    """Walk JPEG marker segments to the first SOFn, skipping APPn (EXIF thumbnails included)."""
    n, i = len(b), 2
    while i < n:
        if b[i] != 0xFF:  # libjpeg skips extraneous bytes between segments; so do we
            i += 1
            continue
        while i < n - 1 and b[i] == 0xFF:  # fill bytes
            i += 1
        marker, i = b[i], i + 1
        if marker in _JPEG_NO_LENGTH:
            continue
        if marker in (0xD9, 0xDA):  # EOI / SOS before any frame header
            return None
        if marker in _JPEG_SOF:
            h, w = struct.unpack_from(">HH", b, i + 3)  # length(2) precision(1) height width
            return w, h
        i += struct.unpack_from(">H", b, i)[0]
    return None


def _png_size(b: memoryview) -> tuple[int, int] | None:
    return struct.unpack_from(">II", b, 16) if bytes(b[12:16]) == b"IHDR" else None


def _bmp_size(b: memoryview) -> tuple[int, int] | None:
    dib = struct.unpack_from("<I", b, 14)[0]
    if dib == 12:  # BITMAPCOREHEADER: 16-bit dimensions
        return struct.unpack_from("<HH", b, 18)
    if dib not in (16, 40, 52, 56, 64, 108, 124):  # not a real DIB header: text starting "BM"
        return None
    w, h = struct.unpack_from("<ii", b, 18)
    return abs(w), abs(h)  # negative height means top-down rows


def _webp_size(b: memoryview) -> tuple[int, int] | None:
    chunk = bytes(b[12:16])
    if chunk == b"VP8X":  # extended: 24-bit canvas size minus one
        return int.from_bytes(b[24:27], "little") + 1, int.from_bytes(b[27:30], "little") + 1
    if chunk == b"VP8L" and b[20] == 0x2F:  # lossless: 14-bit sizes minus one
        bits = struct.unpack_from("<I", b, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and bytes(b[23:26]) == b"\x9d\x01\x2a":  # lossy key frame
        w, h = struct.unpack_from("<HH", b, 26)
        return w & 0x3FFF, h & 0x3FFF
    return None


def _tiff_size(b: memoryview) -> tuple[int, int] | None:
    """Read ImageWidth/ImageLength from the first IFD (the page ``IMREAD_COLOR`` decodes)."""
    order = "<" if bytes(b[:2]) == b"II" else ">"
    ifd = struct.unpack_from(order + "I", b, 4)[0]
    dims: dict[int, int] = {}
    for k in range(struct.unpack_from(order + "H", b, ifd)[0]):
        tag, typ = struct.unpack_from(order + "HH", b, ifd + 2 + 12 * k)
        if tag in (256, 257):  # SHORT (3) or LONG values, stored inline
            dims[tag] = struct.unpack_from(
                order + ("H" if typ == 3 else "I"), b, ifd + 10 + 12 * k
            )[0]
    return (dims[256], dims[257]) if len(dims) == 2 else None


def _pnm_size(b: memoryview) -> tuple[int, int] | None:
    """PBM/PGM/PPM/PFM ``magic width height``; PAM ``WIDTH``/``HEIGHT`` lines; ``#`` comments."""
    lines = [line.split(b"#", 1)[0] for line in bytes(b[:4096]).splitlines()]
    tokens = b" ".join(lines).split()
    if tokens[0] != b"P7":
        return int(tokens[1]), int(tokens[2])
    dims: dict[bytes, int] = {}
    for key, value in itertools.pairwise(tokens[: tokens.index(b"ENDHDR")]):
        if key in (b"WIDTH", b"HEIGHT"):
            dims[key] = int(value)
    return dims[b"WIDTH"], dims[b"HEIGHT"]


def _hdr_size(b: memoryview) -> tuple[int, int] | None:
    """Radiance RGBE: header lines, a blank line, then ``-Y h +X w`` (either axis first)."""
    rest = bytes(b[:65536]).split(b"\n\n", 1)[1]
    a, x, c, y = rest.split(b"\n", 1)[0].split()
    dims = {a[1:]: int(x), c[1:]: int(y)}
    return dims[b"X"], dims[b"Y"]


def _j2k_size(b: memoryview, start: int = 0) -> tuple[int, int] | None:
    """JPEG 2000 codestream SIZ marker: image extent minus offset."""
    if bytes(b[start : start + 4]) != b"\xff\x4f\xff\x51":
        return None
    xs, ys, xo, yo = struct.unpack_from(">IIII", b, start + 8)
    return max(xs - xo, 0), max(ys - yo, 0)


def _boxes(b: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF / JP2 boxes in ``b[start:end]`` as ``(type, payload_start, box_end)``."""
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", b, start)
        head = 8
        if size == 1:
            size, head = struct.unpack_from(">Q", b, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < head:
            return
        yield kind, start + head, min(start + size, end)
        start += size


def _jp2_size(b: memoryview) -> tuple[int, int] | None:
    for kind, p, e in _boxes(b, 0, len(b)):
        if kind == b"jp2c":
            return _j2k_size(b, p)
        for sub, q, _ in _boxes(b, p, e) if kind == b"jp2h" else ():
            if sub == b"ihdr":
                h, w = struct.unpack_from(">II", b, q)
                return w, h
    return None


def _avif_size(b: memoryview) -> tuple[int, int] | None:
    """Largest ``ispe`` (image spatial extent) under ``meta``: the primary item or its grid."""
    sizes: list[tuple[int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        for kind, p, e in _boxes(b, start, end):
            if kind == b"ispe":
                sizes.append(struct.unpack_from(">II", b, p + 4))
            elif kind in (b"meta", b"iprp", b"ipco") and depth < 4:
                walk(p + 4 if kind == b"meta" else p, e, depth + 1)  # meta: version/flags

    walk(0, len(b), 0)
    return max(sizes, key=lambda wh: wh[0] * wh[1]) if sizes else None


_PNM_MAGIC = (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7", b"PF", b"Pf")
_AVIF_BRANDS = (b"avif", b"avis", b"mif1", b"msf1")
_sunras_size = functools.partial(struct.unpack_from, ">II", offset=4)

# (format, signature test, sizer) for every format this OpenCV build decodes (EXR is not built)
_FORMATS: tuple[tuple[str, Callable[[bytes], bool], Callable[..., tuple[int, int] | None]], ...] = (
    ("jpeg", lambda h: h.startswith(b"\xff\xd8\xff"), _jpeg_size),
    ("png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"), _png_size),
    ("gif", lambda h: h[:6] in (b"GIF87a", b"GIF89a"), lambda b: struct.unpack_from("<HH", b, 6)),
    ("bmp", lambda h: h.startswith(b"BM"), _bmp_size),
    ("webp", lambda h: h.startswith(b"RIFF") and h[8:12] == b"WEBP", _webp_size),
    ("tiff", lambda h: h[:4] in (b"II*\x00", b"MM\x00*"), _tiff_size),
    ("pnm", lambda h: h[:2] in _PNM_MAGIC, _pnm_size),
    ("hdr", lambda h: h.startswith((b"#?RADIANCE", b"#?RGBE")), _hdr_size),
    ("sunras", lambda h: h.startswith(b"\x59\xa6\x6a\x95"), _sunras_size),
    ("jp2", lambda h: h.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"), _jp2_size),
    ("j2k", lambda h: h.startswith(b"\xff\x4f\xff\x51"), _j2k_size),
    ("avif", lambda h: h[4:8] == b"ftyp" and h[8:12] in _AVIF_BRANDS, _avif_size),
)


def _bytes_view(data: bytes | bytearray | memoryview | np.ndarray) -> memoryview:
    return (data if isinstance(data, memoryview) else memoryview(data)).cast("B")


def image_format(data: bytes | bytearray | memoryview | np.ndarray) -> str | None:
    """Name of the image format from its signature, or None when it is not one OpenCV reads."""
    head = bytes(_bytes_view(data)[:16])
    return next((name for name, test, _ in _FORMATS if test(head)), None)


def image_size(data: bytes | bytearray | memoryview | np.ndarray) -> tuple[int, int] | None:
    """``(width, height)`` read from the header alone, or None when it cannot be determined.

    Sizes are those stored in the file; EXIF rotation may swap them after decoding, which does
    not change the pixel count the limit is about.
    """
    b = _bytes_view(data)
    head = bytes(b[:16])
    sizer = next((size for _, test, size in _FORMATS if test(head)), None)
    try:
        wh = sizer(b) if sizer is not None else None
    except (struct.error, ValueError, IndexError, KeyError):
        return None
    return None if wh is None else (int(wh[0]), int(wh[1]))
