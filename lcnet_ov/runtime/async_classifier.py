"""Concurrent classification: :class:`AsyncClassifier`, a micro-batching front for many callers.

Pipeline (each stage overlaps the others; the threads live in :mod:`lcnet_ov.runtime._batching`)::

    submit() ──► prep threads (decode + preprocess; cv2 releases the GIL)
             ──► ready queue ──► a free worker forms a batch (≤ max_batch items or max_wait_ms)
             ──► that worker's own InferRequest (one per OPTIMAL_NUMBER_OF_INFER_REQUESTS,
                 THROUGHPUT hint): start_async + wait, then copy output, top-k
             ──► each item's Future resolves; its done-callbacks run on a callback thread

Why it is built this way:

* **Micro-batching** lets concurrent single-image callers share one inference: a batch of 8
  costs far less than 8 batches of 1. The first item of a batch waits at most ``max_wait_ms``
  for company; under load the queue is never empty and batches fill at once. While every infer
  request is busy no worker is collecting, and items arriving meanwhile make up the next (full)
  batch, so batching grows with load without polling.
* **Backpressure** is a counting semaphore of ``max_pending`` slots, one per submitted item until
  its Future resolves. A full classifier makes ``submit`` block (default), wait up to
  ``timeout`` seconds, or raise :class:`QueueFullError` at once with ``block=False``; memory is
  therefore bounded however fast producers are.
* **Failures stay with their item or batch.** Decode/preprocess errors (and non-images such as
  ``None``: :class:`~lcnet_ov.errors.InvalidInputError`) fail that item's Future before it
  reaches a batch; a NaN row fails only its own item; an inference that OpenVINO fails fails
  exactly that batch with :class:`~lcnet_ov.errors.InferenceError`, frees its slots, and the
  next batch runs normally. ``openvino.AsyncInferQueue`` cannot do this (it never reports a
  failed inference and re-raises it into every later ``start_async``), hence the engine drives
  its requests itself; see :mod:`lcnet_ov.runtime._batching` for what was measured.
* **User callbacks cannot stall the pipeline.** ``future.add_done_callback`` functions run on one
  callback thread, never on an inference thread, so a callback may ``submit`` (blocking),
  wait for other results, or ``close()`` the classifier.
* **Shutdown** (:meth:`AsyncClassifier.close`): new submits are refused, Futures not yet in an
  inference are cancelled, in-flight inferences finish and resolve, then all threads stop;
  ``timeout`` bounds all of it (items still inferring then fail). Leaving a ``with`` block
  normally drains everything first (like ``concurrent.futures`` executors); leaving it by an
  exception, ``KeyboardInterrupt`` included, cancels instead, so Ctrl-C never hangs. An
  unclosed classifier is closed when it is garbage-collected (``weakref.finalize``: no thread
  holds a reference to it), or at interpreter exit at the latest.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections import deque
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Any

from ..errors import QueueFullError
from ..inputs.decode import ImageSource
from ..inputs.files import InputItem
from ..policy import FAST_DECODE, FOLD_PREPROCESSING_STREAMING
from ..results import FailedPrediction, Prediction, Result
from ..zoo import DEFAULT_MODEL
from ._batching import BatchEngine
from .loaded_model import LoadedModel, compile_config, input_stream
from .locate import resolve_auto
from .metadata import ModelMetadata
from .stream import AsyncBackend, FrameStream

__all__ = ["AsyncClassifier", "BatchStats", "QueueFullError"]

#: how long a garbage-collected (or, at exit, forgotten) classifier waits for its inferences
FINALIZE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class BatchStats:
    """How the batcher grouped work so far: ``sizes`` maps batch size → number of batches."""

    batches: int
    images: int
    sizes: dict[int, int]

    @property
    def mean_batch(self) -> float:
        return self.images / self.batches if self.batches else 0.0


class AsyncClassifier:
    """Classify images submitted from any number of threads, batched on the fly.

    Model arguments are those of :class:`~lcnet_ov.runtime.classifier.Classifier`. ``max_batch`` and
    ``max_wait_ms`` shape micro-batches (a static-batch IR fixes ``max_batch`` to its batch and
    pads); ``num_requests`` overrides ``OPTIMAL_NUMBER_OF_INFER_REQUESTS``; ``max_pending``
    bounds items in the pipeline (default ``4 × max_batch × requests``); ``workers`` sizes the
    decode/preprocess threads (default: CPU count). ``rank_all_classes`` answers every image
    with all classes ranked by score whatever the model's post-processing kind, for callers
    that rebuild the probability vector and apply the model's ``Postprocess`` themselves (the
    server; multi-label models otherwise answer only the labels over their thresholds).

    ``fold_preprocessing`` (default on) normalizes inside the compiled graph
    (:mod:`lcnet_ov.runtime.folding`): workers stop at the uint8 crop, a quarter of the bytes cross
    threads, and end-to-end throughput rises (``docs/benchmarks.md``); probabilities stay within
    float rounding of the exact numpy path (docs/benchmarks.md, section "folding").
    ``False`` feeds PaddleClas' float tensors bit for bit.

    ``fast_decode`` (default off, as everywhere: :mod:`lcnet_ov.policy`) decodes large JPEGs
    at a DCT-domain reduction that still covers the resize target (see
    :class:`~lcnet_ov.runtime.classifier.Classifier`; measured in ``docs/fast_decode.md``): several
    times
    faster on camera photos, but their answers move, so it is the caller's choice.
    """

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        precision: str | None = None,
        device: str = "CPU",
        threads: int | None = None,
        inference_precision: str | None = "f32",
        topk: int | None = None,
        class_id_map_file: str | os.PathLike | None = None,
        max_batch: int = 8,
        max_wait_ms: float = 2.0,
        num_requests: int | None = None,
        max_pending: int | None = None,
        workers: int | None = None,
        performance_hint: str = "THROUGHPUT",
        fold_preprocessing: bool | None = FOLD_PREPROCESSING_STREAMING,
        fast_decode: bool = FAST_DECODE,
        core: Any = None,
        rank_all_classes: bool = False,
    ) -> None:
        if (topk is not None and topk < 1) or max_batch < 1 or max_wait_ms < 0:
            raise ValueError("topk and max_batch must be >= 1 and max_wait_ms >= 0")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        #: what ``precision="auto"`` chose and the rates it chose on (None otherwise)
        self.precision_choice = None
        if precision == "auto":  # the fastest IR present here, measured once and cached
            self.precision_choice = resolve_auto(model, threads)
            model, precision = self.precision_choice.xml, None
            inference_precision = self.precision_choice.inference_precision
        self.model = LoadedModel(
            model,
            precision=precision,
            class_id_map_file=class_id_map_file,
            fold_preprocessing=fold_preprocessing,
            fast_decode=fast_decode,
            core=core,
        )
        #: top-k of single-label results: the model's own (its config's) unless given
        self.topk: int = topk or self.model.default_topk
        config = compile_config(
            hint=performance_hint, threads=threads, inference_precision=inference_precision
        )
        self.compiled_model = self.model.compile(device, config)
        requests = num_requests or int(
            self.compiled_model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        )
        self.num_requests = max(1, requests)
        self.max_batch = self.model.static_batch or max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_pending = max_pending or 4 * self.max_batch * self.num_requests
        if self.max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        #: decode/preprocess threads
        self.workers = workers or os.cpu_count() or 1
        self._engine = BatchEngine(
            self.model,
            self.compiled_model,
            functools.partial(self.model.compile, device, config),  # after a failed inference
            num_requests=self.num_requests,
            max_batch=self.max_batch,
            max_wait=self.max_wait,
            max_pending=self.max_pending,
            workers=self.workers,
            topk=self.topk,
            rank_all=rank_all_classes,
        )
        # the engine's threads reference the engine, never this object: dropping the last
        # reference to an unclosed classifier stops them (and at exit, whatever is left)
        self._finalizer = weakref.finalize(
            self, self._engine.close, cancel_pending=True, timeout=FINALIZE_TIMEOUT_S
        )

    # ---- introspection -----------------------------------------------------------------------

    @property
    def metadata(self) -> ModelMetadata:
        return self.model.metadata

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    @property
    def closed(self) -> bool:
        return self._engine.closed

    @property
    def pending(self) -> int:
        """Items submitted whose Futures are not resolved yet."""
        return self._engine.pending()

    @property
    def stats(self) -> BatchStats:
        sizes = self._engine.batch_sizes()
        return BatchStats(sum(sizes.values()), sum(k * v for k, v in sizes.items()), sizes)

    # ---- submission --------------------------------------------------------------------------

    def submit(
        self,
        image: ImageSource,
        *,
        name: str | None = None,
        block: bool = True,
        timeout: float | None = None,
    ) -> Future[Prediction]:
        """Queue one image; the Future resolves to its :class:`Prediction` or its error.

        Thread-safe, also from a done-callback. When ``max_pending`` items are already in
        flight this blocks until one resolves, or up to ``timeout`` seconds, or not at all with
        ``block=False``; then it raises :class:`QueueFullError`. Raises ``RuntimeError`` once
        the classifier is closed. Something that is no image (``None``, ``42``) fails its
        Future with :class:`~lcnet_ov.errors.InvalidInputError`.
        """
        filename = os.fspath(image) if isinstance(image, (str, os.PathLike)) else None
        item = InputItem(name or filename or "<image>", image, filename)
        return self._engine.submit(item, block, timeout)

    def map(self, inputs: object, *, recursive: bool = False) -> Iterator[Result]:
        """Results for files, folders, globs and arrays (as ``Classifier.predict``), in order.

        Broken inputs yield a :class:`FailedPrediction`. At most ``max_pending`` items are
        submitted ahead of the consumer; stopping early cancels the ones not yet yielded.
        Their batches wait to fill (up to ``BULK_WAIT_S`` in :mod:`lcnet_ov.runtime._batching`)
        while more of them are still decoding, where a lone ``submit`` waits only
        ``max_wait_ms``: a pass meets one batch size, and each new one costs OpenVINO a shape
        setup.
        """
        if self.closed:
            raise RuntimeError("AsyncClassifier is closed")
        return self._map(inputs, recursive)

    def _map(self, inputs: object, recursive: bool) -> Iterator[Result]:
        window: deque[tuple[InputItem, Future | None]] = deque()
        try:
            for item in input_stream(inputs, recursive=recursive):
                fut = None if item.error else self._engine.submit(item, True, None, bulk=True)
                window.append((item, fut))
                while window and (len(window) >= self.max_pending or _done(window[0][1])):
                    yield _outcome(*window.popleft())
            while window:
                yield _outcome(*window.popleft())
        finally:
            for _, fut in window:
                if fut is not None:
                    fut.cancel()

    def stream(self, source: str | os.PathLike, **options: Any) -> FrameStream:
        """Classify a video file, network stream (rtsp://, http(s)://, udp://...) or
        ``camera:N`` frame by frame: an iterator of :class:`~lcnet_ov.results.FrameResult` in
        frame order, with ``close()``. Options (``every``, ``fps``, ``live``, ``smooth``,
        ``reconnect``, ``buffer``, ``timeout_s``, ``on_message``) and the pipeline:
        :class:`lcnet_ov.runtime.stream.FrameStream`.
        """
        if self.closed:
            raise RuntimeError("AsyncClassifier is closed")
        return FrameStream(AsyncBackend(self), source, **options)

    # ---- lifetime ----------------------------------------------------------------------------

    def close(self, *, cancel_pending: bool = True, timeout: float | None = None) -> bool:
        """Shut down: refuse new work, finish what is inferring, stop every thread.

        With ``cancel_pending`` (default) Futures not yet in an inference are cancelled;
        ``False`` lets them finish first. ``timeout`` (seconds) bounds the whole shutdown: items
        still inferring when it runs out fail with :class:`~lcnet_ov.errors.InferenceError`.
        Returns ``True`` when every thread stopped in time. Idempotent; safe from any thread,
        a done-callback included.
        """
        return self._engine.close(cancel_pending=cancel_pending, timeout=timeout)

    def __enter__(self) -> AsyncClassifier:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close(cancel_pending=exc_type is not None)


def _done(fut: Future | None) -> bool:
    return fut is None or fut.done()


def _outcome(item: InputItem, fut: Future | None) -> Result:
    if fut is None:
        return FailedPrediction.of(item, item.error or RuntimeError("no image"))
    try:
        return fut.result()
    except CancelledError:
        raise
    except Exception as exc:
        return FailedPrediction.of(item, exc)
