"""What a benchmark run is asked to do, validated up front, and the sweep it expands into.

Every bad option is refused here, before any model is read or compiled, with a
:class:`BenchOptionError` whose one-line message the CLI prints as is. The defaults follow
``benchmark_app`` so that a plain ``lcnet-ov bench`` and a plain ``benchmark_app`` measure the
same thing: async with the THROUGHPUT hint, one warm-up (first) inference, a fixed duration.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import BenchError, BenchOptionError  # noqa: F401  (BenchError: re-exported)

BACKENDS = ("openvino", "onnxruntime", "paddle")
PRECISIONS = ("fp32", "fp16", "int8")
HINTS = ("latency", "throughput", "none")
MODES = ("sync", "async")
#: ``default`` leaves INFERENCE_PRECISION_HINT unset (OpenVINO's choice: bf16 where the CPU has it)
INFER_PRECISIONS = ("f32", "bf16", "f16", "default")
#: seconds per configuration when neither a time nor an iteration count is given
DEFAULT_TIME_S = 5.0


def available_cores() -> int:
    """CPUs this process may run on (affinity, cgroup cpusets), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _as_tuple(value: Any) -> tuple:
    """Accept a scalar or any iterable for sweepable options (``threads=2`` or ``(1, 2)``)."""
    if value is None or isinstance(value, (str, int, float, Path)):
        return (value,)
    return tuple(value)


def _positive_ints(name: str, values: Iterable[Any], allow_none: bool = False) -> tuple:
    out = []
    for v in values:
        if v is None and allow_none:
            out.append(None)
            continue
        try:
            iv = int(v)
        except (TypeError, ValueError):
            raise BenchOptionError(f"{name} must be a positive integer, got {v!r}") from None
        if iv < 1 or (iv != v and not isinstance(v, str)):
            raise BenchOptionError(f"{name} must be a positive integer, got {v!r}")
        out.append(iv)
    if not out:
        raise BenchOptionError(f"{name} needs at least one value")
    return tuple(dict.fromkeys(out))


def _choices(name: str, values: Iterable[Any], allowed: Sequence[str]) -> tuple[str, ...]:
    out = []
    for v in values:
        s = str(v).lower()
        if s not in allowed:
            raise BenchOptionError(f"unknown {name} {v!r}; choose from {', '.join(allowed)}")
        out.append(s)
    if not out:
        raise BenchOptionError(f"{name} needs at least one value")
    return tuple(dict.fromkeys(out))


#: ``bench --input DIR`` in async mode without ``-b``: the batch ``infer DIR`` forms (its
#: ``--batch-size`` default), so the command measures what ``infer`` runs
PIPELINE_BATCH = 8


