"""Run a benchmark sweep: resolve each backend's model once, measure every config, collect.

Nothing here prints. Progress goes to an optional :class:`Progress` object (the CLI draws a
bar with it); problems that do not stop the run (a peer that cannot read this model, OpenVINO
overriding a requested setting) are returned in :attr:`BenchResult.skipped` and
:attr:`BenchResult.warnings`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Protocol

from ..zoo import Preprocess
from .config import BenchConfig, BenchError, BenchOptionError, BenchSettings, expand
from .inputs import ImageBatches, list_images
from .machine import machine_info
from .peers import BackendUnavailable
from .results import BenchResult, Measurement, Skipped
from .timing import Limits


class Progress(Protocol):
    """Receives progress; every method must be cheap (``tick`` runs beside the timed loop)."""

    def status(self, message: str) -> None:
        """A preparation step (conversion, model export) that may take a while."""

    def start(self, index: int, total: int, config: BenchConfig) -> None:
        """Measurement ``index`` (0-based) of ``total`` begins."""

    def tick(self, fraction: float) -> None:
        """Fraction (0..1) of the current measurement done."""

    def finish(self, measurement: Measurement | None) -> None:
        """The current measurement ended (``None`` when it was skipped)."""


def _ir_preprocess(xml: Path) -> tuple[Preprocess, bool, str | None]:
    """Preprocessing, whether it is folded into the IR, and the IR's precision, from rt_info."""
    from ..errors import InvalidModelFileError
    from ..runtime.metadata import read_metadata

    try:
        meta = read_metadata(xml)
    except InvalidModelFileError:
        return Preprocess(), False, None
    return meta.preprocess, meta.embedded_preprocessing, meta.precision


def _default_preprocess(model: str | Path) -> Preprocess:
    from .. import zoo

    if not Path(model).expanduser().exists() and zoo.is_known(str(model)):
        return zoo.get_spec(str(model)).preprocess
    return Preprocess()


def _mismatches(m: Measurement) -> list[str]:
    """Where OpenVINO did not do what was asked: hints, core counts and ISA override requests."""
    cfg, actual, out = m.config, m.actual, []
    where = f"[{m.label}]"
    threads = actual.get("INFERENCE_NUM_THREADS")
    if cfg.threads is not None and threads is not None and int(threads) != cfg.threads:
        out.append(f"{where} OpenVINO runs {threads} threads, {cfg.threads} were requested")
    streams = actual.get("NUM_STREAMS")
    if cfg.streams is not None and streams is not None and int(streams) != cfg.streams:
        out.append(
            f"{where} OpenVINO runs {streams} stream(s), {cfg.streams} were requested"
            + (" (use --hint none to fix the stream count)" if cfg.hint != "none" else "")
        )
    precision = actual.get("INFERENCE_PRECISION_HINT")
    asked = cfg.infer_precision != "default"
    if asked and precision is not None and str(precision) != cfg.infer_precision:
        out.append(
            f"{where} OpenVINO computes in {precision}, {cfg.infer_precision} was requested "
            "(this CPU or model does not support it)"
        )
    return out


class _Sources:
    """Each backend's model for each precision, resolved once and remembered (or why not)."""

    def __init__(self, settings: BenchSettings, progress: Progress | None) -> None:
        self.settings = settings
        self.progress = progress
        self._cache: dict[tuple[str, str], Any] = {}

    def _status(self, message: str) -> None:
        if self.progress is not None:
            self.progress.status(message)

    def get(self, backend: str, precision: str) -> Any:
        key = (backend, precision)
        if key not in self._cache:
            try:
                self._cache[key] = self._resolve(backend, precision)
            except BackendUnavailable as exc:
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, BackendUnavailable):
            raise value
        return value

    def _resolve(self, backend: str, precision: str) -> Any:
        from . import peers

        model = self.settings.model
        if backend == "openvino":
            from ..export.resolve import resolve_ir

            return resolve_ir(model, precision, on_step=self._status)
        if precision != "fp32":
            raise BackendUnavailable(f"{precision.upper()} is measured with OpenVINO only")
        if backend == "onnxruntime":
            return peers.onnx_source(model, on_step=self._status)
        return peers.paddle_source(model)


