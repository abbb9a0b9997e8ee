"""Top-1 / top-5 accuracy of one or more IRs on a labeled dataset, side by side.

What PaddleClas' ``tools/eval.py`` reports (``TopkAcc`` with k = 1, 5), computed with OpenVINO
on the same decoded images for every model, so an FP32 and an INT8 column differ only by the
model. Each model is loaded, compiled and padded by the runtime's
:class:`~lcnet_ov.runtime.loaded_model.LoadedModel`; images are decoded once and fed to all of them
through ``AsyncInferQueue``, while the decoding thread pool keeps the next batch ready.

FP32 numbers are measured at ``INFERENCE_PRECISION_HINT=f32`` by default: on CPUs with
AVX512-BF16/AMX OpenVINO would otherwise run an FP32 IR in bf16 and the "FP32" column would
carry bf16 rounding. The hint each model actually ran with is read back and reported.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidModelFileError
from ..inputs.class_folders import apply_class_folders
from ..inputs.datasets import (
    EVAL_LISTS,
    DatasetError,
    SkippedFile,
    iter_crops,
    model_input,
    open_image_set,
)
from ..paths import PRECISIONS
from ..postprocess import topk_ids
from .loaded_model import LoadedModel, compile_config
from .locate import locate_ir
from .metadata import ModelMetadata

#: default batch: big enough to keep the CPU's streams busy, small enough for any RAM
DEFAULT_BATCH = 32
TOPK = 5


@dataclass(frozen=True)
class ModelScore:
    """One column of the table: which IR, how it ran, what it scored."""

    label: str
    xml: Path
    #: weights precision from the IR's metadata (fp32, fp16, int8)
    precision: str
    #: INFERENCE_PRECISION_HINT the compiled model reports (f32, bf16, f16)
    inference_precision: str
    top1: float
    #: None when the model has ≤ 5 classes (top-5 would be 100 % by construction)
    top5: float | None
    images: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "xml": str(self.xml),
            "precision": self.precision,
            "inference_precision": self.inference_precision,
            "top1": self.top1,
            "top5": self.top5,
            "images": self.images,
        }


@dataclass(frozen=True)
class EvalResult:
    model: str
    data: dict[str, Any]
    images: int
    skipped: tuple[SkippedFile, ...]
    scores: tuple[ModelScore, ...]
    #: share of images whose top-1 class matches the first column's, per column
    agreement: tuple[float, ...]
    seconds: float

    @property
    def baseline(self) -> ModelScore:
        return self.scores[0]

    def delta_top1(self, i: int) -> float:
        """Column ``i`` minus the first column, in top-1 fraction (negative = worse)."""
        return self.scores[i].top1 - self.baseline.top1

    def delta_top5(self, i: int) -> float | None:
        a, b = self.scores[i].top5, self.baseline.top5
        return None if a is None or b is None else a - b

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "images": self.images,
            "skipped": [s.to_dict() for s in self.skipped],
            "scores": [
                {
                    **s.to_dict(),
                    "delta_top1": self.delta_top1(i),
                    "delta_top5": self.delta_top5(i),
                    "top1_agreement": self.agreement[i],
                }
                for i, s in enumerate(self.scores)
            ],
            "seconds": round(self.seconds, 2),
        }


def resolve_column(model: str | os.PathLike, entry: str | os.PathLike) -> tuple[str, Path]:
    """``(label, xml)`` for one requested column: a precision of ``model`` or an IR path."""
    text = str(entry)
    if text not in PRECISIONS:
        path = Path(entry).expanduser()
        if path.suffix.lower() != ".xml" or not path.is_file():
            raise InvalidModelFileError(
                f"{entry}: not a precision ({', '.join(PRECISIONS)}) nor an existing .xml IR"
            )
        return path.name if path.name != "model.xml" else str(path), path
    return text, locate_ir(model, text)


class _Column:
    """One model of the table: the runtime's :class:`LoadedModel` (compile settings, static
    batch padding) plus an async queue whose callbacks keep top-k ids, not whole outputs."""

    def __init__(self, label: str, xml: Path, hint: str | None, device: str) -> None:
        import openvino as ov

        self.label, self.xml = label, xml
        self.model = LoadedModel(xml)
        self.meta: ModelMetadata = self.model.metadata
        try:
            config = compile_config(hint="THROUGHPUT", inference_precision=hint)
        except ValueError as exc:
            raise DatasetError(str(exc)) from None
        self.compiled = self.model.compile(device, config)
        self.hint = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        self.queue = ov.AsyncInferQueue(self.compiled)
        self.queue.set_callback(self._done)
        self.k = min(TOPK, self.model.num_classes)
        self.top: np.ndarray | None = None
        self.errors: list[BaseException] = []

    def allocate(self, n: int) -> None:
        self.top = np.zeros((n, self.k), dtype=np.int32)

    def _done(self, request: Any, userdata: tuple[int, int]) -> None:
        # Runs on an OpenVINO thread: copy what is needed and never let an exception escape
        # (it would be lost); it is re-raised by wait().
        try:
            start, n = userdata
            probs = request.get_output_tensor(0).data[:n]
            assert self.top is not None
            self.top[start : start + n] = topk_ids(probs, self.k)
        except BaseException as exc:  # handed to the caller by wait()
            self.errors.append(exc)

    def submit(self, x: np.ndarray, start: int) -> None:
        step = self.model.static_batch or len(x)
        for i in range(0, len(x), step):
            part = x[i : i + step]  # a static-batch IR's short tail is padded, padding discarded
            self.queue.start_async({0: self.model.pad(part)}, (start + i, len(part)))

    def wait(self) -> None:
        self.queue.wait_all()
        if self.errors:
            raise self.errors[0]


def evaluate(
    model: str | os.PathLike,
    data: str | os.PathLike,
    *,
    precision: Sequence[str | os.PathLike] = ("fp32",),
    batch_size: int = DEFAULT_BATCH,
    inference_precision: str | None = "f32",
    list_file: str | os.PathLike | None = None,
    limit: int | None = None,
    seed: int = 0,
    device: str = "CPU",
    progress: bool = True,
) -> EvalResult:
    """Top-1/top-5 of ``model`` at each of ``precision`` (or IR paths) on labeled ``data``.

    ``inference_precision=None`` leaves the device default (bf16 on AMX CPUs) in place.
    ``limit`` evaluates a class-balanced subset of that many images (chosen by ``seed``).
    Unreadable images are skipped and listed, and count for no column.
    """
    from tqdm import tqdm

    if batch_size < 1:
        raise DatasetError(f"batch size must be ≥ 1, got {batch_size}")
    if not precision:
        raise DatasetError("nothing to evaluate: give at least one precision or IR")
    started = time.perf_counter()
    image_set = open_image_set(data, list_file=list_file, prefer=EVAL_LISTS)
    if not image_set.labeled:
        unlabeled = next(s for s in image_set.samples if s.label is None)
        raise DatasetError(
            f"{image_set.source}: accuracy needs labels, but {unlabeled.name} has none "
            "(use a list file or one sub-folder per class)"
        )
    if limit is not None:
        image_set = image_set.subset(limit, seed)
    columns = [
        _Column(*resolve_column(model, entry), inference_precision, device) for entry in precision
    ]
    first = columns[0].meta
    for col in columns[1:]:
        if col.meta.preprocess != first.preprocess or col.meta.num_classes != first.num_classes:
            raise InvalidModelFileError(
                f"{col.xml} and {columns[0].xml} differ in preprocessing or classes; "
                "they are not the same model at two precisions"
            )
    # folder-per-class data: folders named like the model's labels map by name (see
    # lcnet_ov.inputs.class_folders); a guessed mapping is reported in the result's data
    image_set, mapping = apply_class_folders(image_set, first.labels)
    top_label = max(image_set.classes)
    if top_label >= first.num_classes:
        raise DatasetError(
            f"{image_set.source}: class id {top_label} but the model has {first.num_classes} "
            "classes; is this the right dataset for the model?"
        )
    samples = image_set.samples
    for col in columns:
        col.allocate(len(samples))
    labels = np.empty(len(samples), dtype=np.int64)
    skipped: list[SkippedFile] = []
    pos = 0
    pp = first.preprocess
    with tqdm(
        total=len(samples), desc="evaluating", unit="img", disable=not progress, file=sys.stderr
    ) as bar:
        for chunk in iter_crops(samples, pp, chunk=batch_size):
            good = [(s, c) for s, c in chunk if not isinstance(c, SkippedFile)]
            skipped.extend(c for _, c in chunk if isinstance(c, SkippedFile))
            if good:
                crops = np.stack([c for _, c in good])
                labels[pos : pos + len(good)] = [s.label for s, _ in good]
                tensors: dict[bool, np.ndarray] = {}
                for col in columns:
                    emb = col.meta.embedded_preprocessing
                    if emb not in tensors:
                        tensors[emb] = model_input(crops, pp, emb)
                    col.submit(tensors[emb], pos)
                pos += len(good)
            bar.update(len(chunk))
    for col in columns:
        col.wait()
    if pos == 0:
        raise DatasetError(f"{image_set.source}: none of the {len(skipped)} images could be read")
    labels = labels[:pos]
    scores, agreement = [], []
    base_top1 = None
    for col in columns:
        assert col.top is not None
        top = col.top[:pos]
        hits = top == labels[:, None]
        top1 = top[:, 0]
        base_top1 = top1 if base_top1 is None else base_top1
        scores.append(
            ModelScore(
                label=col.label,
                xml=col.xml,
                precision=col.meta.precision,
                inference_precision=col.hint,
                top1=float(hits[:, 0].mean()),
                top5=float(hits.any(axis=1).mean()) if first.num_classes > TOPK else None,
                images=pos,
            )
        )
        agreement.append(float(np.mean(top1 == base_top1)))
    return EvalResult(
        model=str(model),
        data={
            **image_set.describe(),
            **(mapping.to_dict() if mapping else {}),
            "note": mapping.note if mapping else None,
        },
        images=pos,
        skipped=tuple(skipped),
        scores=tuple(scores),
        agreement=tuple(agreement),
        seconds=time.perf_counter() - started,
    )