@dataclass(frozen=True)
class BenchSettings:
    """One benchmark run. Tuple-valued fields are swept (their Cartesian product is measured).

    ``threads``/``streams`` of ``None`` leave the choice to the runtime (OpenVINO's hint, or all
    available cores for the peers). ``hint``/``mode`` of ``None`` are derived from each other as
    ``benchmark_app`` does: latency ↔ sync, throughput ↔ async, async when neither is given;
    explicit ``streams`` without a hint select hint ``none`` so the stream count is honoured.
    """

    model: str | Path
    precisions: tuple[str, ...] = ("fp32",)
    backends: tuple[str, ...] = ("openvino",)
    threads: tuple[int | None, ...] = (None,)
    #: ``None``: 1, or ``infer``'s batch (:data:`PIPELINE_BATCH`) for a folder in async mode
    batch_sizes: tuple[int, ...] | None = None
    streams: tuple[int | None, ...] = (None,)
    hint: str | None = None
    mode: str | None = None
    #: async infer requests; ``None`` → OPTIMAL_NUMBER_OF_INFER_REQUESTS of the compiled model
    requests: int | None = None
    time_s: float | None = None
    iterations: int | None = None
    #: untimed inferences before the measured loop (the first one is reported as first-inference)
    warmup: int = 1
    infer_precision: str = "f32"
    #: ``"synthetic"`` (random tensor set once) or a folder of images decoded in the timed loop
    input: str | Path = "synthetic"
    device: str = "CPU"
    #: seed of the synthetic input tensor
    seed: int = 0
    #: messages produced while validating (e.g. threads above the available cores)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "precisions", _choices("precision", _as_tuple(self.precisions), PRECISIONS))
        set_(self, "backends", _choices("backend", _as_tuple(self.backends), BACKENDS))
        set_(self, "threads", _positive_ints("--threads", _as_tuple(self.threads), True))
        if self.batch_sizes is not None:
            set_(self, "batch_sizes", _positive_ints("--batch-size", _as_tuple(self.batch_sizes)))
        set_(self, "streams", _positive_ints("--streams", _as_tuple(self.streams), True))
        set_(
            self,
            "infer_precision",
            _choices("inference precision", [self.infer_precision], INFER_PRECISIONS)[0],
        )
        if self.hint is not None:
            set_(self, "hint", _choices("hint", [self.hint], HINTS)[0])
        if self.mode is not None:
            set_(self, "mode", _choices("mode", [self.mode], MODES)[0])
        self._check_counts()
        self._derive_hint_and_mode()
        if self.mode == "sync" and self.requests not in (None, 1):
            raise BenchOptionError("--requests applies to --mode async (sync runs one request)")
        self._check_input()
        if self.batch_sizes is None:  # a folder in async mode is `infer DIR`: its batches
            folder = self.input != "synthetic" and self.mode == "async"
            set_(self, "batch_sizes", (PIPELINE_BATCH,) if folder else (1,))
        # dict.fromkeys: dataclasses.replace() re-runs this and must not repeat a warning
        set_(self, "warnings", tuple(dict.fromkeys((*self.warnings, *self._thread_warnings()))))

    def _check_counts(self) -> None:
        if self.time_s is not None and self.iterations is not None:
            raise BenchOptionError("give either --time or --iterations, not both")
        if self.time_s is not None and not self.time_s > 0:
            raise BenchOptionError(f"--time must be > 0 seconds, got {self.time_s}")
        if self.iterations is not None:
            _positive_ints("--iterations", [self.iterations])
        if self.requests is not None:
            _positive_ints("--requests", [self.requests])
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise BenchOptionError(f"--warmup must be an integer ≥ 0, got {self.warmup!r}")

    def _derive_hint_and_mode(self) -> None:
        hint, mode = self.hint, self.mode
        if hint is None and any(s is not None for s in self.streams):
            hint = "none"
        if mode is None:
            mode = "sync" if hint == "latency" else "async"
        if hint is None:
            hint = "latency" if mode == "sync" else "throughput"
        object.__setattr__(self, "hint", hint)
        object.__setattr__(self, "mode", mode)

    def _check_input(self) -> None:
        if str(self.input) == "synthetic":
            object.__setattr__(self, "input", "synthetic")
            return
        path = Path(self.input).expanduser()
        if not path.is_dir():
            raise BenchOptionError(
                f"--input {self.input}: not a folder (give 'synthetic' or a folder of images)"
            )
        object.__setattr__(self, "input", path)

    def _thread_warnings(self) -> list[str]:
        cores = available_cores()
        too_many = sorted(t for t in self.threads if t is not None and t > cores)
        if not too_many:
            return []
        return [
            f"--threads {', '.join(map(str, too_many))} exceeds the {cores} core(s) this process "
            "may use (os.sched_getaffinity); threads will share cores and timings will suffer"
        ]

    @property
    def duration_s(self) -> float | None:
        """Seconds per configuration: the given time, none when iterations are counted."""
        if self.iterations is not None:
            return self.time_s
        return self.time_s if self.time_s is not None else DEFAULT_TIME_S

    @property
    def end_to_end(self) -> bool:
        return self.input != "synthetic"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": str(self.model),
            "precisions": list(self.precisions),
            "backends": list(self.backends),
            "threads": list(self.threads),
            "batch_sizes": list(self.batch_sizes),
            "streams": list(self.streams),
            "hint": self.hint,
            "mode": self.mode,
            "requests": self.requests,
            "time_s": self.duration_s,
            "iterations": self.iterations,
            "warmup": self.warmup,
            "infer_precision": self.infer_precision,
            "input": str(self.input),
            "device": self.device,
        }


@dataclass(frozen=True)
class BenchConfig:
    """One point of the sweep: what a single measurement runs."""

    backend: str
    precision: str
    batch_size: int
    threads: int | None
    streams: int | None
    hint: str
    mode: str
    requests: int | None
    infer_precision: str
    device: str = "CPU"

    @property
    def label(self) -> str:
        """Short name for tables and plot axes (``openvino fp32 b1 t2 async``)."""
        parts = [self.backend, self.precision, f"b{self.batch_size}"]
        if self.threads is not None:
            parts.append(f"t{self.threads}")
        if self.backend == "openvino" and self.streams is not None:
            parts.append(f"s{self.streams}")
        parts.append(self.mode)
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "precision": self.precision,
            "batch_size": self.batch_size,
            "threads": self.threads,
            "streams": self.streams,
            "hint": self.hint,
            "mode": self.mode,
            "requests": self.requests,
            "infer_precision": self.infer_precision,
            "device": self.device,
        }


def expand(settings: BenchSettings) -> list[BenchConfig]:
    """The sweep, backend-major so one runtime's idle threads never overlap another's timing.

    Peers have no streams, hints or request queues: they run a synchronous loop, so configs
    that differ only in those collapse into one measurement.
    """
    configs: list[BenchConfig] = []
    seen: set[BenchConfig] = set()
    for backend, precision, batch, threads, streams in itertools.product(
        settings.backends,
        settings.precisions,
        settings.batch_sizes,
        settings.threads,
        settings.streams,
    ):
        assert settings.hint is not None and settings.mode is not None
        cfg = BenchConfig(
            backend=backend,
            precision=precision,
            batch_size=batch,
            threads=threads,
            streams=streams,
            hint=settings.hint,
            mode=settings.mode,
            requests=settings.requests if settings.mode == "async" else 1,
            infer_precision=settings.infer_precision,
            device=settings.device,
        )
        if backend != "openvino":
            cfg = replace(cfg, streams=None, hint="none", mode="sync", requests=1)
        if cfg not in seen:
            seen.add(cfg)
            configs.append(cfg)
    return configs