def run_settings(settings: BenchSettings, progress: Progress | None = None) -> BenchResult:
    """Measure every configuration of ``settings``; see :func:`lcnet_ov.bench.run`."""
    model_path = Path(settings.model).expanduser()
    is_ir = model_path.suffix.lower() == ".xml"
    if is_ir and len(settings.precisions) > 1:
        raise BenchOptionError(
            "an .xml IR has one precision; give a zoo name or source model to compare "
            f"{', '.join(settings.precisions)}"
        )
    if is_ir and model_path.is_file():
        # an IR is what it is: label it by the precision its metadata records
        ir_precision = _ir_preprocess(model_path)[2]
        if ir_precision in ("fp32", "fp16", "int8") and ir_precision != settings.precisions[0]:
            note = (
                f"{model_path.name} is a {ir_precision} IR (its metadata says so); measured and "
                f"labelled as {ir_precision}, not {settings.precisions[0]}"
            )
            settings = dataclasses.replace(
                settings, precisions=(ir_precision,), warnings=(*settings.warnings, note)
            )
    # cheap checks first: an empty image folder or a missing INT8 IR fails before any conversion
    # or minutes of timing
    files = list_images(Path(settings.input)) if settings.end_to_end else None
    sources = _Sources(settings, progress)
    if "openvino" in settings.backends:
        # INT8 first: it is only looked up (never converted), so a missing one fails at once
        for precision in sorted(settings.precisions, key=lambda p: p != "int8"):
            sources.get("openvino", precision)
    machine = machine_info()
    configs = expand(settings)
    results: list[Measurement] = []
    skipped: dict[tuple[str, str], Skipped] = {}
    warnings = list(settings.warnings)
    for index, cfg in enumerate(configs):
        if progress is not None:
            progress.start(index, len(configs), cfg)
        try:
            measurement = _measure_one(cfg, settings, sources, files, progress)
        except BackendUnavailable as exc:
            skipped.setdefault(
                (cfg.backend, cfg.precision), Skipped(cfg.backend, cfg.precision, str(exc))
            )
            measurement = None
        if measurement is not None:
            results.append(measurement)
            warnings.extend(_mismatches(measurement))
        if progress is not None:
            progress.finish(measurement)
    return BenchResult(
        model=str(settings.model),
        settings=settings.to_dict(),
        machine=machine,
        results=tuple(results),
        skipped=tuple(skipped.values()),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _measure_one(
    cfg: BenchConfig,
    settings: BenchSettings,
    sources: _Sources,
    files: list[Path] | None,
    progress: Progress | None,
) -> Measurement:
    from . import openvino_backend, peers, pipeline

    source = sources.get(cfg.backend, cfg.precision)
    limits = Limits(
        settings.duration_s, settings.iterations, tick=progress.tick if progress else None
    )
    if cfg.backend == "openvino":
        if files is not None and pipeline.usable(cfg):  # the SDK's own pipeline, end to end
            return pipeline.measure_pipeline(source, cfg, settings, files, limits)
        pp, embedded, _ = _ir_preprocess(source)
        images = ImageBatches(files, pp, embedded) if files is not None else None
        return openvino_backend.measure(
            source, cfg, settings, input_hw=pp.input_hw, images=images, limits=limits
        )
    pp = _peer_preprocess(settings, sources)
    images = ImageBatches(files, pp) if files is not None else None
    try:
        if cfg.backend == "onnxruntime":
            return peers.measure_onnxruntime(
                source, cfg, settings, input_hw=pp.input_hw, images=images, limits=limits
            )
        program, params = source
        return peers.measure_paddle(
            program, params, cfg, settings, input_hw=pp.input_hw, images=images, limits=limits
        )
    except (BenchError, BackendUnavailable):
        raise
    except Exception as exc:  # a peer's own failure must not cost the whole run
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise BackendUnavailable(
            f"{cfg.backend} failed: {type(exc).__name__}: {first_line}"
        ) from exc


def _peer_preprocess(settings: BenchSettings, sources: _Sources) -> Preprocess:
    """Peers read the source model, which has no rt_info; borrow the IR's or the zoo's."""
    if "openvino" in settings.backends:
        try:
            return _ir_preprocess(sources.get("openvino", settings.precisions[0]))[0]
        except BackendUnavailable:
            pass
    return _default_preprocess(settings.model)
