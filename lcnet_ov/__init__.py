"""lcnet-ov: PP-LCNet on Intel CPUs through OpenVINO.

The top level stays light (no OpenVINO, Paddle or NNCF import) so ``lcnet-ov --help`` is instant;
heavy names are resolved on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time _LAZY resolves on access
    from lcnet_ov.bench import BenchResult, BenchSettings, Measurement
    from lcnet_ov.errors import (
        BenchError,
        BenchOptionError,
        CacheDirError,
        ClusterError,
        ConversionError,
        ConvertOptionError,
        DatasetError,
        DeviceError,
        DownloadError,
        ImageDecodeError,
        ImageTooLargeError,
        InferenceError,
        InvalidInputError,
        InvalidModelFileError,
        LabelFileError,
        LcnetOVError,
        MissingDependencyError,
        ModelConfigError,
        ModelNotConvertedError,
        OfflineError,
        OutputExistsError,
        OutputFileError,
        OutputPathError,
        QuantizationError,
        QuantizeOptionError,
        QueueFullError,
        ServeError,
        ServerBusyError,
        StreamError,
        StreamOpenError,
        StreamOptionError,
        UnknownModelError,
        UnsafeArchiveError,
        UnsafeCheckpointError,
        UsageError,
        VerificationError,
    )
    from lcnet_ov.export.arch import complexity
    from lcnet_ov.export.conversion import ConvertOptions, ConvertResult, convert
    from lcnet_ov.export.download import download_model
    from lcnet_ov.export.quantization import QuantizeResult, QuantizeSettings, quantize
    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.inputs.datasets import open_image_set
    from lcnet_ov.inputs.decode import decode_image
    from lcnet_ov.inputs.files import iter_inputs
    from lcnet_ov.inputs.labels import load_labels
    from lcnet_ov.inputs.model_config import ModelConfig, read_model_config
    from lcnet_ov.inputs.preprocess import preprocess
    from lcnet_ov.postprocess import Postprocess, topk
    from lcnet_ov.results import (
        FailedPrediction,
        FrameResult,
        Prediction,
        Result,
        StreamEvent,
        StreamStats,
    )
    from lcnet_ov.runtime.async_classifier import AsyncClassifier, BatchStats
    from lcnet_ov.runtime.classifier import Classifier
    from lcnet_ov.runtime.evaluation import EvalResult, evaluate
    from lcnet_ov.runtime.metadata import ModelMetadata, read_metadata
    from lcnet_ov.runtime.stream import FrameStream, stream_events
    from lcnet_ov.zoo import ModelSpec, Preprocess, get_spec, list_models

# public name -> module that defines it
_LAZY = {
    "ModelSpec": "lcnet_ov.zoo",
    "Preprocess": "lcnet_ov.zoo",
    "get_spec": "lcnet_ov.zoo",
    "list_models": "lcnet_ov.zoo",
    "complexity": "lcnet_ov.export.arch",
    "download_model": "lcnet_ov.export.download",
    "convert": "lcnet_ov.export.conversion",
    "ConvertOptions": "lcnet_ov.export.conversion",
    "ConvertResult": "lcnet_ov.export.conversion",
    "resolve_ir": "lcnet_ov.export.resolve",
    "ModelMetadata": "lcnet_ov.runtime.metadata",
    "read_metadata": "lcnet_ov.runtime.metadata",
    "Classifier": "lcnet_ov.runtime.classifier",
    "AsyncClassifier": "lcnet_ov.runtime.async_classifier",
    "BatchStats": "lcnet_ov.runtime.async_classifier",
    "FailedPrediction": "lcnet_ov.results",
    "Result": "lcnet_ov.results",
    "Prediction": "lcnet_ov.results",
    "FrameResult": "lcnet_ov.results",
    "StreamEvent": "lcnet_ov.results",
    "StreamStats": "lcnet_ov.results",
    "FrameStream": "lcnet_ov.runtime.stream",
    "stream_events": "lcnet_ov.runtime.stream",
    "decode_image": "lcnet_ov.inputs.decode",
    "preprocess": "lcnet_ov.inputs.preprocess",
    "topk": "lcnet_ov.postprocess",
    "Postprocess": "lcnet_ov.postprocess",
    "ModelConfig": "lcnet_ov.inputs.model_config",
    "read_model_config": "lcnet_ov.inputs.model_config",
    "load_labels": "lcnet_ov.inputs.labels",
    "iter_inputs": "lcnet_ov.inputs.files",
    "BenchResult": "lcnet_ov.bench",
    "BenchSettings": "lcnet_ov.bench",
    "Measurement": "lcnet_ov.bench",
    "quantize": "lcnet_ov.export.quantization",
    "QuantizeSettings": "lcnet_ov.export.quantization",
    "QuantizeResult": "lcnet_ov.export.quantization",
    "evaluate": "lcnet_ov.runtime.evaluation",
    "EvalResult": "lcnet_ov.runtime.evaluation",
    "open_image_set": "lcnet_ov.inputs.datasets",
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
            "ModelNotConvertedError",
            "UnsafeCheckpointError",
            "ConversionError",
            "VerificationError",
            "LabelFileError",
            "ModelConfigError",
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
            "OutputExistsError",
            "CacheDirError",
            "ClusterError",
            "OutputFileError",
            "ServeError",
            "ServerBusyError",
            "StreamError",
            "StreamOpenError",
            "StreamOptionError",
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
