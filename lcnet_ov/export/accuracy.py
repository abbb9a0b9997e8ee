"""How much INT8 costs in accuracy: the held-out top-1 of the FP32 and INT8 models, paired.

``quantize --max-drop`` decides with this report, and ``lcnet-ov quantize`` prints it; both
models run on the same decoded crops, so the difference is the quantization's alone.
"""

from __future__ import annotations

import math
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
    layer_names,
)

#: slack when turning a fractional limit into whole images: ``0.005 * 400`` is 2.0000000000000004
#: or 1.9999999999999998 depending on how the fraction was written, and must count as 2
_COUNT_SLACK = 1e-9


def allowed_misses(max_drop: float, images: int) -> int:
    """The most images INT8 may get wrong beyond FP32 within ``max_drop`` on ``images``.

    Accuracy is a count over a finite set, so the limit is compared in whole images: a drop of
    exactly the limit (2 of 400 against 0.50 pt) is within it, whatever float rounding does to
    ``0.9875 - 0.9825``.
    """
    return math.floor(max_drop * images + _COUNT_SLACK)


def nncf_max_drop(max_drop: float, images: int) -> float:
    """The limit handed to NNCF, which compares float top-1 differences.

    Half an image above the allowed count: every drop NNCF can measure on ``images`` images is a
    multiple of ``1 / images``, so this threshold accepts exactly the drops
    :func:`allowed_misses` accepts and no float rounding sits near it.
    """
    return (allowed_misses(max_drop, images) + 0.5) / images


@dataclass(frozen=True)
class AccuracyReport:
    """Outcome of accuracy-controlled quantization, measured on the validation subset."""

    #: images each model classified correctly, out of ``val_images`` (the comparison is on
    #: these counts: fractions only for display)
    fp32_correct: int
    int8_correct: int
    max_drop: float
    val_images: int
    #: compute ops left in floating point, read from the final IR's weights: what NNCF reverted
    #: to meet ``max_drop`` plus any ignored scope (plain PTQ quantizes every one of them)
    kept_fp32: tuple[str, ...]
    #: the same ops by PaddleClas layer (``blocks5.3.dw_conv.conv``), where the graph says
    kept_fp32_layers: tuple[str, ...] = ()
    #: images plain INT8 (every op quantized, before accuracy control reverted any) got right
    ptq_correct: int | None = None
    #: True when plain INT8 missed the limit and NNCF's accuracy control reverted ops
    controlled: bool = False

    @property
    def fp32_top1(self) -> float:
        return self.fp32_correct / self.val_images

    @property
    def int8_top1(self) -> float:
        return self.int8_correct / self.val_images

    @property
    def drop(self) -> float:
        return (self.fp32_correct - self.int8_correct) / self.val_images

    @property
    def ptq_drop(self) -> float | None:
        """The drop of plain INT8, measured before any op was reverted."""
        if self.ptq_correct is None:
            return None
        return (self.fp32_correct - self.ptq_correct) / self.val_images

    @property
    def allowed_misses(self) -> int:
        return allowed_misses(self.max_drop, self.val_images)

    @property
    def met(self) -> bool:
        return self.fp32_correct - self.int8_correct <= self.allowed_misses

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            fp32_top1=self.fp32_top1,
            int8_top1=self.int8_top1,
            drop=self.drop,
            ptq_drop=self.ptq_drop,
            allowed_misses=self.allowed_misses,
            met=self.met,
            kept_fp32=list(self.kept_fp32),
            kept_fp32_layers=list(self.kept_fp32_layers),
        )
        return d


def count_correct(compiled: Any, items: Any) -> int:
    """Images of ``items`` whose top-1 is their label: the whole-number accuracy."""
    output = compiled.output(0)
    return sum(int(np.sum(np.argmax(compiled(x)[output], axis=1) == labels)) for x, labels in items)


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


def score(model: Any, val_items: list[Any]) -> int:
    """Correct images of an IR path or ``ov.Model`` at f32 (what NNCF's own runs see)."""
    from ..runtime.core import shared_core

    arg = str(model) if isinstance(model, Path) else model
    compiled = shared_core().compile_model(arg, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return count_correct(compiled, val_items)


def accuracy_report(
    fp32_correct: int,
    q_model: Any,
    val_items: list[Any],
    max_drop: float,
    *,
    ptq_correct: int | None = None,
    int8_correct: int | None = None,
    controlled: bool = False,
) -> AccuracyReport:
    """Score the INT8 model ourselves on the same images: NNCF's log is not an API."""
    if int8_correct is None:
        int8_correct = score(q_model, val_items)
    fp32_ops = compute_op_precisions(q_model)[1]
    names = layer_names(q_model)
    return AccuracyReport(
        fp32_correct=fp32_correct,
        int8_correct=int8_correct,
        max_drop=max_drop,
        val_images=len(val_items),
        kept_fp32=tuple(fp32_ops),
        kept_fp32_layers=tuple(names.get(op, op) for op in fp32_ops),
        ptq_correct=ptq_correct,
        controlled=controlled,
    )


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


def _with_accuracy_control(
    nncf: Any,
    ov_model: Any,
    source_xml: Path,
    items: list[np.ndarray],
    val_items: list[Any],
    max_drop: float,
    advanced: Any,
    kwargs: dict[str, Any],
) -> tuple[Any, AccuracyReport]:
    """Plain INT8 first; NNCF's accuracy control only when plain INT8 misses the limit.

    Both decisions count whole images (:func:`~.accuracy.allowed_misses`): NNCF compares float
    top-1 differences, where a drop of exactly the limit (2 of 400 against 0.005) can come out
    as 0.0050000000000000044 and send every op back to float. Plain INT8 is scored here before
    anything is reverted, so the report always has the drop of the fully quantized model.
    """
    fp32_correct = score(source_xml, val_items)
    plain = nncf.quantize(ov_model, nncf.Dataset(items), advanced_parameters=advanced, **kwargs)
    ptq_correct = score(plain, val_items)
    if fp32_correct - ptq_correct <= allowed_misses(max_drop, len(val_items)):
        report = accuracy_report(
            fp32_correct, plain, val_items, max_drop, ptq_correct=ptq_correct,
            int8_correct=ptq_correct,
        )  # fmt: skip
        return plain, report
    from ..runtime.core import shared_core

    fresh = shared_core().read_model(str(source_xml))  # NNCF's own PTQ starts from FP32 again
    q_model = nncf.quantize_with_accuracy_control(
        fresh,
        nncf.Dataset(items),
        nncf.Dataset(val_items, lambda item: item[0]),  # fn gets (x, labels)
        _top1,
        max_drop=nncf_max_drop(max_drop, len(val_items)),
        drop_type=nncf.DropType.ABSOLUTE,
        advanced_quantization_parameters=advanced,
        **kwargs,
    )
    return q_model, accuracy_report(
        fp32_correct, q_model, val_items, max_drop, ptq_correct=ptq_correct, controlled=True
    )
