"""lcnet-ov: PP-LCNet on Intel CPUs through OpenVINO.

The top level stays light (no OpenVINO, Paddle or NNCF import) so ``lcnet-ov --help`` is instant;
heavy names are resolved on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "ModelSpec": "lcnet_ov.zoo",
    "Preprocess": "lcnet_ov.zoo",
    "get_spec": "lcnet_ov.zoo",
    "list_models": "lcnet_ov.zoo",
    "complexity": "lcnet_ov.arch",
    "download_model": "lcnet_ov.download",
    "convert": "lcnet_ov.conversion",
    "ConvertOptions": "lcnet_ov.conversion",
    "ConvertResult": "lcnet_ov.conversion",
    "ModelMetadata": "lcnet_ov.metadata",
    "read_metadata": "lcnet_ov.metadata",
    "Classifier": "lcnet_ov.runtime",
    "AsyncClassifier": "lcnet_ov.async_runtime",
    "BatchStats": "lcnet_ov.async_runtime",
    "FailedPrediction": "lcnet_ov.loaded_model",
    "Prediction": "lcnet_ov.processing",
    "decode_image": "lcnet_ov.processing",
    "preprocess": "lcnet_ov.processing",
    "topk": "lcnet_ov.processing",
    "load_labels": "lcnet_ov.labels",
    "iter_inputs": "lcnet_ov.inputs",
    "BenchResult": "lcnet_ov.bench",
    "BenchSettings": "lcnet_ov.bench",
    "Measurement": "lcnet_ov.bench",
    "quantize": "lcnet_ov.quantization",
    "QuantizeSettings": "lcnet_ov.quantization",
    "QuantizeResult": "lcnet_ov.quantization",
    "evaluate": "lcnet_ov.evaluation",
    "EvalResult": "lcnet_ov.evaluation",
    "open_image_set": "lcnet_ov.datasets",
    # every domain exception, from the one light module that defines them all
    **{
        name: "lcnet_ov.errors"
        for name in (
            "LcnetOVError",
            "UnknownModelError",
            "MissingDependencyError",
            "DownloadError",
            "OfflineError",
            "UnsafeArchiveError",
            "InvalidModelFileError",
            "UnsafeCheckpointError",
            "ConversionError",
            "VerificationError",
            "LabelFileError",
            "ImageDecodeError",
            "InvalidInputError",
            "ImageTooLargeError",
            "DeviceError",
            "InferenceError",
            "QueueFullError",
            "DatasetError",
            "QuantizationError",
            "BenchError",
            "BenchOptionError",
            "ConvertOptionError",
            "QuantizeOptionError",
            "UsageError",
            "OutputPathError",
            "CacheDirError",
            "ClusterError",
            "OutputFileError",
            "ServeError",
        )
    },
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lcnet_ov' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
