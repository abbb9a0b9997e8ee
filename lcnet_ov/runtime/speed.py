"""Which IR runs fastest on this machine: short interleaved timings, and ``precision="auto"``.

INT8 is not always faster than FP32: on CPUs with AMX the narrow PP-LCNet scales (x0_25 to
x0_75) ran INT8 at half the FP32 rate (docs/benchmarks.md), because their layers are too thin
for the INT8 kernels to pay for the (de)quantization around them. So ``lcnet-ov quantize``
measures INT8 ÷ FP32 where it runs, and ``precision="auto"`` picks among the IRs present by
measuring them here once: fp32, fp32 computed in bf16 (CPUs with BF16), and int8. The choice
is cached in ``$LCNET_OV_HOME/precision_choice.json``, keyed by the CPU (model name and flags),
OpenVINO's version, the thread count and each IR's size and mtime, so it is measured again only
when one of those changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from .._util import write_text_atomically
from ..errors import InvalidModelFileError
from .core import shared_core

#: seconds of timing per candidate in :func:`choose_precision` (split over the rounds)
AUTO_SECONDS = 0.6
#: interleaved rounds: a neighbour's burst of load hits every candidate, not just one
ROUNDS = 3
CACHE_FILE = "precision_choice.json"


@dataclass(frozen=True)
class Candidate:
    """One way to run a model: an IR and the compute precision hint it is compiled with."""

    label: str  # "fp32", "bf16" (fp32 IR, bf16 compute) or "int8"
    xml: Path
    inference_precision: str | None


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``precision="auto"`` runs, and the rates it was chosen on (images/s, batch 1)."""

    label: str
    xml: Path
    inference_precision: str | None
    fps: dict[str, float]
    threads: int | None
    #: True when read from the cache (nothing was timed this time)
    cached: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["xml"] = str(self.xml)
        return d


def _input_for(model: Any) -> np.ndarray:
    """A batch-1 input of the model's layout (float NCHW, or uint8 NHWC when embedded)."""
    port = model.input(0)
    shape = port.get_partial_shape()
    u8 = port.get_element_type().get_type_name() == "u8"
    dims = [d.get_length() if d.is_static else 224 for d in shape]
    dims[0] = 1
    if u8:
        return np.random.default_rng(0).integers(0, 256, dims, dtype=np.uint8)
    return np.random.default_rng(0).standard_normal(dims).astype(np.float32)


def _compiled(model: Any, inference_precision: str | None, threads: int | None) -> Any:
    # the same properties Classifier compiles with (loaded_model.compile_config; not imported:
    # locate → speed must not lead back to loaded_model, which imports locate)
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    if inference_precision is not None:
        config["INFERENCE_PRECISION_HINT"] = inference_precision
    source = str(model) if isinstance(model, (str, Path)) else model
    try:
        return shared_core().compile_model(source, "CPU", config)
    except RuntimeError as exc:
        raise InvalidModelFileError(f"{source}: OpenVINO cannot compile it ({exc})") from exc


def measure_rates(
    models: Sequence[tuple[Any, str | None]],
    *,
    threads: int | None = None,
    seconds: float = 1.0,
    rounds: int = ROUNDS,
) -> list[float]:
    """Synchronous batch-1 images/s of each ``(IR path or ov.Model, inference precision)``.

    All are compiled first, then timed in ``rounds`` interleaved slices of
    ``seconds / rounds`` each; the best slice counts (load from other processes only slows a
    slice down, so the fastest is the closest to what the CPU can do).
    """
    jobs = []
    for model, hint in models:
        compiled = _compiled(model, hint, threads)
        request = compiled.create_infer_request()
        x = _input_for(compiled)
        request.infer([x])  # first inference allocates; not timed
        jobs.append((request, x))
    best = [0.0] * len(jobs)
    slice_s = max(seconds / rounds, 0.05)
    for _ in range(rounds):
        for i, (request, x) in enumerate(jobs):
            n, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < slice_s:
                request.infer([x])
                n += 1
            best[i] = max(best[i], n / elapsed)
    return best


def has_bf16() -> bool:
    """True when OpenVINO's CPU plugin can compute in bf16 here (AVX512-BF16 or AMX)."""
    caps = shared_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in [str(c).upper() for c in caps]


def cpu_identity() -> dict[str, str]:
    """What makes timings from another machine (or another OpenVINO) not apply here."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = value.strip()
    except OSError:
        pass
    import openvino

    return {
        "cpu": model,
        "flags": hashlib.sha1(flags.encode()).hexdigest()[:16],
        "cores": str(os.cpu_count()),
        "openvino": openvino.get_version(),
    }


def _ir_stamp(xml: Path) -> list[Any]:
    stamp: list[Any] = [str(xml.resolve())]
    for path in (xml, xml.with_suffix(".bin")):
        st = path.stat()
        stamp += [st.st_size, st.st_mtime_ns]
    return stamp


def cache_key(candidates: Sequence[Candidate], threads: int | None) -> str:
    data = {
        "machine": cpu_identity(),
        "threads": threads,
        "candidates": [[c.label, c.inference_precision, *_ir_stamp(c.xml)] for c in candidates],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pick(candidates: Sequence[Candidate], fps: Sequence[float]) -> int:
    """Index of the fastest candidate: an INT8 IR only when it beats every float one (ties
    go to the earlier, float, candidate)."""
    return max(range(len(candidates)), key=lambda i: (fps[i], -i))


def choose_precision(
    candidates: Sequence[Candidate], *, threads: int | None = None, seconds: float = AUTO_SECONDS
) -> PrecisionChoice:
    """The fastest of ``candidates`` on this machine, timed once and then read from the cache."""
    if not candidates:
        raise InvalidModelFileError("no IR to choose a precision from")
    cache = paths.home() / CACHE_FILE
    key = cache_key(candidates, threads)
    entry = _read_cache(cache).get(key)
    if isinstance(entry, dict) and entry.get("label") in [c.label for c in candidates]:
        chosen = next(c for c in candidates if c.label == entry["label"])
        return PrecisionChoice(
            chosen.label,
            chosen.xml,
            chosen.inference_precision,
            dict(entry.get("fps", {})),
            threads,
            cached=True,
        )
    if len(candidates) == 1:
        fps = [0.0]
    else:
        fps = measure_rates(
            [(c.xml, c.inference_precision) for c in candidates],
            threads=threads,
            seconds=seconds * len(candidates),
        )
    i = pick(candidates, fps)
    rates = {c.label: round(f, 1) for c, f in zip(candidates, fps, strict=True)}
    try:  # the cache is an optimization: a read-only home only means timing again next time
        cache.parent.mkdir(parents=True, exist_ok=True)
        data = _read_cache(cache)
        data[key] = {"label": candidates[i].label, "fps": rates, "measured": time.time()}
        write_text_atomically(cache, json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        pass
    c = candidates[i]
    return PrecisionChoice(c.label, c.xml, c.inference_precision, rates, threads, cached=False)
