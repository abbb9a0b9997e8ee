"""What the benchmark feeds a model: a fixed synthetic tensor, or real images end to end.

Synthetic input is written into the request once, as ``benchmark_app`` does in its
inference-only mode, so the loop times inference alone. A folder of images instead puts file
reading, decoding and PaddleClas preprocessing inside the timed loop: that is the number a
service sees, and it shows when preprocessing, not the network, is the bottleneck.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..zoo import Preprocess
from .config import BenchError


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, as ImageNet-style class folders nest them),
    picked by the same suffixes as ``infer`` and ``AsyncClassifier.map``."""
    from ..inputs.files import IMAGE_EXTENSIONS
    from ..inputs.files import list_images as list_files

    files = list_files(folder, recursive=True)
    if not files:
        raise BenchError(
            f"--input {folder}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) found"
        )
    return files


def static_shape(
    dims: Sequence[int | str | None], batch: int, input_hw: tuple[int, int]
) -> tuple[int, ...]:
    """A runnable shape from a model's declared one: batch set, unknown spatial dims from the
    model's ``(height, width)`` (80x160 text lines are not square).

    Declared shapes come as ``-1``, ``None`` or a symbolic name for dynamic dimensions
    depending on the runtime; the channel dimension (3) is always static in our models, and
    tells NCHW (``[N, 3, H, W]``) from the folded NHWC (``[N, H, W, 3]``).
    """
    channels = 3 if len(dims) == 4 and dims[3] == 3 and dims[1] != 3 else 1
    spatial = iter(input_hw)
    shape = []
    for i, d in enumerate(dims):
        if i == 0:
            shape.append(batch)
        elif i == channels:
            shape.append(d if isinstance(d, int) and d > 0 else 3)
        else:
            size = next(spatial)
            shape.append(d if isinstance(d, int) and d > 0 else size)
    return tuple(shape)


def synthetic(shape: Sequence[int], dtype: np.dtype | type, seed: int = 0) -> np.ndarray:
    """Image-like values: N(0, 1) for float inputs (normalized pixels), 0–255 for u8 inputs."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, tuple(shape), dtype=np.uint8)
    return rng.standard_normal(tuple(shape)).astype(dtype)


class ImageBatches:
    """Cycles through image files; each call reads, decodes and preprocesses one batch.

    ``embedded=True`` is for IRs with preprocessing folded in: they take resized, cropped u8
    BGR NHWC and normalize inside the graph, so only resize and crop happen here.
    """

    def __init__(self, files: Sequence[Path], pp: Preprocess, embedded: bool = False) -> None:
        if not files:
            raise BenchError("no images to benchmark with")
        self.files = list(files)
        self.pp = pp
        self.embedded = embedded
        self._next = 0

    def next_batch(self, batch: int) -> tuple[np.ndarray, float]:
        """The next ``batch`` images as one tensor, and the milliseconds it took to make."""
        from ..inputs.decode import decode_image
        from ..inputs.preprocess import preprocess_batch, resize_crop

        start = time.perf_counter()
        picked = [self.files[(self._next + i) % len(self.files)] for i in range(batch)]
        self._next = (self._next + batch) % len(self.files)
        images = [decode_image(p) for p in picked]
        names = [str(p) for p in picked]
        if self.embedded:
            pairs = zip(images, names, strict=True)
            out = np.stack([resize_crop(img, self.pp, name=name) for img, name in pairs])
        else:
            out = preprocess_batch(images, self.pp, names=names)
        return out, (time.perf_counter() - start) * 1000.0
