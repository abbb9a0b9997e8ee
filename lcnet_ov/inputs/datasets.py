"""Image sets for quantization and evaluation: PaddleClas list files, ImageFolder, flat folders.

Three layouts are recognised, in this order:

* **list file** (PaddleClas / ILSVRC2012): ``val_list.txt`` / ``train_list.txt`` with one
  ``relative/path label`` per line, paths relative to the folder holding the list. This is what
  PaddleClas' ``ImageNetDataset`` reads, so a dataset prepared for ``tools/eval.py`` works as is.
  PaddleClas' multi-label lists (``MultiLabelDataset``: ``relative/path<TAB>0,1,0,...``, one
  0/1 per label) are recognised by the comma and give each sample its ``targets``.
* **ImageFolder**: one sub-folder per class; class ids follow the *sorted* sub-folder names, the
  torchvision convention, so ids are reproducible on every file system.
* **flat**: images directly in the folder, unlabeled (enough for calibration, not for accuracy).

Subsets are class-balanced and deterministic: classes are visited round-robin in a seeded
shuffled order, each class's images in a seeded shuffled order. A random 300-image draw from
ImageNet's 1000 classes would cover ~260 classes with duplicates; round-robin covers 300 distinct
ones, and on a 4-class set it takes exactly 75 of each, which keeps activation ranges from being
fitted to whichever class happened to dominate the draw.

Decoding goes through :mod:`lcnet_ov.inputs.preprocess` with the model's own preprocessing, so the
calibration tensors are exactly what inference sees. Unreadable files are collected as
:class:`SkippedFile` records, never raised: one corrupt JPEG must not cost a 50k-image run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import DatasetError, ImageDecodeError
from ..zoo import Preprocess
from .decode import DEFAULT_MAX_PIXELS, decode_image
from .files import IMAGE_EXTENSIONS, is_image_file
from .preprocess import normalize, resize_crop

#: list files looked for when a folder is given, for evaluation (val first) and calibration
#: (train first: calibrating on the images one then scores on flatters the result)
EVAL_LISTS = ("val_list.txt", "test_list.txt", "train_list.txt")
CALIBRATION_LISTS = ("train_list.txt", "val_list.txt", "test_list.txt")


@dataclass(frozen=True)
class Sample:
    path: Path
    #: class id, or None for unlabeled images (flat folders) and multi-label samples
    label: int | None
    #: multi-label ground truth, one 0/1 per label (PaddleClas' multi-label list), else None
    targets: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class SkippedFile:
    """An image that could not be used, with the reason the decoder gave."""

    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ImageSet:
    """A resolved dataset: which files, which labels, and where they came from."""

    root: Path
    samples: tuple[Sample, ...]
    #: "list", "folders" or "flat"
    layout: str
    #: the list file for "list", else the root folder
    source: Path
    #: sub-folder names of an ImageFolder (index = class id); empty otherwise
    class_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labeled(self) -> bool:
        return bool(self.samples) and all(s.label is not None for s in self.samples)

    @property
    def multilabel(self) -> bool:
        """Every sample has a 0/1 vector (a PaddleClas multi-label list)."""
        return bool(self.samples) and all(s.targets is not None for s in self.samples)

    @property
    def classes(self) -> tuple[int, ...]:
        """Distinct class ids present, sorted."""
        return tuple(sorted({s.label for s in self.samples if s.label is not None}))

    def balanced_order(self, seed: int = 0) -> tuple[Sample, ...]:
        """Every sample, ordered so any prefix is class-balanced (see module docstring)."""
        return balanced_order(self.samples, seed)

    def subset(self, size: int | None, seed: int = 0) -> ImageSet:
        """The first ``size`` samples of :meth:`balanced_order` (all of them for ``None``)."""
        if size is not None and size < 1:
            raise DatasetError(f"subset size must be ≥ 1, got {size}")
        order = self.balanced_order(seed)
        return dataclasses.replace(self, samples=order if size is None else order[:size])

    def describe(self) -> dict[str, Any]:
        out = {
            "source": str(self.source),
            "layout": self.layout,
            "images": len(self.samples),
            "classes": len(self.classes),
            "labeled": self.labeled,
        }
        if self.multilabel:
            out.update(multilabel=True, labels=len(self.samples[0].targets or ()))
        return out


def balanced_order(samples: Sequence[Sample], seed: int = 0) -> tuple[Sample, ...]:
    """Round-robin over classes in a seeded shuffled order; within a class, seeded shuffle.

    Unlabeled samples form one group, so a flat folder simply comes out seeded-shuffled.
    Depends only on the samples and the seed (numpy's PCG64 stream is stable across
    platforms and versions), so the same subset is picked on every machine.
    """
    rng = np.random.default_rng(seed)
    groups: dict[int | None, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.label, []).append(s)
    keys = sorted(groups, key=lambda k: -1 if k is None else k)
    class_order = [keys[i] for i in rng.permutation(len(keys))]
    queues = []
    for key in class_order:
        members = groups[key]
        queues.append([members[i] for i in rng.permutation(len(members))])
    out: list[Sample] = []
    depth = 0
    while len(out) < len(samples):
        out.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return tuple(out)


# ---- Opening a dataset ----------------------------------------------------------------------


def read_list_file(path: Path, root: Path | None = None) -> list[Sample]:
    """Parse a PaddleClas list file: ``relative/path label`` per line, blank lines ignored.

    The label is the *last* whitespace-separated token, so file names with spaces (which
    PaddleClas' plain ``split(" ")`` would break on) still work. A line with a single token is
    an unlabeled image. A label with commas is a multi-label line (``path<TAB>0,1,0``, as
    PaddleClas' ``MultiLabelDataset`` reads); every labeled line of a list must then have the
    same number of 0/1 values. Files that do not exist are kept: they are reported as skipped when
    read, like any other unreadable image, rather than failing the whole run here.
    """
    root = root if root is not None else path.parent
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read list file ({exc})") from exc
    samples = []
    #: values per label of the first labeled line: 0 = single-label list, else multi-label
    first_width: int | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) == 1:
            samples.append(Sample(root / parts[0], None))
            continue
        rel, label = parts
        width = len(label.split(",")) if "," in label else 0
        if first_width is None:
            first_width = width
        elif width != first_width:
            expected = (
                f"'relative/path<TAB>0,1,...' with {first_width} values like the lines before"
                if first_width
                else "'relative/path class_id' like the lines before"
            )
            raise DatasetError(f"{path}:{lineno}: expected {expected}, got {line[:80]!r}")
        if width:
            samples.append(Sample(root / rel, None, _targets(path, lineno, label)))
            continue
        try:
            class_id = int(label)
        except ValueError:
            raise DatasetError(
                f"{path}:{lineno}: expected 'relative/path class_id' or, multi-label, "
                f"'relative/path<TAB>0,1,...', got {line[:80]!r}"
            ) from None
        if class_id < 0:
            raise DatasetError(f"{path}:{lineno}: negative class id {class_id}")
        samples.append(Sample(root / rel, class_id))
    if not samples:
        raise DatasetError(f"{path}: list file names no images")
    return samples


def _targets(path: Path, lineno: int, text: str) -> tuple[int, ...]:
    values = text.split(",")
    if any(v not in ("0", "1") for v in values):
        raise DatasetError(
            f"{path}:{lineno}: multi-label targets must be 0 or 1 per label, got {text[:80]!r}"
        )
    return tuple(int(v) for v in values)


def open_image_set(
    data: str | os.PathLike,
    *,
    list_file: str | os.PathLike | None = None,
    prefer: Sequence[str] = EVAL_LISTS,
) -> ImageSet:
    """Resolve ``data`` (a folder or a list file) into an :class:`ImageSet`.

    ``list_file`` names the list explicitly (absolute, or relative to ``data``); otherwise the
    first of ``prefer`` found in the folder is used, then ImageFolder, then a flat folder.
    """
    path = Path(data).expanduser()
    if path.is_file():
        if list_file is not None:
            raise DatasetError(f"{path}: give either a list file or --list-file, not both")
        return ImageSet(path.parent, tuple(read_list_file(path)), "list", path)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such folder or list file")
    if list_file is not None:
        lf = Path(list_file).expanduser()
        lf = lf if lf.is_absolute() else path / lf
        if not lf.is_file():
            raise DatasetError(f"{lf}: list file not found")
        return ImageSet(path, tuple(read_list_file(lf, path)), "list", lf)
    for name in prefer:
        if (path / name).is_file():
            lf = path / name
            return ImageSet(path, tuple(read_list_file(lf, path)), "list", lf)
    subdirs = sorted(
        (d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: d.name,
    )
    class_dirs = [d for d in subdirs if any(is_image_file(f) for f in d.rglob("*"))]
    if class_dirs:
        samples = [
            Sample(f, class_id)
            for class_id, d in enumerate(class_dirs)
            for f in sorted(d.rglob("*"))
            if is_image_file(f)
        ]
        names = tuple(d.name for d in class_dirs)
        return ImageSet(path, tuple(samples), "folders", path, names)
    files = sorted(f for f in path.iterdir() if is_image_file(f))
    if not files:
        exts = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DatasetError(
            f"{path}: no images found (looked for {', '.join(prefer)}, class sub-folders, and "
            f"image files with extensions {exts})"
        )
    return ImageSet(path, tuple(Sample(f, None) for f in files), "flat", path)


# ---- Decoding -----------------------------------------------------------------------------------


@dataclass
class LoadedImages:
    """Centre crops (uint8 BGR, ``N×crop×crop×3``) ready for exact normalization.

    Keeping uint8 crops instead of float tensors costs a quarter of the memory (300 images:
    45 MB instead of 180 MB) and :func:`lcnet_ov.inputs.preprocess.normalize` turns them into the
    float tensor PaddleClas would have built from the original file, bit for bit.
    """

    crops: np.ndarray
    labels: np.ndarray  # int64, -1 for unlabeled
    names: list[str]
    skipped: list[SkippedFile]

    def __len__(self) -> int:
        return len(self.names)


def _crop_one(sample: Sample, pp: Preprocess, max_pixels: int | None) -> np.ndarray | SkippedFile:
    """Decode, resize-short and centre-crop one file; problems come back as a SkippedFile."""
    name = sample.name
    try:
        img = decode_image(sample.path, name=name, max_pixels=max_pixels)
        return np.ascontiguousarray(resize_crop(img, pp, name=name))
    except ImageDecodeError as exc:
        return SkippedFile(name, str(exc).removeprefix(f"{name}: "))
    except (cv2.error, ValueError, OSError) as exc:
        return SkippedFile(name, f"{type(exc).__name__}: {exc}")


def iter_crops(
    samples: Sequence[Sample],
    pp: Preprocess,
    *,
    chunk: int = 64,
    workers: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Iterator[list[tuple[Sample, np.ndarray | SkippedFile]]]:
    """Decoded crops in ``samples`` order, ``chunk`` at a time, decoded on a thread pool.

    OpenCV releases the GIL while decoding and resizing, so threads scale on multi-core hosts
    without the pickling cost of processes.
    """
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(samples), chunk):
            part = samples[start : start + chunk]
            results = pool.map(lambda s: _crop_one(s, pp, max_pixels), part)
            yield list(zip(part, results, strict=True))


def load_crops(
    order: Sequence[Sample],
    pp: Preprocess,
    want: int | None = None,
    *,
    on_progress: Callable[[int], None] | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> LoadedImages:
    """Decode ``order`` until ``want`` images succeeded (all of them for ``None``).

    Broken files are skipped and the next samples in ``order`` take their place, so a
    balanced order still yields ``want`` images as long as enough readable ones exist.
    """
    target = len(order) if want is None else min(want, len(order))
    crops: list[np.ndarray] = []
    labels: list[int] = []
    names: list[str] = []
    skipped: list[SkippedFile] = []
    pos = 0
    while len(crops) < target and pos < len(order):
        need = target - len(crops)
        batch = order[pos : pos + need]
        pos += len(batch)
        for chunk in iter_crops(batch, pp, max_pixels=max_pixels):
            for sample, got in chunk:
                if isinstance(got, SkippedFile):
                    skipped.append(got)
                    continue
                crops.append(got)
                labels.append(-1 if sample.label is None else sample.label)
                names.append(sample.name)
            if on_progress:
                on_progress(sum(1 for _, g in chunk if not isinstance(g, SkippedFile)))
    h, w = pp.input_hw
    stacked = np.stack(crops) if crops else np.empty((0, h, w, 3), np.uint8)
    return LoadedImages(stacked, np.asarray(labels, dtype=np.int64), names, skipped)


def model_input(crops: np.ndarray, pp: Preprocess, embedded_preprocessing: bool) -> np.ndarray:
    """What the IR takes: raw uint8 NHWC BGR when preprocessing is folded in, else NCHW f32."""
    return np.ascontiguousarray(crops) if embedded_preprocessing else normalize(crops, pp)
