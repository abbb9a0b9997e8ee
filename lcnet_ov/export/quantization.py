"""INT8 post-training quantization of PP-LCNet IRs with NNCF, optionally accuracy-controlled.

Defaults were chosen by measurement (``benchmarks/quantize_study.py``, written up in
``docs/quantization.md``); the reasons, in short:

* ``preset="mixed"`` (asymmetric activations): every activation in PP-LCNet is a HardSwish,
  whose range is ``[-0.375, +large]``. The symmetric ``performance`` preset spends half its 256
  levels on negative values that never occur, and on the real text-orientation model that costs
  a visible error (mean output cosine 0.998 vs 0.99994, with single images collapsing).
* the SE block's ``Multiply`` (feature map × HardSigmoid gate) is quantized, as NNCF does by
  default: its SE pattern does not match HardSigmoid, so both inputs of that multiply get
  FakeQuantize, but with opset-14 single-op HardSwish/HardSigmoid that measured no worse than
  keeping it in float (``ignore_se_multiply=True``), on trained and seeded networks alike.
* fast bias correction: full bias correction took about twice as long for ≤ 0.1 point.
* calibration images are fed ``CALIBRATION_BATCH`` at a time with batch-wise statistics, which
  gives the same ranges as one-by-one feeding at a fraction of NNCF's per-item Python overhead.

The result is written atomically next to the FP32 IR (where ``resolve_ir(model, "int8")`` and
``lcnet-ov infer --precision int8`` look) with the settings, data and NNCF version stamped into
``rt_info``, so an INT8 IR always says how it was made.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._deps import require
from .._outputs import check_writable_dir, ir_output
from .._util import WrittenIR, package_versions, save_ir_atomically
from ..errors import LcnetOVError, QuantizationError, QuantizeOptionError
from ..inputs.datasets import (
    CALIBRATION_LISTS,
    DatasetError,
    SkippedFile,
    model_input,
    open_image_set,
)
from ..paths import int8_ir_path
from ..runtime.loaded_model import LoadedModel
from ..runtime.metadata import ModelMetadata, has_metadata, read_metadata, write_metadata
from .accuracy import AccuracyReport, _load, _validation_items, _with_accuracy_control
from .int8_graph import (
    _count_fq,
    compute_op_precisions,
    is_quantized,
    se_multiplies,
)
from .int8_speed import SPEED_SECONDS, speed_check, speed_warnings
from .resolve import resolve_ir

PRESETS = ("mixed", "performance")
MODEL_TYPES = (None, "transformer")
#: images per calibration item (dynamic-batch IRs); statistics are still per image
CALIBRATION_BATCH = 10
#: fewest calibration images accepted without ``force`` (one CALIBRATION_BATCH item). Below it
#: every activation range is the min/max of a handful of images and clips what else inference
#: meets; agreement with FP32 against calibration-set size is measured by
#: ``python -m benchmarks.quantize_study`` (docs/quantization.md)
MIN_CALIBRATION_IMAGES = 10
#: validation images used by accuracy control (each is re-scored at every revert step)
DEFAULT_VAL_SUBSET = 1000


@dataclass(frozen=True)
class QuantizeSettings:
    """Everything that decides the INT8 model; validated on construction, stamped into the IR."""

    subset_size: int = 300
    seed: int = 0
    preset: str = "mixed"
    fast_bias_correction: bool = True
    #: keep the SE block's feature×gate Multiply in floating point (see module docstring)
    ignore_se_multiply: bool = False
    #: extra ops to keep in floating point: exact names, ``type:OpType`` or ``re:regex``
    ignored_scope: tuple[str, ...] = ()
    #: NNCF model type: None (CNN) or "transformer"
    model_type: str | None = None
    #: accuracy control: largest accepted top-1 drop as a fraction (0.01 = 1 point)
    max_drop: float | None = None
    val_subset_size: int | None = DEFAULT_VAL_SUBSET

    def __post_init__(self) -> None:
        scope = self.ignored_scope
        object.__setattr__(
            self, "ignored_scope", (scope,) if isinstance(scope, str) else tuple(scope)
        )
        if self.subset_size < 1:
            raise QuantizeOptionError(f"subset_size must be ≥ 1, got {self.subset_size}")
        if self.preset not in PRESETS:
            raise QuantizeOptionError(f"unknown preset {self.preset!r}; choose one of {PRESETS}")
        if self.model_type not in MODEL_TYPES:
            raise QuantizeOptionError(
                f"unknown model_type {self.model_type!r}; choose None or 'transformer'"
            )
        if self.max_drop is not None and not 0 <= self.max_drop < 1:
            raise QuantizeOptionError(
                f"max_drop is a top-1 fraction in [0, 1) (0.01 = 1 point), got {self.max_drop}"
            )
        if self.val_subset_size is not None and self.val_subset_size < 1:
            raise QuantizeOptionError(f"val_subset_size must be ≥ 1, got {self.val_subset_size}")
        for entry in self.ignored_scope:
            if not isinstance(entry, str) or not entry.strip() or entry in ("type:", "re:"):
                raise QuantizeOptionError(f"empty ignored-scope entry {entry!r}")
            if entry.startswith("re:"):
                try:
                    re.compile(entry[3:])
                except re.error as exc:
                    raise QuantizeOptionError(f"bad ignored-scope regex {entry!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ignored_scope"] = list(self.ignored_scope)
        return d


@dataclass(frozen=True)
class QuantizeResult(WrittenIR):
    xml: Path
    source_xml: Path
    metadata: ModelMetadata
    settings: QuantizeSettings
    data: dict[str, Any]
    images_used: int
    skipped: tuple[SkippedFile, ...]
    #: activation FakeQuantize nodes in the INT8 IR
    fake_quantize: int
    int8_ops: tuple[str, ...]
    #: compute ops left in floating point (ignored scope, accuracy control, NNCF rules)
    fp32_ops: tuple[str, ...]
    seconds: float
    nncf_version: str
    accuracy: AccuracyReport | None = None
    log: tuple[str, ...] = field(default=(), repr=False)
    #: things the caller should know (fewer calibration images than asked for, INT8 slower)
    warnings: tuple[str, ...] = ()
    #: INT8 against FP32 on this machine (:func:`speed_check`); None when not measured
    speed: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.files(),
            "source_xml": str(self.source_xml),
            "name": self.metadata.name,
            "settings": self.settings.to_dict(),
            "data": self.data,
            "images_used": self.images_used,
            "skipped": [s.to_dict() for s in self.skipped],
            "fake_quantize": self.fake_quantize,
            "int8_ops": len(self.int8_ops),
            "fp32_ops": list(self.fp32_ops),
            "seconds": round(self.seconds, 2),
            "nncf_version": self.nncf_version,
            "accuracy": self.accuracy.to_dict() if self.accuracy else None,
            "warnings": list(self.warnings),
            "speed": self.speed,
        }


def check_subset(available: int, wanted: int, source: Any, force: bool) -> str | None:
    """The note to print when ``source`` has fewer usable images than ``wanted`` (None when
    it has enough); raises below :data:`MIN_CALIBRATION_IMAGES` unless ``force``."""
    if available >= wanted:
        return None
    note = (
        f"--subset-size {wanted} asked for more calibration images than {source} provides: "
        f"calibrating on {available}"
    )
    if available < MIN_CALIBRATION_IMAGES and not force:
        raise QuantizationError(
            f"{source} has {available} usable calibration image(s), fewer than "
            f"{MIN_CALIBRATION_IMAGES}: activation ranges from so few images "
            "fit those images and clip what inference meets. Add images (a few hundred of the "
            "kind the model will see), or pass --allow-small-calibration (force=True) to "
            "quantize anyway"
        )
    return note


# ---- Where the INT8 IR goes ---------------------------------------------------------------------


def _output_path(output: str | os.PathLike | None, model: str | os.PathLike) -> Path:
    if output is None:
        return int8_ir_path(model)
    out = Path(output).expanduser()
    return ir_output(out)  # FILE.xml or a folder; `-o x.txt` is a UsageError


# ---- Graph inspection -----------------------------------------------------------------------


def _ignored_scope(settings: QuantizeSettings, model: Any) -> Any:
    nncf = require("nncf", extra="quantize")
    names = se_multiplies(model) if settings.ignore_se_multiply else []
    types, patterns = [], []
    for entry in settings.ignored_scope:
        if entry.startswith("type:"):
            types.append(entry[5:])
        elif entry.startswith("re:"):
            patterns.append(entry[3:])
        else:
            names.append(entry)
    if not (names or types or patterns):
        return None
    # validate=True: a typo in a user-given name is an error, not a silent no-op
    return nncf.IgnoredScope(names=names, types=types, patterns=patterns, validate=True)


# ---- NNCF plumbing ------------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _nncf_output(progress: bool) -> Iterator[list[str]]:
    """Keep NNCF off stdout (``--json`` owns it): bars to stderr or nowhere, INFO captured.

    NNCF logs INFO to a stdout handler bound at import time and draws rich progress bars on
    the global console (stdout). Both are redirected only for the duration of the call.
    """
    nncf_logger = logging.getLogger("nncf")
    saved = (nncf_logger.handlers[:], nncf_logger.level)
    capture = _Capture()
    warn = logging.StreamHandler(sys.stderr)
    warn.setLevel(logging.WARNING)
    warn.setFormatter(logging.Formatter("%(levelname)s:nncf:%(message)s"))
    nncf_logger.handlers = [capture, warn] if progress else [capture]
    nncf_logger.setLevel(logging.INFO)
    sink = sys.stderr if progress else io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            yield capture.lines
    finally:
        nncf_logger.handlers, level = saved
        nncf_logger.setLevel(level)


def _calibration_items(model: Any, x: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Split tensors into NNCF items; a static-batch IR takes exactly its batch per item."""
    dim = model.input(0).get_partial_shape()[0]
    static = None if dim.is_dynamic else dim.get_length()
    batch = static or min(CALIBRATION_BATCH, len(x))
    # a static batch drops the last partial batch; dynamic batches keep every image
    stop = len(x) - len(x) % batch if static else len(x)
    items = [x[i : i + batch] for i in range(0, stop, batch)]
    if not items:
        raise DatasetError(
            f"the IR has a fixed batch of {batch} but only {len(x)} calibration images were read"
        )
    return items, batch


