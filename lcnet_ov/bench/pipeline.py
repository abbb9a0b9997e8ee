"""End to end through the SDK itself: ``AsyncClassifier.map`` over a folder, timed per image.

``bench --input DIR`` in async mode measures what a user of the SDK gets, not a loop written for
the benchmark: the files go through :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`
with ``lcnet-ov infer``'s settings (the preprocessing policy of :mod:`lcnet_ov.policy`: exact
decode, normalization folded for INT8 IRs only; decode threads; micro-batching up to the
configuration's batch size, 8 unless ``-b`` says otherwise, as ``infer``). So the numbers
include everything the pipeline costs (thread hand-offs, batch assembly, futures, top-k), and
they move when the pipeline does.

What is reported, and why:

* throughput = images / wall time of the timed pass (batches are formed on the fly, so
  "batch × iterations" has no meaning here; ``iterations`` counts images);
* latency per image = from ``map`` taking the file from its input iterator to ``map`` yielding
  its result: read, decode, preprocess, queueing for a batch and a request, inference and
  in-order delivery. Under a full queue that is the latency a throughput-mode caller sees,
  not the model's (``bench`` without ``--input`` reports that);
* the batch sizes the batcher formed (``AsyncClassifier.stats``), which say whether the
  configuration's batch was actually reached.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from .config import BenchConfig, BenchError, BenchSettings
from .results import LatencyStats, Measurement
from .timing import Limits, clock, total_duration


def usable(cfg: BenchConfig) -> bool:
    """Whether ``AsyncClassifier`` can run ``cfg``: async OpenVINO without a fixed stream count
    (the SDK picks streams from its performance hint and has no NUM_STREAMS knob)."""
    return cfg.backend == "openvino" and cfg.mode == "async" and cfg.streams is None


def _feed(files: Sequence[Path], limits: Limits, pulled: list[float]) -> Iterator[Path]:
    """Cycle through ``files`` while the limits say go on; note when ``map`` took each one."""
    start = clock()
    n = 0
    while limits.running(n, clock() - start):
        pulled.append(clock())
        yield files[n % len(files)]
        n += 1


def measure_pipeline(
    xml: Path,
    cfg: BenchConfig,
    settings: BenchSettings,
    files: Sequence[Path],
    limits: Limits,
) -> Measurement:
    """Time ``AsyncClassifier.map`` over ``files`` (cycled) for ``cfg``'s limits."""
    from ..results import FailedPrediction
    from ..runtime.async_classifier import AsyncClassifier
    from .openvino_backend import actual_properties

    if not files:
        raise BenchError("no images to benchmark with")
    start = clock()
    clf = AsyncClassifier(
        xml,
        device=cfg.device,
        threads=cfg.threads,
        inference_precision=None if cfg.infer_precision == "default" else cfg.infer_precision,
        max_batch=cfg.batch_size,
        num_requests=cfg.requests,
        performance_hint="THROUGHPUT" if cfg.hint == "none" else cfg.hint.upper(),
        topk=1,
        fold_preprocessing=None,  # the policy, as `infer DIR`
    )
    try:
        load_ms = (clock() - start) * 1000.0
        first_ms = 0.0
        for i in range(max(settings.warmup, 0)):  # the first alone: decode + one inference
            t0 = clock()
            list(clf.map([files[i % len(files)]]))
            if i == 0:
                first_ms = (clock() - t0) * 1000.0
        warm = clf.stats
        pulled: list[float] = []
        latencies: list[float] = []
        failed: list[str] = []
        t0 = clock()
        for index, result in enumerate(clf.map(_feed(files, limits, pulled))):
            now = clock()
            latencies.append((now - pulled[index]) * 1000.0)
            if isinstance(result, FailedPrediction):
                failed.append(f"{result.name}: {result.error}")
            limits.report(index + 1, now - t0)
        duration = total_duration(t0)
        limits.done()
        stats = clf.stats
        actual = actual_properties(clf.compiled_model)
        requests = clf.num_requests
    finally:
        clf.close()
    if not latencies:
        raise BenchError("the time limit ended before a single image was classified")
    if len(failed) == len(latencies):
        raise BenchError(f"every image failed, e.g. {failed[0]}")
    sizes = {k: v - warm.sizes.get(k, 0) for k, v in stats.sizes.items()}
    sizes = {k: v for k, v in sorted(sizes.items(), reverse=True) if v > 0}
    batches = sum(sizes.values())
    actual["batch_sizes"] = {str(k): v for k, v in sizes.items()}
    actual["mean_batch"] = (
        round(sum(k * v for k, v in sizes.items()) / batches, 2) if batches else 0
    )
    notes = [
        "end to end through AsyncClassifier.map (fold_preprocessing, fast_decode): latency "
        "per image = file taken → result yielded (decode, queueing, inference, in-order delivery)",
        "batches formed: " + ", ".join(f"{n}×{size}" for size, n in sizes.items()),
    ]
    if failed:
        notes.append(f"{len(failed)} of {len(latencies)} images failed, e.g. {failed[0]}")
    return Measurement(
        config=cfg,
        model_path=str(xml),
        iterations=len(latencies),
        duration_s=duration,
        throughput_fps=len(latencies) / duration,
        latency=LatencyStats.from_samples(latencies),
        first_inference_ms=first_ms,
        load_ms=load_ms,
        actual=actual,
        requests=requests,
        notes=tuple(notes),
    )
