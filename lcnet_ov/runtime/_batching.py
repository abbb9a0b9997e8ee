"""The threads behind :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`.

:class:`BatchEngine` owns every thread and every piece of shared state; the classifier is a thin
front that holds it. That split is what lets an unclosed classifier be garbage-collected: no
thread references the front, so ``weakref.finalize`` on it can close the engine.

Why the pipeline is built this way (each point measured on OpenVINO 2026.4, CPU plugin):

* **We drive the infer requests ourselves, one worker thread per request** (``start_async`` then
  ``wait``, GIL released), instead of ``openvino.AsyncInferQueue``. The queue calls the Python
  callback only when an inference succeeded; after a failed one its request sits at the head
  of the idle list with the error stored, so *every* later ``start_async`` and ``wait_all``
  re-raises that old error (a 1-request queue is dead for good), and the failed batch is never
  reported. A plain ``InferRequest`` raises the failure from its own ``wait()`` and runs the next
  inference normally, so here a failed inference fails exactly the batch its worker launched
  (``_inflight`` tracks it per request), releases those ``max_pending`` slots, and the worker
  takes the next batch.
* **A failed inference recompiles the model.** Measured with an op failing inside the CPU
  plugin: on a THROUGHPUT (2-stream) compiled model, after a failed batch of 4 a later batch of 1
  came back with wrong scores (max |Δ| 0.89, no error), also from a fresh ``InferRequest``
  (the state lives in the compiled model's per-stream graphs); a LATENCY (1-stream) model and a
  recompiled one were right. So the first worker to see a failure compiles a fresh model while
  holding ``_model_lock``, and every worker moves to a request of the new model before its next
  batch: failures cost a compile, never a silent wrong answer.
* **One worker forms a batch at a time** (``_collect`` lock): a free worker takes the first
  ready item, waits at most ``max_wait`` for company, launches, and hands batching to the next
  free worker. While every request is busy items pile up and the next batch fills at once, so
  batches grow with load and nothing polls.
* **User done-callbacks never run on a pipeline thread.** Futures are :class:`ItemFuture`\\ s
  whose ``add_done_callback`` hands the call to one callback thread (in completion order), while
  ``result()`` waiters are woken directly. A callback may block (a blocking ``submit``), wait
  on other results or call ``close()`` without stalling inference: slots are released by the
  pipeline itself, not by a callback.
* **close is bounded.** ``close(timeout=...)`` joins threads against one deadline; an inference
  still running when it expires fails its items with :class:`InferenceError`, and ``close``
  returns ``False`` (the stuck worker is a daemon and exits when OpenVINO lets it go). A thread
  of the engine calling ``close`` (a callback, a finalizer run by the GC there) never joins
  itself.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._util import last_line
from ..errors import InferenceError, QueueFullError
from ..inputs.files import InputItem
from ..results import FailedPrediction
from .loaded_model import LoadedModel

LOGGER = logging.getLogger(__name__)
_STOP = object()
#: How long a batch of bulk items (``AsyncClassifier.map``) waits to fill while more of them
#: are decoding. Each batch size a dynamic-batch model meets first costs OpenVINO a shape
#: setup (on the AMD EPYC a first batch of 1-5 took 9-23 ms longer than the next of that
#: size): a folder pass sending its first items off as 1, 2, 3... paid it for each, where
#: full batches (~10 ms of decoding on 2 cores) meet one size, plus the tail's.
BULK_WAIT_S = 0.1

#: The process's first ``start_async`` runs alone. It initializes function-local statics of
#: OpenVINO's Python binding (the input data dispatcher) under the GIL, and two infer threads
#: making that first call at once deadlocked (each holding what the other waits for: the
#: static's init guard and the GIL), about one server start in 30 in ``lcnet-ov serve``.
_FIRST_START = threading.Lock()
_first_start_done = False


def start_async(request: Any, inputs: dict[int, np.ndarray]) -> None:
    """``request.start_async(inputs, share_inputs=True)``, the process's first call serialized."""
    global _first_start_done
    if _first_start_done:
        request.start_async(inputs, share_inputs=True)
        return
    with _FIRST_START:  # waiting here releases the GIL: no deadlock with the first caller
        request.start_async(inputs, share_inputs=True)
        _first_start_done = True


