"""Calibration data, INT8 quantization (NNCF) and accuracy evaluation.

Importing this package is cheap: NNCF and OpenVINO are imported only when :func:`quantize` or
:func:`evaluate` run, so ``pip install lcnet-ov`` without the ``quantize`` extra can still
evaluate, and a missing NNCF is reported with the pip command that installs it.
"""

from __future__ import annotations

from .datasets import (
    DatasetError,
    ImageSet,
    Sample,
    SkippedFile,
    balanced_order,
    open_image_set,
)
from .evaluate import EvalResult, ModelScore, evaluate
from .quantize import (
    AccuracyReport,
    QuantizationError,
    QuantizeResult,
    QuantizeSettings,
    int8_ir_path,
    quantize,
)

__all__ = [
    "AccuracyReport",
    "DatasetError",
    "EvalResult",
    "ImageSet",
    "ModelScore",
    "QuantizationError",
    "QuantizeResult",
    "QuantizeSettings",
    "Sample",
    "SkippedFile",
    "balanced_order",
    "evaluate",
    "int8_ir_path",
    "open_image_set",
    "quantize",
]
