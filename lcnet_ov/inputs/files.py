"""Turn what callers hand to ``predict``/``map``/``lcnet-ov infer`` into an ordered input stream.

Accepted, freely mixed: image files, folders (their image files, sorted by name; not recursive
unless asked, as PaddleClas' ``get_image_list``), glob patterns (``shots/**/*.jpg``), encoded
bytes, uint8 arrays (``HxW``, ``HxWx3`` BGR, ``HxWx4``; a 4-D ``NxHxWxC`` array is ``N`` images),
or any iterable of those, consumed lazily so a generator of frames streams without buffering.

Expansion never raises for a bad entry: a path that does not exist, an empty folder or a pattern
matching nothing becomes an :class:`InputItem` carrying its error. The runtimes turn that into a
per-item failure so one typo among a thousand paths is reported, not fatal.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ImageDecodeError
from .decode import ImageSource

#: suffixes of the formats this OpenCV build decodes (see ``headers._FORMATS``); folders and
#: patterns pick files by suffix, while a file named explicitly is always tried
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .png .bmp .dib .webp .tif .tiff .gif .pbm .pgm .ppm .pnm .pfm .pam "
    ".hdr .pic .sr .ras .jp2 .j2k .avif".split()
)

_SINGLE = (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray)


@dataclass(frozen=True)
class InputItem:
    """One entry of the stream.

    ``name`` is what messages call it (the path as given, or ``<array 3>``); ``filename`` is
    what a :class:`~lcnet_ov.results.Prediction` records, ``None`` for in-memory images as in
    PaddleClas. When ``error`` is set, ``source`` is ``None`` and the entry cannot be classified.
    """

    name: str
    source: ImageSource | None
    filename: str | None = None
    error: ImageDecodeError | None = None


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


def list_images(folder: str | os.PathLike, *, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` sorted by path, so results come back in a reproducible order."""
    root = Path(folder)
    candidates = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in candidates if is_image_file(p))


def _expand_path(text: str, recursive: bool) -> Iterator[InputItem]:
    path = Path(text).expanduser()
    if path.is_dir():
        files = list_images(path, recursive=recursive)
        if not files:
            kinds = ", ".join(sorted(e.lstrip(".") for e in (".jpg", ".png", ".bmp", ".webp")))
            yield _error(text, f"{text}: no image files in this folder ({kinds}, ...)")
        # keep the folder as the user spelled it so output paths look like PaddleClas'
        for f in files:
            shown = os.path.join(text, os.path.relpath(f, path))
            yield InputItem(shown, f, shown)
    elif path.exists():
        yield InputItem(text, path, text)
    elif glob.has_magic(text):
        matches = sorted(
            p for p in glob.glob(os.path.expanduser(text), recursive=True) if is_image_file(Path(p))
        )
        if not matches:
            yield _error(text, f"{text}: no image files match this pattern")
        for m in matches:
            yield InputItem(m, Path(m), m)
    else:
        yield _error(text, f"{text}: no such file or folder")


def _error(name: str, message: str) -> InputItem:
    return InputItem(name, None, name, ImageDecodeError(message, name))


def iter_inputs(inputs: object, *, recursive: bool = False) -> Iterator[InputItem]:
    """Expand ``inputs`` (one input or an iterable of them) lazily, in order.

    A ``str``/``Path`` names a file, a folder or a glob pattern; other entries are passed through
    as in-memory images. Anything else (an ``int``, ``None``) is passed through too, and fails
    as that one item when it is decoded, with the type in the message.
    """
    items: Iterable[object] = [inputs] if isinstance(inputs, _SINGLE) else inputs  # type: ignore[assignment]
    counter = 0
    for entry in items:
        if isinstance(entry, (str, os.PathLike)):
            yield from _expand_path(os.fspath(entry), recursive)
            continue
        for image in entry if isinstance(entry, np.ndarray) and entry.ndim == 4 else [entry]:
            kind = "array" if isinstance(image, np.ndarray) else type(image).__name__
            yield InputItem(f"<{kind} {counter}>", image)  # type: ignore[arg-type]
            counter += 1
