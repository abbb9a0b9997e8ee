"""Accuracy of one or more IRs on a labeled dataset, side by side, per kind of model.

What PaddleClas' ``tools/eval.py`` reports, computed with OpenVINO on the same decoded images
for every model, so an FP32 and an INT8 column differ only by the model. The kind comes from
the IR's post-processing metadata (the model's own config, read at conversion):

* top-k classifiers: top-1 / top-5 (``TopkAcc`` with k = 1, 5), as always;
* multi-label and attribute models (sigmoid outputs): mAP and per-label accuracy at the
  model's thresholds on a PaddleClas multi-label list (``path<TAB>0,1,...``), see
  :mod:`.label_metrics`;
* PULC binary models (``ThreshOutput``): accuracy at the model's threshold.
 Each model is loaded, compiled and padded by the runtime's
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
from ..postprocess import Postprocess, topk_ids
from .label_metrics import binary_decisions, multilabel_scores
from .loaded_model import LoadedModel, compile_config
from .locate import locate_ir
from .metadata import ModelMetadata

#: default batch: big enough to keep the CPU's streams busy, small enough for any RAM
DEFAULT_BATCH = 32
TOPK = 5
#: post-processing kinds scored as multi-label (one sigmoid per label)
MULTILABEL_KINDS = frozenset({"multilabel", "person_attribute", "vehicle_attribute"})


@dataclass(frozen=True)
class ModelScore:
    """One column of the table: which IR, how it ran, what it scored."""

    label: str
    xml: Path
    #: weights precision from the IR's metadata (fp32, fp16, int8)
    precision: str
    #: INFERENCE_PRECISION_HINT the compiled model reports (f32, bf16, f16)
    inference_precision: str
    #: None for multi-label models (no single class to be right about)
    top1: float | None
    #: None when the model has ≤ 5 classes (top-5 would be 100 % by construction)
    top5: float | None
    images: int
    #: multi-label: mean AP over the labels that have a positive image
    map: float | None = None
    #: multi-label: mean over labels of the per-label accuracy at the model's thresholds;
    #: binary (``threshold``): accuracy at the model's threshold
    accuracy: float | None = None
    #: multi-label: ``{"label", "positives", "ap", "accuracy"}`` per label, in label order
    per_label: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {
            "label": self.label,
            "xml": str(self.xml),
            "precision": self.precision,
            "inference_precision": self.inference_precision,
            "top1": self.top1,
            "top5": self.top5,
            "images": self.images,
        }
        if self.accuracy is not None:
            out.update(map=self.map, accuracy=self.accuracy)
            if self.per_label:
                out["per_label"] = list(self.per_label)
        return out


@dataclass(frozen=True)
class EvalResult:
    model: str
    data: dict[str, Any]
    images: int
    skipped: tuple[SkippedFile, ...]
    scores: tuple[ModelScore, ...]
    #: share of images whose top-1 class matches the first column's, per column (multi-label:
    #: share of image × label decisions; binary: of thresholded decisions)
    agreement: tuple[float, ...]
    seconds: float
    #: "topk", "threshold" or a multi-label kind (:data:`MULTILABEL_KINDS`)
    kind: str = "topk"
    #: the model's threshold(s) the accuracy was taken at (None for top-k)
    threshold: Any = None

    @property
    def baseline(self) -> ModelScore:
        return self.scores[0]

    def delta_top1(self, i: int) -> float | None:
        """Column ``i`` minus the first column, in top-1 fraction (negative = worse)."""
        return self.delta(i, "top1")

    def delta(self, i: int, metric: str) -> float | None:
        """Column ``i`` minus the first column for ``metric`` (top1, top5, map, accuracy)."""
        a, b = getattr(self.scores[i], metric), getattr(self.baseline, metric)
        return None if a is None or b is None else a - b

    def delta_top5(self, i: int) -> float | None:
        a, b = self.scores[i].top5, self.baseline.top5
        return None if a is None or b is None else a - b

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.kind != "topk":
            extra = {"kind": self.kind, "threshold": self.threshold}
        return {
            "model": self.model,
            **extra,
            "data": self.data,
            "images": self.images,
            "skipped": [s.to_dict() for s in self.skipped],
            "scores": [
                {
                    **s.to_dict(),
                    "delta_top1": self.delta_top1(i),
                    "delta_top5": self.delta_top5(i),
                    **(
                        {
                            "delta_map": self.delta(i, "map"),
                            "delta_accuracy": self.delta(i, "accuracy"),
                        }
                        if self.kind != "topk"
                        else {}
                    ),
                    "top1_agreement": self.agreement[i],
                }
                for i, s in enumerate(self.scores)
            ],
            "seconds": round(self.seconds, 2),
        }


def postprocess_of(model: LoadedModel) -> Postprocess:
    """The IR's post-processing (:class:`~lcnet_ov.postprocess.Postprocess`, from its metadata;
    IRs converted before configs were read: top-5). Evaluation decides with it, never with a
    re-implementation, so its accuracy is that of what ``infer`` answers."""
    return model.metadata.postprocess


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
        #: whole outputs, kept only for models scored on more than their top-k
        self.probs: np.ndarray | None = None
        self.errors: list[BaseException] = []

    def allocate(self, n: int, keep_probs: bool = False) -> None:
        self.top = np.zeros((n, self.k), dtype=np.int32)
        if keep_probs:
            self.probs = np.zeros((n, self.model.num_classes), dtype=np.float32)

    def _done(self, request: Any, userdata: tuple[int, int]) -> None:
        # Runs on an OpenVINO thread: copy what is needed and never let an exception escape
        # (it would be lost); it is re-raised by wait().
        try:
            start, n = userdata
            # scores as the runtime gives them (softmax only for a single-label logit graph)
            probs = self.model.probabilities(request.get_output_tensor(0).data[:n])
            assert self.top is not None
            self.top[start : start + n] = topk_ids(probs, self.k)
            if self.probs is not None:
                self.probs[start : start + n] = probs
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
    """Accuracy of ``model`` at each of ``precision`` (or IR paths) on labeled ``data``.

    Top-1/top-5 for classifiers, mAP and per-label accuracy for multi-label models (``data``
    a PaddleClas multi-label list), accuracy at the threshold for binary models (see module).
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
    if not (image_set.labeled or image_set.multilabel):
        unlabeled = next(s for s in image_set.samples if s.label is None and s.targets is None)
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
    post = postprocess_of(columns[0].model)
    kind = post.kind
    for col in columns[1:]:
        if (
            col.meta.preprocess != first.preprocess
            or col.meta.num_classes != first.num_classes
            or postprocess_of(col.model).kind != kind
        ):
            raise InvalidModelFileError(
                f"{col.xml} and {columns[0].xml} differ in preprocessing, classes or "
                "post-processing; they are not the same model at two precisions"
            )
    multilabel = kind in MULTILABEL_KINDS
    binary = kind == "threshold" and first.num_classes == 2
    mapping = None
    if multilabel:
        _check_multilabel_data(image_set, kind, first)
    else:
        if image_set.multilabel:
            raise DatasetError(
                f"{image_set.source}: a multi-label list, but the model is a single-label "
                f"({kind}) classifier; give a list with one class id per image"
            )
        # folder-per-class data: folders named like the model's labels map by name (see
        # lcnet_ov.inputs.class_folders); a guessed mapping is reported in the result's data
        image_set, mapping = apply_class_folders(image_set, first.labels)
        top_label = max(image_set.classes)
        if top_label >= first.num_classes:
            raise DatasetError(
                f"{image_set.source}: class id {top_label} but the model has "
                f"{first.num_classes} classes; is this the right dataset for the model?"
            )
    samples = image_set.samples
    for col in columns:
        col.allocate(len(samples), keep_probs=multilabel or binary)
    labels = np.empty(len(samples), dtype=np.int64)
    targets = np.zeros((len(samples), first.num_classes if multilabel else 0), dtype=np.int8)
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
                if multilabel:
                    targets[pos : pos + len(good)] = [s.targets for s, _ in good]
                else:
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
    if multilabel:
        thresholds = post.label_thresholds(first.num_classes)
        scores, agreement = _multilabel_columns(columns, targets[:pos], post, first.labels)
        same = bool(np.all(thresholds == thresholds[0]))
        threshold: Any = float(thresholds[0]) if same else thresholds.tolist()
    else:
        threshold = float(post.threshold or 0.0) if binary else None  # as ThreshOutput reads it
        scores, agreement = _single_label_columns(
            columns, labels[:pos], first.num_classes, post if binary else None
        )
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
        kind=kind if (multilabel or binary) else "topk",
        threshold=threshold,
    )


