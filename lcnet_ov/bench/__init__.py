"""Latency and throughput of PP-LCNet on CPU, measured as ``benchmark_app`` measures them.

``run(model, ...)`` sweeps precisions × backends × batch sizes × threads × streams and returns a
:class:`BenchResult`: one :class:`Measurement` per configuration (latency percentiles from
``InferRequest.latency``, throughput, first-inference time, and the streams/threads/precision
OpenVINO actually chose), the machine it ran on, and package versions. ONNX Runtime and Paddle
Inference (oneDNN) can be measured in the same run, with the same thread count, as peers.

Importing this package is cheap; OpenVINO, ONNX Runtime and Paddle load when a run needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .config import BenchConfig, BenchError, BenchSettings, available_cores, expand
from .machine import MachineInfo, machine_info
from .results import BenchResult, LatencyStats, Measurement, Skipped, percentile
from .runner import Progress, run_settings

__all__ = [
    "BenchConfig",
    "BenchError",
    "BenchResult",
    "BenchSettings",
    "LatencyStats",
    "MachineInfo",
    "Measurement",
    "Progress",
    "Skipped",
    "available_cores",
    "expand",
    "machine_info",
    "percentile",
    "run",
    "run_settings",
]


def run(
    model: str | Path,
    *,
    precision: str | Sequence[str] = "fp32",
    backend: str | Sequence[str] = "openvino",
    threads: int | Sequence[int | None] | None = None,
    batch_size: int | Sequence[int] | None = None,
    streams: int | Sequence[int | None] | None = None,
    hint: str | None = None,
    mode: str | None = None,
    requests: int | None = None,
    time_s: float | None = None,
    iterations: int | None = None,
    warmup: int = 1,
    infer_precision: str = "f32",
    input: str | Path = "synthetic",
    device: str = "CPU",
    seed: int = 0,
    progress: Progress | None = None,
) -> BenchResult:
    """Benchmark ``model`` (zoo name, ``.xml`` IR, Paddle folder or ``.onnx``).

    Sequence-valued arguments are swept. ``hint``/``mode`` default as in ``benchmark_app``
    (async + THROUGHPUT; ``hint="latency"`` alone means sync). ``infer_precision`` defaults to
    ``f32`` because OpenVINO otherwise runs FP32 IRs in bf16 on CPUs that have it, which would
    make "FP32" numbers bf16 numbers. ``input`` is ``"synthetic"`` or a folder of images to
    decode and preprocess inside the timed loop (async OpenVINO: through
    ``AsyncClassifier.map``, the SDK's own pipeline, with ``iterations`` counting images).
    Raises :class:`BenchError` for bad options.
    """
    settings = BenchSettings(
        model=model,
        precisions=precision,  # type: ignore[arg-type]
        backends=backend,  # type: ignore[arg-type]
        threads=threads,  # type: ignore[arg-type]
        batch_sizes=batch_size,  # type: ignore[arg-type]
        streams=streams,  # type: ignore[arg-type]
        hint=hint,
        mode=mode,
        requests=requests,
        time_s=time_s,
        iterations=iterations,
        warmup=warmup,
        infer_precision=infer_precision,
        input=input,
        device=device,
        seed=seed,
    )
    return run_settings(settings, progress)
