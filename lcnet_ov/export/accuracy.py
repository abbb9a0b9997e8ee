"""How much INT8 costs in accuracy: the held-out top-1 of the FP32 and INT8 models, paired.

``quantize --max-drop`` decides with this report, and ``lcnet-ov quantize`` prints it; both
models run on the same decoded crops, so the difference is the quantization's alone.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..inputs.class_folders import apply_class_folders
from ..inputs.datasets import (
    EVAL_LISTS,
    DatasetError,
    ImageSet,
    LoadedImages,
    load_crops,
    model_input,
    open_image_set,
)
from ..runtime.metadata import ModelMetadata
from ..zoo import Preprocess
from .int8_graph import (
    compute_op_precisions,
)


@dataclass(frozen=True)
class AccuracyReport:
    """Outcome of accuracy-controlled quantization, measured on the validation subset."""

    fp32_top1: float
    int8_top1: float
    max_drop: float
    val_images: int
    #: compute ops left in floating point, read from the final IR's weights: what NNCF reverted
    #: to meet ``max_drop`` plus any ignored scope (plain PTQ quantizes every one of them)
    kept_fp32: tuple[str, ...]

    @property
    def drop(self) -> float:
        return self.fp32_top1 - self.int8_top1

    @property
    def met(self) -> bool:
        return self.drop <= self.max_drop + 1e-12

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(drop=self.drop, met=self.met, kept_fp32=list(self.kept_fp32))
        return d


def _top1(compiled: Any, items: Any) -> tuple[float, list[list[np.ndarray]]]:
    """Validation function for NNCF accuracy control: top-1 plus per-image outputs.

    Returning outputs per item puts NNCF in "logits" mode, where it ranks quantizers by how
    far each one moves the outputs: a finer signal than per-image right/wrong.
    """
    correct, total, outputs = 0, 0, []
    output = compiled.output(0)
    for x, labels in items:
        probs = compiled(x)[output]
        correct += int(np.sum(np.argmax(probs, axis=1) == labels))
        total += len(labels)
        outputs.extend([row[None].copy()] for row in probs)
    return (correct / total if total else 0.0), outputs


def _validation_items(
    val_data: Any,
    meta: ModelMetadata,
    pp: Preprocess,
    subset_size: int | None,
    seed: int,
    progress: bool,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One image per item, so NNCF can rank quantizers image by image."""
    val_set = open_image_set(val_data, prefer=EVAL_LISTS)
    if not val_set.labeled:
        raise DatasetError(f"{val_set.source}: accuracy control needs labeled validation data")
    val_set, mapping = apply_class_folders(val_set, meta.labels)  # folders named like labels
    if mapping is not None and mapping.note:
        print(f"Note: --val-data {val_set.source}: {mapping.note}", file=sys.stderr)
    loaded = _load(val_set, pp, subset_size, seed, "validation", progress)
    if int(loaded.labels.max()) >= meta.num_classes:
        raise DatasetError(
            f"{val_set.source}: class id {int(loaded.labels.max())} but the model has "
            f"{meta.num_classes} classes"
        )
    x = model_input(loaded.crops, pp, meta.embedded_preprocessing)
    return [(x[i : i + 1], loaded.labels[i : i + 1]) for i in range(len(x))]


def _accuracy_report(
    source_xml: Path, q_model: Any, val_items: list[Any], max_drop: float
) -> AccuracyReport:
    """Score both models ourselves at f32 on the same images: NNCF's log is not an API."""
    from ..runtime.core import shared_core

    core = shared_core()
    cfg = {"INFERENCE_PRECISION_HINT": "f32"}
    fp32 = _top1(core.compile_model(str(source_xml), "CPU", cfg), val_items)[0]
    int8 = _top1(core.compile_model(q_model, "CPU", cfg), val_items)[0]
    kept = tuple(compute_op_precisions(q_model)[1])
    return AccuracyReport(fp32, int8, max_drop, len(val_items), kept)


def _load(
    image_set: ImageSet, pp: Any, want: int | None, seed: int, what: str, progress: bool
) -> LoadedImages:
    from tqdm import tqdm

    order = image_set.balanced_order(seed)
    total = len(order) if want is None else min(want, len(order))
    with tqdm(total=total, desc=what, unit="img", disable=not progress, file=sys.stderr) as bar:
        loaded = load_crops(order, pp, want, on_progress=bar.update)
    if len(loaded) == 0:
        names = ", ".join(s.name for s in loaded.skipped[:5])
        raise DatasetError(
            f"{image_set.source}: none of the {len(loaded.skipped)} images could be read "
            f"(e.g. {names})"
        )
    return loaded