# ---- Public API ---------------------------------------------------------------------------------


def quantize(
    model: str | os.PathLike,
    data: str | os.PathLike,
    *,
    subset_size: int = 300,
    seed: int = 0,
    output: str | os.PathLike | None = None,
    preset: str = "mixed",
    fast_bias_correction: bool = True,
    ignore_se_multiply: bool = False,
    ignored_scope: Sequence[str] = (),
    model_type: str | None = None,
    max_drop: float | None = None,
    val_data: str | os.PathLike | None = None,
    val_subset_size: int | None = DEFAULT_VAL_SUBSET,
    list_file: str | os.PathLike | None = None,
    progress: bool = True,
    force: bool = False,
    speed_seconds: float | None = SPEED_SECONDS,
) -> QuantizeResult:
    """Quantize ``model`` (zoo name, IR or conversion source) to INT8 on images from ``data``.

    ``data`` is a dataset folder (PaddleClas list file, ImageFolder or flat) or a list file;
    a class-balanced subset of ``subset_size`` readable images (chosen by ``seed``) calibrates.
    With ``max_drop`` and a labeled ``val_data``, NNCF's accuracy control keeps the ops that
    cost the most top-1 in floating point until the drop is at most ``max_drop``.
    Fewer usable images than ``subset_size`` is reported in ``warnings``; fewer than
    :data:`MIN_CALIBRATION_IMAGES` is refused unless ``force``. ``speed_seconds`` (None: skip)
    times the INT8 IR against the FP32 one on this machine (``speed``), and ``warnings`` says
    when INT8 is not the faster.
    """
    settings = QuantizeSettings(
        subset_size=subset_size,
        seed=seed,
        preset=preset,
        fast_bias_correction=fast_bias_correction,
        ignore_se_multiply=ignore_se_multiply,
        ignored_scope=tuple(ignored_scope),
        model_type=model_type,
        max_drop=max_drop,
        val_subset_size=val_subset_size,
    )
    if (max_drop is None) != (val_data is None):
        raise QuantizeOptionError("accuracy control needs both max_drop and val_data")
    nncf = require("nncf", extra="quantize")

    from ..runtime.core import shared_core

    started = time.perf_counter()
    source_xml = resolve_ir(model)
    ov_model = shared_core().read_model(str(source_xml))
    if not has_metadata(ov_model):
        raise QuantizationError(
            f"{source_xml}: no lcnet-ov metadata, so the preprocessing calibration must use is "
            "unknown; convert the model with `lcnet-ov convert` first"
        )
    meta = read_metadata(ov_model)
    if meta.precision == "int8" or meta.quantization or is_quantized(ov_model):
        raise QuantizationError(
            f"{source_xml}: this IR is already quantized (INT8); quantize the FP32 model instead"
        )
    out_xml = _output_path(output, model)
    if out_xml.resolve() == source_xml.resolve():
        raise QuantizationError(f"{out_xml}: output would overwrite the FP32 model it reads")
    # before calibration: a minute of NNCF must not end in "cannot write"
    check_writable_dir(out_xml.parent, shown=output if output is not None else out_xml)

    image_set = open_image_set(data, list_file=list_file, prefer=CALIBRATION_LISTS)
    check_subset(len(image_set), subset_size, image_set.source, force)  # before decoding
    # what the runtime will feed this IR: its own input size and preprocessing, from its
    # metadata (the model's config at conversion; an IR reshaped at conversion takes smaller
    # crops), never a 224 default
    loaded_model = LoadedModel(source_xml)
    pp = loaded_model.metadata.preprocess
    if settings.max_drop is not None:
        from ..runtime.evaluation import MULTILABEL_KINDS, postprocess_of

        kind = postprocess_of(loaded_model).kind
        if kind in MULTILABEL_KINDS:
            raise QuantizeOptionError(
                f"{source_xml}: --max-drop measures top-1, which a multi-label model ({kind}) "
                "does not have; quantize without it and compare with `lcnet-ov eval` (mAP, "
                "per-label accuracy)"
            )
    loaded = _load(image_set, pp, subset_size, seed, "calibration images", progress)
    shortfall = check_subset(len(loaded), subset_size, image_set.source, force)
    x = model_input(loaded.crops, pp, meta.embedded_preprocessing)
    items, batch = _calibration_items(ov_model, x)
    scope = _ignored_scope(settings, ov_model)
    kwargs: dict[str, Any] = {
        "preset": nncf.QuantizationPreset(settings.preset),
        "subset_size": len(items),
        "fast_bias_correction": settings.fast_bias_correction,
        "ignored_scope": scope,
        "model_type": nncf.ModelType(settings.model_type) if settings.model_type else None,
    }
    advanced = _advanced(batch)
    accuracy = None
    try:
        with _nncf_output(progress) as log:
            if settings.max_drop is None:
                q_model = nncf.quantize(
                    ov_model, nncf.Dataset(items), advanced_parameters=advanced, **kwargs
                )
            else:
                val_items = _validation_items(
                    val_data, meta, pp, settings.val_subset_size, settings.seed, progress
                )
                q_model, accuracy = _with_accuracy_control(
                    nncf,
                    ov_model,
                    source_xml,
                    items,
                    val_items,
                    settings.max_drop,
                    advanced,
                    kwargs,
                )
    except LcnetOVError:
        raise
    except Exception as exc:  # NNCF raises its own and builtin exception types
        raise QuantizationError(f"NNCF could not quantize {source_xml}: {exc}") from exc

    int8_ops, fp32_ops = compute_op_precisions(q_model)
    nncf_version = getattr(nncf, "__version__", "unknown")
    classes_used = len(set(loaded.labels.tolist()) - {-1})
    data_info = {**image_set.describe(), "subset_size": subset_size, "seed": seed}
    data_info.update(images_used=len(loaded), classes_used=classes_used, calibration_batch=batch)
    stamp = {
        "tool": "nncf",
        "nncf_version": nncf_version,
        "algorithm": "quantize_with_accuracy_control" if accuracy else "quantize",
        "settings": settings.to_dict(),
        "data": data_info,
        "skipped": [s.to_dict() for s in loaded.skipped],
        "fake_quantize": _count_fq(q_model),
        "fp32_ops": fp32_ops,
        "source_ir": str(source_xml),
        "accuracy": accuracy.to_dict() if accuracy else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    new_meta = meta.replace(
        precision="int8",
        quantization=stamp,
        versions={**meta.versions, **package_versions("lcnet-ov", "openvino", "nncf")},
    )
    write_metadata(q_model, new_meta)
    # weights are int8 already; fp16 compression would also round the ops left in float
    save_ir_atomically(q_model, out_xml, compress_to_fp16=False, error=QuantizationError)
    warnings = [shortfall] if shortfall else []
    speed = None
    if speed_seconds:
        speed = speed_check(source_xml, out_xml, seconds=speed_seconds)
        warnings += speed_warnings(speed, meta.name, str(model))
    return QuantizeResult(
        xml=out_xml,
        source_xml=source_xml,
        metadata=new_meta,
        settings=settings,
        data=data_info,
        images_used=len(loaded),
        skipped=tuple(loaded.skipped),
        fake_quantize=stamp["fake_quantize"],
        int8_ops=tuple(int8_ops),
        fp32_ops=tuple(fp32_ops),
        seconds=time.perf_counter() - started,
        nncf_version=nncf_version,
        accuracy=accuracy,
        log=tuple(log),
        warnings=tuple(warnings),
        speed=speed,
    )


def _advanced(batch: int) -> Any:
    """Batch-wise statistics keep per-image ranges when items hold several images."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    return AdvancedQuantizationParameters(batchwise_statistics=batch > 1)
