"""Concurrent classification: :class:`AsyncClassifier`, a micro-batching front for many callers.

Pipeline (each stage overlaps the others)::

    submit() ──► prep pool (decode + preprocess; cv2 releases the GIL)
             ──► ready queue ──► batcher thread (≤ max_batch items or max_wait_ms)
             ──► openvino.AsyncInferQueue (OPTIMAL_NUMBER_OF_INFER_REQUESTS, THROUGHPUT hint)
             ──► completion callback: copy output, top-k, resolve each item's Future

Why it is built this way:

* **Micro-batching** lets concurrent single-image callers share one inference: a batch of 8
  costs far less than 8 batches of 1. The first item of a batch waits at most ``max_wait_ms``
  for company; under load the queue is never empty and batches fill at once. While every infer
  request is busy the batcher blocks in ``start_async``, and items arriving meanwhile make up
  the next (full) batch, so batching grows with load without polling.
* **Backpressure** is a counting semaphore of ``max_pending`` slots, one per submitted item until
  its Future resolves. A full classifier makes ``submit`` block (default), wait up to
  ``timeout`` seconds, or raise :class:`QueueFullError` at once with ``block=False``; memory is
  therefore bounded however fast producers are.
* **Failures stay with their item.** Decode/preprocess errors fail that item's Future before it
  reaches a batch; a NaN row fails only its own item. The completion callback never raises:
  an exception escaping an ``AsyncInferQueue`` callback is re-raised by every later
  ``start_async`` (the queue is poisoned) and aborts the process at exit, so the whole callback
  is guarded and turns any error into exceptions on that batch's Futures.
* **Shutdown** (:meth:`AsyncClassifier.close`): new submits are refused, Futures not yet in an
  inference are cancelled, in-flight inferences finish and resolve, then all threads stop.
  Leaving a ``with`` block normally drains everything first (like ``concurrent.futures``
  executors); leaving it by an exception, ``KeyboardInterrupt`` included, cancels instead, so
  Ctrl-C never hangs. Close joins every thread it started. Unclosed, the batcher is a daemon
  and the pool a standard executor (joined at exit after its few queued items), so a forgotten
  classifier cannot keep the interpreter alive.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import QueueFullError
from .inputs import InputItem, iter_inputs
from .loaded_model import FailedPrediction, LoadedModel, Result, compile_config
from .metadata import ModelMetadata
from .processing import ImageSource, Prediction
from .zoo import DEFAULT_MODEL

__all__ = ["AsyncClassifier", "BatchStats", "QueueFullError"]

_STOP = object()


@dataclass(frozen=True)
class BatchStats:
    """How the batcher grouped work so far: ``sizes`` maps batch size → number of batches."""

    batches: int
    images: int
    sizes: dict[int, int]

    @property
    def mean_batch(self) -> float:
        return self.images / self.batches if self.batches else 0.0


@dataclass
class _Job:
    item: InputItem
    future: Future
    tensor: np.ndarray | None = None


class AsyncClassifier:
    """Classify images submitted from any number of threads, batched on the fly.

    Model arguments are those of :class:`~lcnet_ov.runtime.Classifier`. ``max_batch`` and
    ``max_wait_ms`` shape micro-batches (a static-batch IR fixes ``max_batch`` to its batch and
    pads); ``num_requests`` overrides ``OPTIMAL_NUMBER_OF_INFER_REQUESTS``; ``max_pending``
    bounds items in the pipeline (default ``4 × max_batch × requests``); ``workers`` sizes the
    decode/preprocess pool (default: CPU count).

    ``fold_preprocessing`` (default on) normalizes inside the compiled graph
    (:mod:`lcnet_ov.folding`): workers stop at the uint8 crop, a quarter of the bytes cross
    threads, and end-to-end throughput rises (``docs/benchmarks.md``); probabilities within
    1.4e-6 of the exact numpy path on the trained model (``benchmarks/folding_parity.py``).
    ``False`` feeds PaddleClas' float tensors bit for bit.
    """

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        precision: str | None = None,
        device: str = "CPU",
        threads: int | None = None,
        inference_precision: str | None = "f32",
        topk: int = 5,
        class_id_map_file: str | os.PathLike | None = None,
        max_batch: int = 8,
        max_wait_ms: float = 2.0,
        num_requests: int | None = None,
        max_pending: int | None = None,
        workers: int | None = None,
        performance_hint: str = "THROUGHPUT",
        fold_preprocessing: bool = True,
        core: Any = None,
    ) -> None:
        import openvino as ov

        if topk < 1 or max_batch < 1 or max_wait_ms < 0:
            raise ValueError("topk and max_batch must be >= 1 and max_wait_ms >= 0")
        self.topk = topk
        self.model = LoadedModel(
            model,
            precision=precision,
            class_id_map_file=class_id_map_file,
            fold_preprocessing=fold_preprocessing,
            core=core,
        )
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

        self._infer_queue = ov.AsyncInferQueue(self.compiled_model, self.num_requests)
        self._infer_queue.set_callback(self._on_done)
        self._slots = threading.BoundedSemaphore(self.max_pending)
        self._ready: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._sizes: Counter[int] = Counter()
        self._pool = ThreadPoolExecutor(
            workers or os.cpu_count() or 1, thread_name_prefix="lcnet-ov-prep"
        )
        self._batcher = threading.Thread(
            target=self._batch_loop, name="lcnet-ov-batcher", daemon=True
        )
        self._batcher.start()

    # ---- introspection -----------------------------------------------------------------------

    @property
    def metadata(self) -> ModelMetadata:
        return self.model.metadata

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stats(self) -> BatchStats:
        with self._lock:
            sizes = dict(self._sizes)
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

        Thread-safe. When ``max_pending`` items are already in flight this blocks until one
        resolves, or up to ``timeout`` seconds, or not at all with ``block=False``; then it
        raises :class:`QueueFullError`. Raises ``RuntimeError`` once the classifier is closed.
        """
        filename = os.fspath(image) if isinstance(image, (str, os.PathLike)) else None
        item = InputItem(name or filename or "<image>", image, filename)
        return self._submit_item(item, block, timeout)

    def _submit_item(self, item: InputItem, block: bool, timeout: float | None) -> Future:
        if self._closed:
            raise RuntimeError("AsyncClassifier is closed")
        if not self._slots.acquire(block, timeout if block else None):
            raise QueueFullError(
                f"{self.max_pending} images already pending; wait for results or raise max_pending"
            )
        future: Future = Future()
        with self._lock:
            if self._closed:  # closed while this caller waited for a slot
                self._slots.release()
                raise RuntimeError("AsyncClassifier is closed")
            self._pending.add(future)
            future.add_done_callback(self._release)
            self._pool.submit(self._prepare, _Job(item, future))
        return future

    def _release(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()

    def map(self, inputs: object, *, recursive: bool = False) -> Iterator[Result]:
        """Results for files, folders, globs and arrays (as ``Classifier.predict``), in order.

        Broken inputs yield a :class:`FailedPrediction`. At most ``max_pending`` items are
        submitted ahead of the consumer; stopping early cancels the ones not yet yielded.
        """
        window: deque[tuple[InputItem, Future | None]] = deque()
        try:
            for item in iter_inputs(inputs, recursive=recursive):
                fut = None if item.error else self._submit_item(item, True, None)
                window.append((item, fut))
                while window and (len(window) >= self.max_pending or _done(window[0][1])):
                    yield _outcome(*window.popleft())
            while window:
                yield _outcome(*window.popleft())
        finally:
            for _, fut in window:
                if fut is not None:
                    fut.cancel()

    # ---- pipeline stages ---------------------------------------------------------------------

    def _prepare(self, job: _Job) -> None:
        """Pool worker: decode + preprocess, then hand over to the batcher."""
        if job.future.done():  # cancelled while queued
            return
        try:
            job.tensor = self.model.prepare(job.item.source, job.item.name)
        except Exception as exc:
            _settle(job.future, exc)
            return
        self._ready.put(job)

    def _batch_loop(self) -> None:
        while True:
            job = self._ready.get()
            if job is _STOP:
                return
            batch: list[_Job] = []
            _take(job, batch)
            deadline = time.monotonic() + self.max_wait
            stop = False
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    # past the deadline: only what is already queued joins this batch
                    job = self._ready.get(remaining > 0, max(remaining, 0.0))
                except queue.Empty:
                    break
                if job is _STOP:
                    stop = True
                    break
                _take(job, batch)
            if batch:
                self._launch(batch)
            if stop:
                return

    def _launch(self, batch: list[_Job]) -> None:
        try:
            tensor = self.model.pad(np.stack([job.tensor for job in batch]))
            # blocks while every request is busy; the tensor rides along in userdata so the
            # zero-copy input stays alive until the callback
            self._infer_queue.start_async({0: tensor}, (batch, tensor), share_inputs=True)
        except Exception as exc:
            for job in batch:
                _settle(job.future, exc)
            return
        with self._lock:
            self._sizes[len(batch)] += 1

    def _on_done(self, request: Any, userdata: tuple[list[_Job], np.ndarray]) -> None:
        """AsyncInferQueue callback: must never raise (see module doc)."""
        batch, _ = userdata
        try:
            raw = request.get_output_tensor(0).data[: len(batch)].copy()
            probs = self.model.probabilities(raw)
            results = self.model.results(probs, [job.item for job in batch], self.topk)
        except BaseException as exc:
            results = [FailedPrediction.of(job.item, exc) for job in batch]
        for job, result in zip(batch, results, strict=True):
            _settle(job.future, result.error if isinstance(result, FailedPrediction) else result)

    # ---- lifetime ----------------------------------------------------------------------------

    def close(self, *, cancel_pending: bool = True) -> None:
        """Shut down: refuse new work, finish what is inferring, stop every thread.

        With ``cancel_pending`` (default) Futures not yet in an inference are cancelled;
        ``False`` waits for all of them to resolve first. Idempotent; safe from any thread.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if not cancel_pending:
                wait(list(self._pending))
        finally:
            for fut in list(self._pending):
                fut.cancel()  # no effect on Futures already in a running batch
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._ready.put(_STOP)
            self._batcher.join()
            self._infer_queue.wait_all()

    def __enter__(self) -> AsyncClassifier:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close(cancel_pending=exc_type is not None)


def _take(job: _Job, batch: list[_Job]) -> None:
    """Claim a job for a batch; from here on ``cancel()`` no longer applies to it."""
    if job.future.set_running_or_notify_cancel():
        batch.append(job)


def _settle(future: Future, outcome: object) -> None:
    """Resolve a Future unless it already is (cancelled meanwhile)."""
    if future.done():
        return
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except Exception:  # InvalidStateError: lost a race with cancel()
        pass


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
