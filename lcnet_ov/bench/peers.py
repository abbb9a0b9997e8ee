"""The peers OpenVINO is compared with: ONNX Runtime and Paddle Inference (oneDNN on).

Both run a synchronous loop on one session/predictor with the same thread count OpenVINO was
given (all available cores when none was), timed with the same clock and stop rule. Synthetic
input is bound once (ONNX Runtime I/O binding, Paddle's input handle) so, as for OpenVINO, only
inference is inside the loop. Each peer needs its own model format; :func:`onnx_source` and
:func:`paddle_source` find or make it, or raise :class:`BackendUnavailable` saying why not.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._util import captured_native_output
from .config import BenchConfig, BenchSettings, available_cores
from .inputs import ImageBatches, static_shape, synthetic
from .results import Measurement
from .timing import Limits, Run, clock, timed_loop


class BackendUnavailable(Exception):
    """This backend cannot run this model; the message says why (shown as a skip)."""


# ---- Finding a model each peer can read ----------------------------------------------------------


def _source_of(model: str | Path) -> Any:
    """The conversion source behind ``model``: a file path, zoo name, or an IR's recorded source."""
    from ..errors import LcnetOVError
    from ..export import conversion

    path = Path(model).expanduser()
    if path.suffix.lower() == ".xml":
        from ..runtime.metadata import read_metadata

        try:
            recorded = read_metadata(path).source.get("path")
        except LcnetOVError as exc:
            raise BackendUnavailable(f"{path} carries no source to run it from ({exc})") from None
        if not recorded or not Path(recorded).exists():
            raise BackendUnavailable(
                f"{path} is an OpenVINO IR and the source it was converted from "
                f"({recorded or 'unrecorded'}) is not on disk; pass the Paddle or ONNX model"
            )
        path = Path(recorded)
        model = recorded
    if path.suffix.lower() == ".pdparams":
        raise BackendUnavailable(
            f"{path} is a training checkpoint; export a Paddle inference model first"
        )
    try:
        return conversion.resolve_source(str(model))
    except LcnetOVError as exc:
        raise BackendUnavailable(str(exc)) from None


def onnx_source(model: str | Path, on_step: Callable[[str], None] | None = None) -> Path:
    """An ONNX file for ``model``: itself, or its Paddle program through paddle2onnx (cached)."""
    src = _source_of(model)
    if src.kind == "onnx":
        return Path(src.path)
    if src.kind != "paddle" or src.program is None or src.params is None:
        raise BackendUnavailable(f"no ONNX form of {model}")
    from ..errors import LcnetOVError
    from ..export import conversion
    from ..paths import peer_onnx_path

    out = peer_onnx_path(Path(src.path))
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        if on_step:
            on_step(f"paddle2onnx: {src.program.name} → {out}")
        tmp = out.with_suffix(".partial.onnx")
        try:
            conversion.paddle_to_onnx(src.program, src.params, tmp)
        except LcnetOVError as exc:
            raise BackendUnavailable(str(exc).splitlines()[0]) from None
        tmp.replace(out)
    return out


def paddle_source(model: str | Path) -> tuple[Path, Path]:
    """``(program, params)`` of a Paddle inference model for ``model``."""
    src = _source_of(model)
    if src.kind != "paddle" or src.program is None or src.params is None:
        raise BackendUnavailable(
            f"Paddle Inference needs a Paddle inference model; {src.path} is {src.kind.upper()}"
        )
    return Path(src.program), Path(src.params)


# ---- Measuring ----------------------------------------------------------------------------------


def _loop(
    infer: Callable[[np.ndarray | None], None],
    images: ImageBatches | None,
    batch: int,
    warmup: int,
    limits: Limits,
) -> Run:
    """Synchronous loop timed by wall clock per call (peers have no per-request timer)."""
    first_ms: float | None = None
    for _ in range(warmup):
        t0 = clock()
        infer(images.next_batch(batch)[0] if images is not None else None)
        first_ms = (clock() - t0) * 1000.0 if first_ms is None else first_ms
    return timed_loop(infer, images, batch, limits, first_ms)


