"""Synchronous PP-LCNet classification on OpenVINO: :class:`Classifier`.

Design notes:

* **Inference precision is explicit.** OpenVINO's CPU plugin runs FP32 IRs in bf16 on CPUs with
  AVX512-BF16/AMX unless ``INFERENCE_PRECISION_HINT`` says otherwise, which moves scores by
  ~1e-2. The default ``"f32"`` keeps results equal to Paddle's; ``"bf16"`` is opt-in speed.
* **Broken inputs do not end a stream.** :meth:`Classifier.predict` yields a
  :class:`~lcnet_ov.results.FailedPrediction` in the broken input's place (same order, the
  error and its reason attached) and carries on; touching its top-1 re-raises the error, so code
  that ignores failures still cannot mistake one for a result. ``clf(image)`` raises instead.
* **Features come from the graph, not from a layer name.** ``embed`` compiles a second copy of
  the graph whose output is :func:`~lcnet_ov.runtime.loaded_model.find_feature_output`: walking back
  from the result through the classifier head (Softmax, bias Add, ...) to the final MatMul, its
  activation input is the flattened 1280-d output of ``last_conv`` + HardSwish, whatever the
  exporter named it.
* **Thread-safe by construction, closed means closed.** One lock serializes inference on the
  single infer request; a second guards lazy state (the decode pool ``predict`` starts, the
  feature model ``embed`` compiles), so 32 threads hitting a fresh Classifier create each
  exactly once. ``close`` waits for an inference in progress; afterwards every method raises
  ``RuntimeError`` at the call, before anything is created (``predict`` checks before returning
  its generator).
* **A failed inference raises** :class:`~lcnet_ov.errors.InferenceError` (one line) and the
  compiled model it ran on is replaced before the next call, so a failure can never leave a
  state behind that gives later calls wrong scores (measured on multi-stream models, see
  :mod:`lcnet_ov.runtime._batching`).
* **Non-images fail as items.** ``predict([img, None, 42])`` yields two
  :class:`~lcnet_ov.errors.InvalidInputError` failures in place; ``predict(None)`` is one
  failed item, not a ``TypeError`` for the whole call.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._util import last_line
from ..errors import InferenceError
from ..inputs.decode import ImageSource
from ..inputs.files import InputItem
from ..results import FailedPrediction, Prediction, Result
from ..zoo import DEFAULT_MODEL
from .loaded_model import DEFAULT_BATCH_SIZE, LoadedModel, compile_config, input_stream
from .locate import resolve_auto
from .metadata import ModelMetadata

if TYPE_CHECKING:  # the video side is imported by stream() only: images never load it
    from .stream import FrameStream

__all__ = ["Classifier", "FailedPrediction", "Result"]


class Classifier:
    """Classify images with a PP-LCNet IR, one call or a stream at a time.

    ``model`` is an ``.xml`` IR, or a zoo name or Paddle/ONNX source converted before (the run
    side never converts: :func:`lcnet_ov.resolve_ir` converts once and caches).
    ``precision`` picks the IR (``fp32``/``fp16``/``int8``; default: FP32, or the ``.xml`` given,
    see :func:`~lcnet_ov.export.resolve.resolve_ir`); ``inference_precision`` is the
    compute precision hint (``"f32"`` default, ``"bf16"``, or ``None`` for the device default).
    ``threads`` sets ``INFERENCE_NUM_THREADS`` and the size of the decode pool ``predict`` uses
    (default: all cores). ``class_id_map_file`` replaces the labels stored in the IR. Calls are
    serialized by a lock (one infer request); concurrent callers want
    :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`.

    ``fold_preprocessing=True`` moves normalization into the compiled graph
    (:mod:`lcnet_ov.runtime.folding`): faster on streams of files, probabilities within float
    rounding of the exact path (docs/benchmarks.md, section "folding"), and prepared batches
    must then be uint8 NHWC BGR crops. Off by default here so
    ``predict_probs`` keeps taking PaddleClas' float tensors; ``None`` leaves it to
    :func:`lcnet_ov.policy.fold_by_default` (INT8 IRs fold, measured bit-identical), as
    ``lcnet-ov infer`` does.

    ``fast_decode=True`` decodes large JPEGs (camera photos) at 1/2, 1/4 or 1/8 scale in the DCT
    domain, never below the resize target: several times faster on 12 MP files, no longer
    bit-identical to PaddleClas there (agreement measured in ``docs/fast_decode.md``). Images
    whose short side is under twice ``resize_short`` decode exactly as before.
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
        batch_size: int = DEFAULT_BATCH_SIZE,
        fold_preprocessing: bool | None = False,
        fast_decode: bool = False,
        core: Any = None,
    ) -> None:
        if (topk is not None and topk < 1) or batch_size < 1:
            raise ValueError(f"topk and batch_size must be >= 1, got {topk} and {batch_size}")
        #: what ``precision="auto"`` chose and the rates it chose on (None otherwise)
        self.precision_choice = None
        if precision == "auto":  # the fastest IR present here, measured once and cached
            self.precision_choice = resolve_auto(model, threads)
            model, precision = self.precision_choice.xml, None
            inference_precision = self.precision_choice.inference_precision
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._config = compile_config(
            hint="LATENCY", threads=threads, inference_precision=inference_precision
        )
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
        self.compiled_model = self.model.compile(device, self._config)
        self._request = self.compiled_model.create_infer_request()
        self._embed_request: Any = None
        self._lock = threading.Lock()  # the infer requests: one inference at a time
        self._state_lock = threading.Lock()  # lazy pool / feature model, and closing
        self._closed = False
        self._pool: ThreadPoolExecutor | None = None

    # ---- introspection -----------------------------------------------------------------------

    @property
    def metadata(self) -> ModelMetadata:
        return self.model.metadata

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    @property
    def xml(self) -> Path:
        return self.model.xml

    @property
    def inference_precision(self) -> str:
        """What the device actually computes in (a CPU without bf16 units reports f32)."""
        return self.compiled_model.get_property("INFERENCE_PRECISION_HINT").get_type_name()

    def __repr__(self) -> str:
        return (
            f"Classifier({self.metadata.name!r}, precision={self.metadata.precision!r}, "
            f"device={self.device!r}, xml='{self.xml}')"
        )

    # ---- inference ---------------------------------------------------------------------------

    def _chunk(self, batch_size: int | None) -> int:
        if self.model.static_batch is not None:
            return self.model.static_batch
        size = batch_size or self.batch_size
        if size < 1:
            raise ValueError(f"batch_size must be >= 1, got {size}")
        return size

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Classifier is closed")

    def _run(self, which: str, batch: np.ndarray, batch_size: int | None) -> np.ndarray:
        """Infer in chunks on ``self.<which>``; the lock makes that one request thread-safe."""
        self._check_open()
        out = []
        step = self._chunk(batch_size)
        for start in range(0, len(batch), step):
            part = batch[start : start + step]
            with self._lock:
                request = getattr(self, which)
                if request is None:  # closed by another thread between chunks
                    raise RuntimeError("this Classifier is closed")
                try:
                    request.infer({0: self.model.pad(part)}, share_inputs=True)
                    out.append(request.get_output_tensor(0).data[: len(part)].copy())
                except RuntimeError as exc:
                    self._renew(which)
                    raise InferenceError(f"inference failed: {last_line(exc)}") from exc
        return np.concatenate(out)

    def _renew(self, which: str) -> None:
        """After a failed inference, never reuse the compiled model it ran on: measured on a
        multi-stream model, a later inference returned wrong scores (see
        lcnet_ov.runtime._batching)."""
        try:
            model = self.model.feature_model() if which == "_embed_request" else None
            compiled = self.model.compile(self.device, self._config, model)
            setattr(self, which, compiled.create_infer_request())
            if model is None:
                self.compiled_model = compiled
        except Exception:  # the InferenceError being raised says what went wrong
            import logging  # only on this failure path: ~4 ms at start-up otherwise

            logging.getLogger(__name__).exception("recompiling after a failed inference failed")

    def predict_probs(
        self, batch: np.ndarray | Sequence[ImageSource], batch_size: int | None = None
    ) -> np.ndarray:
        """Class probabilities ``[N, C]`` (float32).

        ``batch`` is either prepared tensors (``[N, 3, H, W]`` float32, or ``[N, H, W, 3]``
        uint8 for IRs with embedded preprocessing) or a list of images, prepared here.
        """
        self._check_open()
        x = self.model.as_batch(batch)
        return self.model.probabilities(self._run("_request", x, batch_size))

    def __call__(self, image: ImageSource) -> Prediction:
        """Top-k for one image (path, encoded bytes or BGR array); bad input raises."""
        self._check_open()
        name = str(image) if isinstance(image, (str, os.PathLike)) else None
        item = InputItem(name or "<image>", image, name)
        probs = self.predict_probs(self.model.prepare(image, name)[None])
        result = self.model.results(probs, [item], self.topk)[0]
        if isinstance(result, FailedPrediction):
            result.raise_error()
        return result

    def embed(
        self, images: np.ndarray | Sequence[ImageSource], batch_size: int | None = None
    ) -> np.ndarray:
        """Features before the classifier, ``[N, 1280]`` float32 for PP-LCNet (see module doc)."""
        with self._state_lock:  # compiled once, however many threads ask at the same time
            self._check_open()
            if self._embed_request is None:
                feature_model = self.model.feature_model()
                compiled = self.model.compile(self.device, self._config, feature_model)
                self._embed_request = compiled.create_infer_request()
        return self._run("_embed_request", self.model.as_batch(images), batch_size)

    def _executor(self) -> ThreadPoolExecutor:
        with self._state_lock:
            self._check_open()
            if self._pool is None:
                workers = self.threads or os.cpu_count() or 1
                # a forgotten Classifier needs no finalizer for it: a collected executor
                # wakes its threads and they exit
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lcnet-ov-prep")
            return self._pool

    def predict(
        self, inputs: object, batch_size: int | None = None, *, recursive: bool = False
    ) -> Iterator[Result]:
        """Classify files, folders, globs, bytes and arrays as a stream, in input order.

        A broken input yields a :class:`FailedPrediction` in its place; the stream goes on.
        Images are decoded and preprocessed by a thread pool up to two batches ahead, so the
        next batch is ready while this one runs. Stopping early cancels the read-ahead. Raises
        ``RuntimeError`` here, not at the first ``next()``, when the Classifier is closed.
        """
        self._check_open()
        size = self._chunk(batch_size)
        return self._stream(input_stream(inputs, recursive=recursive), size)

    def stream(self, source: str | os.PathLike, **options: Any) -> FrameStream:
        """The frames of a video file or live stream classified in order, ``batch_size`` at a
        time on the calling thread (the overlapped form is ``AsyncClassifier.stream``; same
        options: :class:`lcnet_ov.runtime.stream.FrameStream`)."""
        from .stream import FrameStream, SyncBackend

        self._check_open()
        return FrameStream(SyncBackend(self), source, **options)

    def _stream(self, stream: Iterator[InputItem], size: int) -> Iterator[Result]:
        window: deque[tuple[InputItem, Future | None]] = deque()

        def refill() -> None:
            while len(window) < 2 * size:
                item = next(stream, None)
                if item is None:
                    return
                prep = (
                    None
                    if item.error
                    else self._executor().submit(self.model.prepare, item.source, item.name)
                )
                window.append((item, prep))

        try:
            refill()
            while window:
                chunk = [window.popleft() for _ in range(min(size, len(window)))]
                refill()
                yield from self._classify(chunk)
        finally:
            for _, prep in window:
                if prep is not None:
                    prep.cancel()

    def _classify(self, chunk: list[tuple[InputItem, Future | None]]) -> list[Result]:
        results: list[Result | None] = [None] * len(chunk)
        tensors, ok = [], []
        for i, (item, prep) in enumerate(chunk):
            try:
                if item.error is not None:  # expansion found nothing to read (prep is None)
                    raise item.error
                tensors.append(prep.result())  # type: ignore[union-attr]
                ok.append(i)
            except Exception as exc:
                results[i] = FailedPrediction.of(item, exc)
        self._check_open()  # read-ahead cancelled by close() is no per-item failure
        if tensors:
            probs = self.predict_probs(np.stack(tensors), batch_size=len(tensors))
            preds = self.model.results(probs, [chunk[i][0] for i in ok], self.topk)
            for i, res in zip(ok, preds, strict=True):
                results[i] = res
        return results  # type: ignore[return-value]

    # ---- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the read-ahead threads and drop the compiled models (idempotent, thread-safe).

        Waits for an inference another thread is running; later calls raise ``RuntimeError``.
        """
        with self._state_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._request = self._embed_request = self.compiled_model = None

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