def _check_multilabel_data(image_set: Any, kind: str, meta: ModelMetadata) -> None:
    if not image_set.multilabel:
        raise DatasetError(
            f"{image_set.source}: {meta.name} is a multi-label model ({kind}); evaluate it on "
            "a PaddleClas multi-label list: one 'relative/path<TAB>0,1,0,...' per image, one "
            f"0/1 per label ({meta.num_classes} labels)"
        )
    width = len(image_set.samples[0].targets)
    if width != meta.num_classes:
        raise DatasetError(
            f"{image_set.source}: {width} values per line but the model has "
            f"{meta.num_classes} labels; is this the right dataset for the model?"
        )


def _single_label_columns(
    columns: list[_Column], labels: np.ndarray, num_classes: int, binary: Postprocess | None
) -> tuple[list[ModelScore], list[float]]:
    """Top-1/top-5 per column; for a binary model (``binary``: its ``ThreshOutput``) also the
    accuracy of the class it answers at its threshold."""
    pos = len(labels)
    scores, agreement = [], []
    base = None
    for col in columns:
        assert col.top is not None
        top = col.top[:pos]
        hits = top == labels[:, None]
        decided = top[:, 0]
        accuracy = None
        if binary is not None:
            assert col.probs is not None
            decided = binary_decisions(binary, col.probs[:pos])
            accuracy = float(np.mean(decided == labels))
        base = decided if base is None else base
        scores.append(
            ModelScore(
                label=col.label,
                xml=col.xml,
                precision=col.meta.precision,
                inference_precision=col.hint,
                top1=float(hits[:, 0].mean()),
                top5=float(hits.any(axis=1).mean()) if num_classes > TOPK else None,
                images=pos,
                accuracy=accuracy,
            )
        )
        agreement.append(float(np.mean(decided == base)))
    return scores, agreement


def _multilabel_columns(
    columns: list[_Column], targets: np.ndarray, post: Postprocess, names: Sequence[str]
) -> tuple[list[ModelScore], list[float]]:
    """mAP and per-label accuracy per column; agreement over image × label decisions."""
    pos = len(targets)
    positives = targets.sum(axis=0)
    scores, agreement = [], []
    base = None
    for col in columns:
        assert col.probs is not None
        probs = col.probs[:pos]
        decided = post.decisions(probs)
        m_ap, acc, aps, accs = multilabel_scores(probs, targets, decided)
        base = decided if base is None else base
        per_label = tuple(
            {"label": n, "positives": int(p), "ap": a, "accuracy": c}
            for n, p, a, c in zip(names, positives, aps, accs, strict=True)
        )
        scores.append(
            ModelScore(
                label=col.label,
                xml=col.xml,
                precision=col.meta.precision,
                inference_precision=col.hint,
                top1=None,
                top5=None,
                images=pos,
                map=m_ap,
                accuracy=acc,
                per_label=per_label,
            )
        )
        agreement.append(float(np.mean(decided == base)))
    return scores, agreement
