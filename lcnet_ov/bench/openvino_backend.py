"""OpenVINO measurement, done the way ``benchmark_app`` does it so the two agree.

Method (``openvino/tools/benchmark/benchmark.py``):

* the model is reshaped to a static batch and compiled with the requested properties; what the
  plugin then chose (streams, threads, inference precision, optimal requests) is read back with
  ``compiled_model.get_property``, because hints and hardware limits silently override requests;
* synthetic input is written into every request once (inference-only mode), so nothing but
  inference is inside the loop;
* one first inference (a single request, reported separately) warms caches and kernels;
* sync: one request, ``infer()`` in a loop; async: an ``AsyncInferQueue`` of
  ``OPTIMAL_NUMBER_OF_INFER_REQUESTS`` requests kept busy by ``get_idle_request_id`` +
  ``start_async``, finishing a whole round of requests before stopping;
* latency of each inference is ``InferRequest.latency`` (the plugin's own timer, no Python or
  queueing time), percentiles are nearest-rank, throughput = batch × iterations / wall time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .config import BenchConfig, BenchSettings
from .inputs import ImageBatches, static_shape, synthetic
from .results import Measurement
from .timing import Limits, Run, clock, timed_loop, total_duration

#: properties reported after compiling (the plugin's decisions, not our requests)
ACTUAL_PROPERTIES = (
    "PERFORMANCE_HINT",
    "NUM_STREAMS",
    "INFERENCE_NUM_THREADS",
    "INFERENCE_PRECISION_HINT",
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
    "ENABLE_CPU_PINNING",
    "EXECUTION_DEVICES",
)


def compile_properties(cfg: BenchConfig) -> dict[str, Any]:
    """The OpenVINO properties a config asks for; unset ones are left to the plugin."""
    props: dict[str, Any] = {}
    if cfg.infer_precision != "default":
        props["INFERENCE_PRECISION_HINT"] = cfg.infer_precision
    if cfg.hint != "none":
        props["PERFORMANCE_HINT"] = cfg.hint.upper()
        if cfg.mode == "async" and cfg.requests:
            props["PERFORMANCE_HINT_NUM_REQUESTS"] = cfg.requests
    if cfg.threads is not None:
        props["INFERENCE_NUM_THREADS"] = cfg.threads
    if cfg.streams is not None:
        props["NUM_STREAMS"] = cfg.streams
    return props


def _plain(value: Any) -> Any:
    """Property values as JSON-friendly Python (``Type`` → ``"f32"``, enums → names)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    type_name = getattr(value, "get_type_name", None)
    if callable(type_name):
        return type_name()
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value)


