"""Result types of a benchmark run: plain dataclasses the CLI, JSON and plots read from."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import BenchConfig
from .machine import MachineInfo
from .timing import Run


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile, exactly ``benchmark_app``'s (``values[ceil(n*p/100) - 1]``).

    Interpolating percentiles would shift our median by half a sample against benchmark_app's
    on short runs, which is noise in the agreement check that we can avoid entirely.
    """
    if not sorted_values:
        raise ValueError("no samples")
    index = max(math.ceil(len(sorted_values) * percent / 100) - 1, 0)
    return float(sorted_values[index])


@dataclass(frozen=True)
class LatencyStats:
    """Per-inference latency in milliseconds over the measured loop."""

    count: int
    min: float
    median: float
    p90: float
    p99: float
    max: float
    mean: float

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> LatencyStats:
        values = sorted(float(v) for v in samples_ms)
        if not values:
            raise ValueError("no latency samples")
        return cls(
            count=len(values),
            min=values[0],
            median=percentile(values, 50),
            p90=percentile(values, 90),
            p99=percentile(values, 99),
            max=values[-1],
            mean=sum(values) / len(values),
        )

    def to_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "min": self.min,
            "median": self.median,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
            "mean": self.mean,
        }


@dataclass(frozen=True)
class Measurement:
    """One configuration's numbers, plus what the runtime actually did with the request."""

    config: BenchConfig
    #: the file the backend ran (IR .xml, .onnx, or Paddle program)
    model_path: str
    iterations: int
    #: wall time of the measured loop, seconds
    duration_s: float
    #: images per second: batch × iterations / duration (benchmark_app's definition)
    throughput_fps: float
    latency: LatencyStats
    first_inference_ms: float
    #: model read + compile (OpenVINO) or session/predictor creation (peers), milliseconds
    load_ms: float
    #: settings the runtime reports after compiling (OpenVINO: NUM_STREAMS,
    #: INFERENCE_NUM_THREADS, INFERENCE_PRECISION_HINT, OPTIMAL_NUMBER_OF_INFER_REQUESTS, ...)
    actual: dict[str, Any] = field(default_factory=dict)
    #: async infer requests kept in flight (1 for sync)
    requests: int = 1
    #: decode + preprocess time per batch when the input is a folder of images
    preprocess: LatencyStats | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def from_run(
        cls,
        cfg: BenchConfig,
        model_path: str,
        run: Run,
        *,
        load_ms: float,
        actual: dict[str, Any],
        requests: int,
        notes: Sequence[str] = (),
    ) -> Measurement:
        """The numbers of one timed loop (see :func:`~lcnet_ov.bench.timing.timed_loop`)."""
        samples, duration, iterations, first_ms, pre = run
        return cls(
            config=cfg,
            model_path=model_path,
            iterations=iterations,
            duration_s=duration,
            throughput_fps=cfg.batch_size * iterations / duration,
            latency=LatencyStats.from_samples(samples),
            first_inference_ms=first_ms,
            load_ms=load_ms,
            actual=actual,
            requests=requests,
            preprocess=LatencyStats.from_samples(pre) if pre else None,
            notes=tuple(notes),
        )

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def actual_threads(self) -> int | None:
        value = self.actual.get("INFERENCE_NUM_THREADS", self.actual.get("threads"))
        return int(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "config": self.config.to_dict(),
            "model_path": self.model_path,
            "iterations": self.iterations,
            "duration_s": self.duration_s,
            "throughput_fps": self.throughput_fps,
            "latency_ms": self.latency.to_dict(),
            "first_inference_ms": self.first_inference_ms,
            "load_ms": self.load_ms,
            "requests": self.requests,
            "actual": dict(self.actual),
            "preprocess_ms": self.preprocess.to_dict() if self.preprocess else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Skipped:
    """A backend/precision pair that could not run this model, and why."""

    backend: str
    precision: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"backend": self.backend, "precision": self.precision, "reason": self.reason}


@dataclass(frozen=True)
class BenchResult:
    """A whole run: one :class:`Measurement` per configuration of the sweep."""

    model: str
    settings: dict[str, Any]
    machine: MachineInfo
    results: tuple[Measurement, ...]
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[str, ...] = ()

    def find(self, **config: Any) -> list[Measurement]:
        """Measurements whose config matches every given field (``backend="openvino"``)."""
        return [
            m for m in self.results if all(getattr(m.config, k) == v for k, v in config.items())
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "settings": self.settings,
            "machine": self.machine.to_dict(),
            "results": [m.to_dict() for m in self.results],
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": list(self.warnings),
        }