class CallbackRunner:
    """One thread that runs deferred done-callbacks in the order their Futures completed."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopped = False
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is _STOP:
                return
            fn, future = task
            try:
                fn(future)
            except BaseException:  # as concurrent.futures: log, keep serving other callbacks
                LOGGER.exception("exception calling callback for %r", future)

    def defer(self, fn: Callable[[Future], object], future: Future) -> None:
        if self._stopped:  # the engine is closed: nobody would run it, so run it here
            fn(future)
        else:
            self._queue.put((fn, future))

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(_STOP)


class ItemFuture(Future):
    """A ``concurrent.futures.Future`` whose pending done-callbacks run on the callback thread.

    Registered on a Future that is already done, a callback runs at once in the caller's
    thread, exactly as with a plain Future.
    """

    def __init__(self, runner: CallbackRunner) -> None:
        super().__init__()
        self._runner = runner

    def add_done_callback(self, fn: Callable[[Future], object]) -> None:
        if not self.done():
            fn = functools.partial(self._runner.defer, fn)
        super().add_done_callback(fn)


@dataclass
class Job:
    item: InputItem
    future: Future
    tensor: np.ndarray | None = None
    #: this item's k (a smoothing stream wants every class); None: the engine's
    topk: int | None = None
    #: every class ranked whatever the model's kind (smoothing a multi-label stream)
    rank_all: bool = False
    #: one of many submitted together (``map``): its batch waits longer to fill (BULK_WAIT_S)
    bulk: bool = False


class BatchEngine:
    """Prep threads → ready queue → one worker per infer request → Futures (see module doc)."""

    def __init__(
        self,
        model: LoadedModel,
        compiled_model: Any,
        recompile: Callable[[], Any],
        *,
        num_requests: int,
        max_batch: int,
        max_wait: float,
        max_pending: int,
        workers: int,
        topk: int,
        rank_all: bool = False,
    ) -> None:
        self.model = model
        self.topk = topk
        #: every item ranked over all classes, whatever the model's kind (the server)
        self.rank_all = rank_all
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_pending = max_pending
        self._compiled = compiled_model
        self._recompile = recompile
        self._generation = 0  # bumped by each recompile
        self._model_lock = threading.Lock()
        self.recompiles = 0
        self.requests = [compiled_model.create_infer_request() for _ in range(num_requests)]
        #: each worker's input batch, reused: a fresh multi-MB array per batch cost page
        #: faults on every pass, and only that worker writes it, after its last inference ended
        self._inputs: list[np.ndarray | None] = [None] * num_requests
        self._slots = threading.BoundedSemaphore(max_pending)
        self._lock = threading.Lock()  # guards _pending, _closed, _sizes, _inflight
        self._pending: set[Future] = set()
        #: items submitted and neither taken by a batch collector nor dropped before one
        #: (cancelled in the queue, failed to decode): the company a forming batch can get
        self._unclaimed = 0
        self._inflight: dict[int, list[Job]] = {}  # request index → the batch it is running
        self._sizes: Counter[int] = Counter()
        self._closed = False
        self._finished = threading.Event()
        self._todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._collect = threading.Lock()
        self._callbacks = CallbackRunner("lcnet-ov-callbacks")
        self._preppers = [
            threading.Thread(target=self._prep_loop, name=f"lcnet-ov-prep-{i}", daemon=True)
            for i in range(workers)
        ]
        self._workers = [
            threading.Thread(target=self._infer_loop, args=(i,), name=f"lcnet-ov-infer-{i}")
            for i in range(num_requests)
        ]
        for thread in (*self._preppers, *self._workers):
            thread.daemon = True
            thread.start()

    # ---- state ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    def batch_sizes(self) -> dict[int, int]:
        with self._lock:
            return dict(self._sizes)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def threads(self) -> list[threading.Thread]:
        return [*self._preppers, *self._workers, self._callbacks.thread]

    # ---- submission ----------------------------------------------------------------------

    def submit(
        self,
        item: InputItem,
        block: bool = True,
        timeout: float | None = None,
        topk: int | None = None,
        rank_all: bool = False,
        bulk: bool = False,
    ) -> Future:
        if self.closed:
            raise RuntimeError("AsyncClassifier is closed")
        if not self._slots.acquire(block, timeout if block else None):
            raise QueueFullError(
                f"{self.max_pending} images already pending; wait for results or raise max_pending"
            )
        future = ItemFuture(self._callbacks)
        # the plain Future method: the slot comes back synchronously, never via the callback
        # thread, so a callback blocked in user code cannot hold slots hostage
        Future.add_done_callback(future, self._release)
        with self._lock:
            if self._closed:  # closed while this caller waited for a slot
                self._slots.release()
                raise RuntimeError("AsyncClassifier is closed")
            self._pending.add(future)
            self._unclaimed += 1
            self._todo.put(Job(item, future, topk=topk, rank_all=rank_all, bulk=bulk))
        return future

    def _release(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()

    # ---- pipeline stages -----------------------------------------------------------------

    def _prep_loop(self) -> None:
        """Decode + preprocess (cv2 releases the GIL), then hand over to the workers."""
        while True:
            job = self._todo.get()
            if job is _STOP:
                return
            if job.future.done():  # cancelled while queued
                self._unclaim()
                continue
            try:
                job.tensor = self.model.prepare(job.item.source, job.item.name)
            except Exception as exc:
                settle(job.future, exc)
                self._unclaim()
                continue
            self._ready.put(job)

    def _unclaim(self) -> None:
        with self._lock:
            self._unclaimed -= 1

    def _infer_loop(self, index: int) -> None:
        request, generation = self.requests[index], 0
        while True:
            with self._collect:
                batch, stop = self._next_batch()
            if batch:
                with self._model_lock:  # waits while a failure's recompile is under way
                    if generation != self._generation:
                        request, generation = (
                            self._compiled.create_infer_request(),
                            self._generation,
                        )
                        self.requests[index] = request
                self._infer(index, request, generation, batch)
            if stop:
                return

    def _next_batch(self) -> tuple[list[Job], bool]:
        """Up to ``max_batch`` ready jobs; the first one waits at most ``max_wait`` for more
        (``BULK_WAIT_S`` for a bulk job, unless ``max_wait`` is 0), and only while more have
        been submitted (:meth:`_company_coming`). A non-bulk job joining a bulk batch brings
        the deadline down to its own ``max_wait``."""
        batch: list[Job] = []
        job = self._ready.get()
        if job is _STOP:
            return batch, True
        self._unclaim()
        _take(job, batch)
        bulk = job.bulk and self.max_wait > 0
        deadline = time.monotonic() + (max(BULK_WAIT_S, self.max_wait) if bulk else self.max_wait)
        while len(batch) < self.max_batch:
            if not self._company_coming():
                break  # everything submitted is in: waiting would only add latency
            remaining = deadline - time.monotonic()
            try:
                # past the deadline: only what is already queued joins this batch
                job = self._ready.get(remaining > 0, max(remaining, 0.0))
            except queue.Empty:
                break
            if job is _STOP:
                return batch, True
            self._unclaim()
            _take(job, batch)
            if not job.bulk:
                deadline = min(deadline, time.monotonic() + self.max_wait)
        return batch, False

    def _company_coming(self) -> bool:
        """Whether any submitted item is still on its way to the ready queue (or in it).

        Items submitted but not yet in a batch or an inference are the only company a batch
        can get; with none of them, waiting out ``max_wait`` is pure latency. So a lone
        caller (one client of the server, ``submit(...).result()`` in a loop) never waits,
        where the wait was 2 ms of a 19 ms request at one client of ``serve``, and a burst
        smaller than ``max_batch`` goes as soon as its last item is ready. Counted as items
        are claimed (not as their Futures resolve), so a batch that has finished inferring but
        not yet resolved its Futures is not taken for company.
        """
        with self._lock:
            return self._unclaimed > 0

    def _infer(self, index: int, request: Any, generation: int, batch: list[Job]) -> None:
        with self._lock:
            self._inflight[index] = batch
            self._sizes[len(batch)] += 1
        try:
            try:
                tensor = self._batch_input(index, batch)
                start_async(request, {0: tensor})
                request.wait()  # raises this inference's own error, and only once per start
                raw = request.get_output_tensor(0).data[: len(batch)].copy()
            except Exception as exc:
                self._renew(generation, exc)
                raise InferenceError(
                    f"inference failed for a batch of {len(batch)}: {last_line(exc)}"
                ) from exc
            probs = self.model.probabilities(raw)
            k = max(job.topk or self.topk for job in batch)
            items = [job.item for job in batch]
            results = self.model.results(probs, items, k)
            if self.model.metadata.postprocess.ranks_all_classes:
                results = [
                    _trim(r, job.topk or self.topk) for job, r in zip(batch, results, strict=True)
                ]
            else:  # items that asked for every class get a plain ranking instead
                ranked = [i for i, job in enumerate(batch) if self.rank_all or job.rank_all]
                if ranked:
                    full = self.model.results(
                        probs[ranked], [items[i] for i in ranked], rank_all=True
                    )
                    for i, r in zip(ranked, full, strict=True):
                        results[i] = r
        except Exception as exc:
            results = [FailedPrediction.of(job.item, exc) for job in batch]
        finally:
            with self._lock:
                self._inflight.pop(index, None)
        for job, result in zip(batch, results, strict=True):
            settle(job.future, result.error if isinstance(result, FailedPrediction) else result)

    def _batch_input(self, index: int, batch: list[Job]) -> np.ndarray:
        """The batch's tensors stacked into worker ``index``'s own buffer (zero rows padding a
        static-batch IR), allocated once per worker and reused."""
        first, rows = batch[0].tensor, self.model.static_batch or len(batch)
        buffer = self._inputs[index]
        if buffer is None or buffer.shape[1:] != first.shape or buffer.dtype != first.dtype:
            buffer = np.empty((max(rows, self.max_batch), *first.shape), first.dtype)
            self._inputs[index] = buffer
        np.stack([job.tensor for job in batch], out=buffer[: len(batch)])
        buffer[len(batch) : rows] = 0
        return buffer[:rows]

    def _renew(self, generation: int, error: BaseException) -> None:
        """Replace the compiled model a failed inference ran on (see module doc)."""
        with self._model_lock:
            if generation != self._generation:  # another worker already replaced it
                return
            LOGGER.warning("inference failed (%s); recompiling the model", last_line(error))
            try:
                self._compiled = self._recompile()
            except Exception:
                LOGGER.exception("recompiling after a failed inference failed; keeping the model")
                return
            self._generation += 1
            self.recompiles += 1

    # ---- lifetime ------------------------------------------------------------------------

    def close(self, *, cancel_pending: bool = True, timeout: float | None = None) -> bool:
        """Refuse new work, cancel (or first finish) queued items, stop every thread.

        Returns ``True`` when everything stopped within ``timeout``. Otherwise the items still
        inferring fail with :class:`InferenceError` and ``False`` is returned. A second caller
        waits for the first one's result (up to its own ``timeout``).
        """
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        with self._lock:
            first, self._closed = not self._closed, True
            pending = list(self._pending)
        if not first:
            return self._finished.wait(_remaining(deadline))
        stopped = True
        try:
            if not cancel_pending and pending:
                wait(pending, timeout=_remaining(deadline))
            with self._lock:
                pending = list(self._pending)
            for future in pending:
                future.cancel()  # no effect on items already in a batch
            for _ in self._preppers:
                self._todo.put(_STOP)
            stopped = _join(self._preppers, deadline)
            for _ in self._workers:
                self._ready.put(_STOP)
            stopped = _join(self._workers, deadline) and stopped
        finally:
            with self._lock:
                stranded = list(self._pending)
                inferring = sum(len(batch) for batch in self._inflight.values())
            error = InferenceError(
                f"AsyncClassifier closed before this item finished ({inferring} item(s) "
                f"still inferring after timeout={timeout})"
            )
            for future in stranded:
                future.cancel() or settle(future, error)
            self._finished.set()
            self._callbacks.stop()
        return _join([self._callbacks.thread], deadline) and stopped and not stranded


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _join(threads: Iterable[threading.Thread], deadline: float | None) -> bool:
    """Join against one deadline; the calling thread is skipped (it ends when it returns)."""
    me = threading.current_thread()
    for thread in threads:
        if thread is not me:
            thread.join(_remaining(deadline))
    return not any(t.is_alive() for t in threads if t is not me)


def _take(job: Job, batch: list[Job]) -> None:
    """Claim a job for a batch; from here on ``cancel()`` no longer applies to it."""
    try:
        if job.future.set_running_or_notify_cancel():
            batch.append(job)
    except RuntimeError:  # already resolved (failed by a close that timed out): skip it
        pass


def _trim(result: Any, k: int) -> Any:
    """A prediction cut to its item's own k (a batch is ranked once, at its largest k)."""
    if isinstance(result, FailedPrediction) or len(result.class_ids) <= k:
        return result
    return replace(
        result,
        class_ids=result.class_ids[:k],
        scores=result.scores[:k],
        label_names=result.label_names[:k],
    )


def settle(future: Future, outcome: object) -> None:
    """Resolve a Future unless it already is (cancelled, or failed by a timed-out close)."""
    if future.done():
        return
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except Exception:  # InvalidStateError: lost a race with cancel()
        pass