def _measurement(
    cfg: BenchConfig,
    path: Path,
    run: Run,
    load_ms: float,
    actual: dict[str, Any],
    settings: BenchSettings,
) -> Measurement:
    notes = []
    if settings.mode == "async":
        notes.append(f"{cfg.backend} has no async request queue here: measured with a sync loop")
    if run[4]:
        notes.append("end to end: latency = read + decode + preprocess + inference (wall time)")
    return Measurement.from_run(
        cfg, str(path), run, load_ms=load_ms, actual=actual, requests=1, notes=notes
    )


def measure_onnxruntime(
    onnx: Path,
    cfg: BenchConfig,
    settings: BenchSettings,
    *,
    input_hw: tuple[int, int],
    images: ImageBatches | None,
    limits: Limits,
) -> Measurement:
    from .._deps import require

    ort = require("onnxruntime", extra="bench")
    threads = cfg.threads or available_cores()
    start = clock()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # paddle2onnx leaves unused initializers ORT warns about
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    load_ms = (clock() - start) * 1000.0
    inp = session.get_inputs()[0]
    shape = static_shape(inp.shape, cfg.batch_size, input_hw)
    dtype = np.uint8 if "uint8" in inp.type else np.float32
    out_names = [o.name for o in session.get_outputs()]
    if images is None:
        binding = session.io_binding()
        binding.bind_cpu_input(inp.name, synthetic(shape, dtype, settings.seed))
        for name in out_names:
            binding.bind_output(name, "cpu")

        def infer(_: np.ndarray | None) -> None:
            session.run_with_iobinding(binding)
    else:

        def infer(x: np.ndarray | None) -> None:
            session.run(out_names, {inp.name: x})

    run = _loop(infer, images, cfg.batch_size, settings.warmup, limits)
    actual = {
        "threads": threads,
        "intra_op_num_threads": threads,
        "inter_op_num_threads": 1,
        "graph_optimization_level": "ORT_ENABLE_ALL",
        "providers": session.get_providers(),
    }
    return _measurement(cfg, onnx, run, load_ms, actual, settings)


def measure_paddle(
    program: Path,
    params: Path,
    cfg: BenchConfig,
    settings: BenchSettings,
    *,
    input_hw: tuple[int, int],
    images: ImageBatches | None,
    limits: Limits,
) -> Measurement:
    from .._deps import require

    require("paddle", extra="convert")
    from paddle import inference

    threads = cfg.threads or available_cores()
    start = clock()
    with captured_native_output():
        config = inference.Config(str(program), str(params))
        config.disable_glog_info()
        config.disable_gpu()
        config.enable_mkldnn()
        config.set_cpu_math_library_num_threads(threads)
        config.switch_ir_optim(True)
        predictor = inference.create_predictor(config)
    load_ms = (clock() - start) * 1000.0
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    out_handle = predictor.get_output_handle(predictor.get_output_names()[0])
    # an input handle has no shape until data arrives; PaddleClas exports are NCHW RGB
    shape = (cfg.batch_size, 3, *input_hw)
    handle.reshape(list(shape))
    if images is None:
        handle.copy_from_cpu(synthetic(shape, np.float32, settings.seed))

    def infer(x: np.ndarray | None) -> None:
        if x is not None:
            handle.copy_from_cpu(np.ascontiguousarray(x))
        predictor.run()
        out_handle.copy_to_cpu()

    run = _loop(infer, images, cfg.batch_size, settings.warmup, limits)
    actual = {
        "threads": threads,
        "cpu_math_library_num_threads": threads,
        "mkldnn": bool(config.mkldnn_enabled()),
        "ir_optim": bool(config.ir_optim()),
    }
    return _measurement(cfg, program, run, load_ms, actual, settings)