def actual_properties(compiled: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ACTUAL_PROPERTIES:
        try:
            out[key] = _plain(compiled.get_property(key))
        except RuntimeError:  # a device without this property
            continue
    return out


def compile_model(xml: Path, cfg: BenchConfig, input_hw: tuple[int, int]) -> tuple[Any, float]:
    """Read, reshape to a static batch and compile; returns the compiled model and its ms."""
    import openvino as ov

    from ..runtime.core import shared_core

    start = clock()
    core = shared_core()
    model = core.read_model(str(xml))
    if len(model.inputs) != 1:
        from .config import BenchError

        raise BenchError(f"{xml}: expected one input, the model has {len(model.inputs)}")
    dims = [d.get_length() if d.is_static else -1 for d in model.input(0).get_partial_shape()]
    shape = static_shape(dims, cfg.batch_size, input_hw)
    model.reshape({model.input(0).any_name: ov.PartialShape(list(shape))})
    compiled = core.compile_model(model, cfg.device, compile_properties(cfg))
    return compiled, (clock() - start) * 1000.0


def measure(
    xml: Path,
    cfg: BenchConfig,
    settings: BenchSettings,
    *,
    input_hw: tuple[int, int],
    images: ImageBatches | None = None,
    limits: Limits,
) -> Measurement:
    """Compile ``xml`` for ``cfg`` and time it; ``images`` switches to end-to-end mode."""
    compiled, load_ms = compile_model(xml, cfg, input_hw)
    actual = actual_properties(compiled)
    port = compiled.input(0)
    shape = tuple(port.get_shape())
    dtype = port.get_element_type().to_dtype()
    data = None if images is not None else synthetic(shape, dtype, settings.seed)
    if cfg.mode == "sync":
        run = _run_sync(compiled, data, images, cfg.batch_size, settings.warmup, limits)
        nireq = 1
    else:
        nireq = cfg.requests or int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        run = _run_async(compiled, nireq, data, images, cfg.batch_size, settings.warmup, limits)
    notes = []
    if images is not None:
        notes.append(
            "end to end: latency = read + decode + preprocess + inference "
            + ("(wall time per iteration)" if cfg.mode == "sync" else "(queueing excluded)")
        )
    return Measurement.from_run(
        cfg, str(xml), run, load_ms=load_ms, actual=actual, requests=nireq, notes=notes
    )


def _run_sync(
    compiled: Any,
    data: np.ndarray | None,
    images: ImageBatches | None,
    batch: int,
    warmup: int,
    limits: Limits,
) -> Run:
    request = compiled.create_infer_request()
    first_ms: float | None = None
    if data is not None:
        request.get_input_tensor(0).data[:] = data
        for _ in range(warmup):
            request.infer()
            first_ms = request.latency if first_ms is None else first_ms

        def step(_: None) -> float:
            request.infer()
            return request.latency  # the request's own timer, as benchmark_app reports

        return timed_loop(step, None, batch, limits, first_ms)
    assert images is not None
    for _ in range(warmup):
        x, pre_ms = images.next_batch(batch)
        request.infer({0: x})
        first_ms = pre_ms + request.latency if first_ms is None else first_ms

    def step_images(x: np.ndarray) -> None:
        request.infer({0: x})

    return timed_loop(step_images, images, batch, limits, first_ms)


def _run_async(
    compiled: Any,
    nireq: int,
    data: np.ndarray | None,
    images: ImageBatches | None,
    batch: int,
    warmup: int,
    limits: Limits,
) -> Run:
    import openvino as ov

    queue = ov.AsyncInferQueue(compiled, nireq)
    nireq = len(queue)
    limits.align(nireq)
    if data is not None:
        for request in queue:
            request.get_input_tensor(0).data[:] = data
    first_ms: float | None = None
    for _ in range(warmup):  # the first one is benchmark_app's "first inference"
        idle = queue.get_idle_request_id()
        if data is not None:
            queue.start_async(userdata=0.0)
        else:
            assert images is not None
            x, pre_ms = images.next_batch(batch)
            queue.start_async({0: x}, userdata=pre_ms)
        queue.wait_all()
        if first_ms is None:
            first_ms = queue[idle].latency + queue.userdata[idle]
    times: list[float] = []
    pre: list[float] = []
    in_flight: set[int] = set()
    iteration = 0
    elapsed = 0.0
    start = clock()
    if data is not None:
        while limits.running(iteration, elapsed) or iteration % nireq:
            idle = queue.get_idle_request_id()
            if idle in in_flight:
                times.append(queue[idle].latency)
            else:
                in_flight.add(idle)
            queue.start_async()
            iteration += 1
            elapsed = clock() - start
            limits.report(iteration, elapsed)
    else:
        assert images is not None
        while limits.running(iteration, elapsed) or iteration % nireq:
            x, pre_ms = images.next_batch(batch)
            idle = queue.get_idle_request_id()
            if idle in in_flight:
                times.append(queue[idle].latency + queue.userdata[idle])
            else:
                in_flight.add(idle)
            queue.start_async({0: x}, userdata=pre_ms)
            pre.append(pre_ms)
            iteration += 1
            elapsed = clock() - start
            limits.report(iteration, elapsed)
    queue.wait_all()
    duration = total_duration(start)
    for idle in in_flight:
        times.append(queue[idle].latency + (queue.userdata[idle] if images is not None else 0.0))
    limits.done()
    return times, duration, iteration, first_ms if first_ms is not None else times[0], pre
