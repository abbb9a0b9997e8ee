"""Classify a video file or live stream frame by frame: :class:`FrameStream`.

``AsyncClassifier.stream(source, ...)`` and ``Classifier.stream(source, ...)`` return one.
It is an iterator of :class:`~lcnet_ov.results.FrameResult` in frame order, with ``close()``
(and ``with``), ``stats`` and :meth:`FrameStream.events`.

Pipeline::

    reader thread (FFmpeg decode, sampling; inputs.video) ──► FrameBuffer (bounded)
      ──► this generator submits frames ──► AsyncClassifier's prep threads (resize, crop)
      ──► micro-batches across frames on every infer request ──► results in frame order
      ──► smoothing ──► FrameResult

Why it is built this way:

* **Decode, preprocessing and inference overlap** because each has its own threads, and frames
  are batched like any other images: a file is classified as fast as the slowest stage allows.
* **Memory is bounded however long the stream**: the buffer holds ``buffer`` frames (files:
  ``max(8, max_batch)``), at most ``window`` frames are in the classifier (files: two batches
  per infer request), smoothing keeps K probability vectors, events keep running sums.
* **Live sources never fall far behind**: the buffer keeps only the newest frames (dropped ones
  are counted in ``stats.dropped``) and the window is one batch per infer request, so inference
  works at most ``buffer + window`` frames behind the source. A consumer slower than the
  camera is handled too: a finished result more than ``max_lag`` frames behind
  (``buffer + 2 × window``) is dropped (and counted) when a newer one is finished as well, so
  what is handed out is the freshest result there is (``FrameResult.lag_frames``).
* **Smoothing is exact**: with ``smooth=K`` every frame is ranked over all classes (the
  engine's per-item k, or a plain ranking for models that are not top-k classifiers), and the
  mean of the last K probability vectors goes through the model's own post-processing
  (:class:`~lcnet_ov.postprocess.Postprocess`): top-k cut to the classifier's ``topk``, or
  multi-label / binary thresholds and attribute decoding applied to the averaged
  probabilities, never a top-k over them. Scores here are always probabilities (the runtime
  applies softmax to single-label models that emit logits).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import StreamOptionError
from ..inputs.files import InputItem
from ..inputs.frame_buffer import BackgroundReader
from ..inputs.video import Frame, StreamSource, VideoReader, check_sampling, parse_stream_source
from ..postprocess import Postprocess, topk
from ..results import FrameResult, Prediction, StreamEvent, StreamStats

LOGGER = logging.getLogger(__name__)

#: frames a live source may queue ahead of the classifier (the newest ones are kept)
LIVE_BUFFER = 2


class FrameStream:
    """The frames of ``source`` classified in order; see the module doc.

    Iterate it (or ``with`` it); ``close()`` stops the reader, cancels frames not yet
    classified and releases the source. Raises :class:`~lcnet_ov.errors.StreamOpenError` at
    the first ``next()`` when the source never opens.
    """

    def __init__(
        self,
        backend: Any,
        source: str | StreamSource,
        *,
        every: int = 1,
        fps: float | None = None,
        live: bool | None = None,
        smooth: int = 1,
        reconnect: int = 0,
        buffer: int | None = None,
        timeout_s: float = 10.0,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        check_sampling(every, fps)
        if isinstance(smooth, bool) or not isinstance(smooth, int) or smooth < 1:
            raise StreamOptionError(f"smooth must be an integer >= 1, got {smooth!r}")
        if buffer is not None and buffer < 1:
            raise StreamOptionError(f"buffer must be >= 1 frame, got {buffer}")
        parsed = source if isinstance(source, StreamSource) else parse_stream_source(source)
        self.live = parsed.live_default if parsed is not None and live is None else bool(live)
        self._reader = VideoReader(
            parsed or str(source),
            every=every,
            fps=fps,
            reconnect=reconnect,
            timeout_s=timeout_s,
            pace=self.live and parsed is not None and parsed.kind == "file",
            on_message=on_message,
        )
        self.source = self._reader.source.name
        self.smooth = smooth
        self._backend = backend
        self._classes = len(backend.labels)
        self._topk = backend.topk
        self._post = backend.postprocess
        self._window_size = backend.live_window if self.live else backend.window
        capacity = buffer or (LIVE_BUFFER if self.live else max(8, backend.max_batch))
        self._bg = BackgroundReader(self._reader, capacity=capacity, drop_oldest=self.live)
        self._classified = self._failed = self._max_lag = self._dropped_late = 0
        #: live: a finished result further behind than this is dropped when a newer one is
        #: also finished (the consumer fell behind, not inference)
        self.max_lag = capacity + 2 * self._window_size
        self._gen = self._run()

    # ---- iterator protocol -----------------------------------------------------------------

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> FrameResult:
        return next(self._gen)

    def close(self) -> None:
        """Stop reading, cancel what is not classified yet, release the source. Idempotent.

        From another thread while this stream is being iterated, the source is stopped and the
        iteration ends after the frames already in the classifier.
        """
        self._bg.close(timeout=0)
        # "generator already executing" (another thread): it ends by itself, the source is shut
        with contextlib.suppress(ValueError):
            self._gen.close()

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> StreamStats:
        return StreamStats(
            self.source,
            frames_read=self._reader.frames_read,
            classified=self._classified,
            failed=self._failed,
            dropped=self._bg.dropped + self._dropped_late,
            reconnects=self._reader.reconnects,
            max_lag_frames=self._max_lag,
        )

    def events(self) -> Iterator[StreamEvent]:
        """Segments of the same (smoothed) top label, each yielded when it ends."""
        return stream_events(self)

    # ---- the loop ----------------------------------------------------------------------------

    def _run(self) -> Iterator[FrameResult]:
        window: deque[tuple[Frame, Future | None]] = deque()
        smoother = _Smoother(
            self.smooth, self._classes, self._topk, self._backend.labels, self._post
        )
        k = self._classes if self.smooth > 1 else self._topk
        rank_all = self.smooth > 1
        buf = self._bg.buffer
        ended = False
        self._bg.start()
        try:
            while window or not ended:
                while window and _done(window[0][1]):
                    if self.live and self._stale(window):
                        self._dropped_late += 1
                        window.popleft()
                        continue
                    yield self._record(*window.popleft(), smoother)
                if ended or len(window) >= self._window_size:
                    if window:
                        self._backend.flush()
                        _wait(window[0][1])
                    continue
                try:
                    frame = buf.get(block=False)
                    if frame is None:
                        self._backend.flush()  # nothing to add: run what is waiting
                        frame = buf.get(block=not (window and _done(window[0][1])))
                except StopIteration:
                    ended = True
                    continue
                if frame is None:
                    continue
                if frame.error is not None:
                    window.append((frame, None))
                    continue
                name = f"{self.source} frame {frame.index}"
                item = InputItem(name, frame.image, self.source)
                fut = self._backend.submit(item, k, rank_all=rank_all)
                fut.add_done_callback(lambda _: buf.wake())
                window.append((replace(frame, image=None), fut))  # the engine holds the pixels
        finally:
            for _, fut in window:
                if fut is not None:
                    fut.cancel()
            self._bg.close(timeout=0)

    def _stale(self, window: deque[tuple[Frame, Future | None]]) -> bool:
        head = window[0][0]
        if self._reader.frames_read - 1 - head.index <= self.max_lag:
            return False
        return any(_done(fut) for _, fut in list(window)[1:])

    def _record(self, frame: Frame, fut: Future | None, smoother: _Smoother) -> FrameResult:
        lag = max(0, self._reader.frames_read - 1 - frame.index)
        self._max_lag = max(self._max_lag, lag)
        error: BaseException | None = frame.error
        pred: Prediction | None = None
        if error is None and fut is not None:
            try:
                result = fut.result()
            except CancelledError:
                raise
            except Exception as exc:
                error = exc
            else:
                if isinstance(result, Prediction):
                    pred = result
                else:  # a FailedPrediction
                    error = result.error
        if pred is None:
            self._failed += 1
            return FrameResult(self.source, frame.index, frame.time_s, error=error, lag_frames=lag)
        self._classified += 1
        shown, raw = smoother.add(pred)
        return FrameResult(
            self.source,
            frame.index,
            frame.time_s,
            shown.class_ids,
            shown.scores,
            shown.label_names,
            raw=raw,
            lag_frames=lag,
        )


class _Smoother:
    """Mean of the last K probability vectors through the model's post-processing (K = 1: the
    prediction as it came)."""

    def __init__(
        self, k: int, classes: int, topk: int, labels: tuple[str, ...], post: Postprocess
    ) -> None:
        self.k, self.classes, self.topk, self.labels = k, classes, topk, labels
        self.post = post
        self._probs: deque[np.ndarray] = deque(maxlen=k)
        self._sum = np.zeros(classes, np.float64)

    def add(self, pred: Prediction) -> tuple[Prediction, Prediction | None]:
        if self.k == 1:
            return pred, None
        p = np.zeros(self.classes, np.float64)
        p[list(pred.class_ids)] = pred.scores  # every class: the stream asked for all of them
        if len(self._probs) == self.k:
            self._sum -= self._probs[0]
        self._probs.append(p)
        self._sum += p
        mean = (self._sum / len(self._probs)).astype(np.float32)
        if self.post.ranks_all_classes:
            smoothed = topk(mean, self.topk, self.labels, [pred.filename])[0]
            n = min(self.topk, len(pred.class_ids))
            raw = Prediction(
                pred.class_ids[:n], pred.scores[:n], pred.label_names[:n], pred.filename
            )
            return smoothed, raw
        # thresholds and decoders on the averaged probabilities (float32, as the model gives
        # them); the frame's own answer from its own probabilities
        names = [pred.filename]
        smoothed = self.post.apply(mean, names, labels=self.labels)[0]
        raw = self.post.apply(p.astype(np.float32), names, labels=self.labels)[0]
        return smoothed, raw


def stream_events(records: Iterable[FrameResult]) -> Iterator[StreamEvent]:
    """Segments of the same top label over classified frames (failed frames neither end nor
    extend one), each yielded as soon as the next label starts, the last one at the end."""
    current: list[Any] | None = None  # source, id, label, t0, t1, f0, f1, n, score sum

    def event(c: list[Any]) -> StreamEvent:
        return StreamEvent(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8] / c[7])

    for r in records:
        if not r.ok:
            continue
        if current and current[0] == r.source and current[1] == r.class_id:
            current[4], current[6] = r.time_s, r.frame
            current[7] += 1
            current[8] += r.score
            continue
        if current:
            yield event(current)
        current = [r.source, r.class_id, r.label_name, r.time_s, r.time_s, r.frame, r.frame, 1]
        current.append(r.score)
    if current:
        yield event(current)


def _done(fut: Future | None) -> bool:
    return fut is None or fut.done()


def _wait(fut: Future | None) -> None:
    if fut is not None:
        with contextlib.suppress(CancelledError):
            fut.exception()


class AsyncBackend:
    """:class:`FrameStream`'s view of an ``AsyncClassifier``: frames join its micro-batches."""

    def __init__(self, clf: Any) -> None:
        self._engine = clf._engine
        self.labels, self.topk, self.max_batch = clf.labels, clf.topk, clf.max_batch
        self.postprocess = clf.model.metadata.postprocess
        # files: one batch inferring and one queued per request (more only holds decoded
        # frames in memory for nothing), within what the classifier takes
        self.window = min(clf.max_pending, 2 * clf.max_batch * clf.num_requests)
        self.live_window = max(2, clf.max_batch * clf.num_requests)

    def submit(self, item: InputItem, k: int, rank_all: bool = False) -> Future:
        return self._engine.submit(item, True, None, topk=k, rank_all=rank_all)

    def flush(self) -> None:  # the engine forms its batches itself
        pass


class SyncBackend:
    """:class:`FrameStream`'s view of a ``Classifier``: frames are classified ``batch_size`` at
    a time on the calling thread (a partial batch when no frame is waiting)."""

    def __init__(self, clf: Any) -> None:
        self._clf = clf
        self.labels, self.topk = clf.labels, clf.topk
        self.postprocess = clf.model.metadata.postprocess
        self.max_batch = self.window = self.live_window = clf.batch_size
        self._pending: list[tuple[InputItem, int, Future]] = []
        self._rank_all = False

    def submit(self, item: InputItem, k: int, rank_all: bool = False) -> Future:
        fut: Future = Future()
        self._rank_all = self._rank_all or rank_all  # one stream: the same for every frame
        self._pending.append((item, k, fut))
        if len(self._pending) >= self.max_batch:
            self.flush()
        return fut

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        items = [item for item, _, _ in batch]
        try:
            probs = self._clf.predict_probs([item.source for item in items])
            k = max(k for _, k, _ in batch)
            results = self._clf.model.results(probs, items, k, rank_all=self._rank_all)
        except Exception as exc:
            for _, _, fut in batch:
                fut.set_exception(exc)
            return
        for (_, _, fut), result in zip(batch, results, strict=True):
            fut.set_result(result)
