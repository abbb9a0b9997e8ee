"""The served model: a ``kserve.Model`` backed by
:class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`.

Why an ``AsyncClassifier`` and not a ``Classifier`` per request: every request's images are
submitted to one micro-batching pipeline, so images of *different* concurrent requests share
an inference (``max_batch`` / ``max_wait_ms``), which is where a server's throughput comes
from on a small CPU. ``predict`` never blocks the event loop: it submits, then awaits the
Futures. Decoding, preprocessing and the guards are the SDK's (``decode_image`` with the same
pixel limit as ``lcnet-ov infer``, the resize/aspect guard), reached through ``submit``.

The classifier ranks every class (``topk`` = class count) so the full probability vector can be
rebuilt exactly from each :class:`~lcnet_ov.results.Prediction`; a request's ``topk`` then
takes the first entries. Preprocessed ``x`` tensors cannot enter that pipeline (it decodes), so
they go to a plain :class:`~lcnet_ov.runtime.classifier.Classifier`, compiled at start (compiling
inside a
request would stall it, and every request behind it, for the compile time).

**Admission.** A request's images are admitted only if the pipeline has room for all of them
(``max_pending_images``, which is also the pipeline's own size, so an admitted image never waits
for a slot); otherwise the request fails at once with
:class:`~lcnet_ov.errors.ServerBusyError`, answered 503 + ``Retry-After`` / gRPC
``UNAVAILABLE``. Waiting instead, in a thread of the default pool, is how an overloaded server
used to pile up requests without bound. The count lives on the event loop, which runs every
``predict`` (REST and gRPC share it), so it needs no lock. The image cap applies to every route.

Errors a client caused (bad tensors, undecodable bytes, a pixel bomb) become ``InvalidInput``
naming the element index: kserve answers HTTP 400 / gRPC ``INVALID_ARGUMENT`` and carries on.
Anything else is a server fault and stays one (HTTP 500 / gRPC ``INTERNAL``, one log line): a
``ValueError`` from deep inside is a bug of ours, not the client's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..errors import ImageDecodeError, LcnetOVError, QueueFullError, ServerBusyError
from ..postprocess import topk as rank
from . import DEFAULT_TOPK, MAX_IMAGES_PER_REQUEST
from ._kserve import kserve
from .options import ServeOptions, open_classifier
from .tensors import (
    ParsedRequest,
    RequestError,
    input_types,
    kind_output_arrays,
    output_arrays,
    output_names,
    output_types,
)
from .tensors import parse_request as parse_tensors

_ks = kserve()
from kserve.errors import InvalidInput  # noqa: E402
from kserve.protocol.infer_type import (  # noqa: E402
    InferOutput,
    InferRequest,
    InferResponse,
    to_http_parameters,
)

#: client-side faults: the request (not the server) is wrong
_CLIENT_ERRORS = (ImageDecodeError, RequestError)


class ClassifierModel(_ks.Model):
    """PP-LCNet behind the Open Inference Protocol (see the module doc)."""

    def __init__(self, options: ServeOptions, classifier: Any = None) -> None:
        """``classifier``: an :func:`open_classifier` result (built here when ``None``)."""
        self.options = options
        self.classifier = classifier if classifier is not None else open_classifier(options)
        meta = self.classifier.metadata
        super().__init__(options.name or meta.name)
        self.num_classes = self.classifier.model.num_classes
        self.input_hw = meta.preprocess.input_hw  # (80, 160) for text lines: not square
        #: the model's own post-processing; top-k models keep the request's ``topk``
        self.post = meta.postprocess
        self.output_names = output_names(self.post)
        self.capacity = options.max_pending_images
        #: images admitted and not answered yet (event-loop only)
        self.admitted = 0
        from ..runtime.classifier import Classifier

        # the exact float path for `x` tensors; one infer request, so calls are serialized by
        # Classifier's own lock, in a worker thread
        self._tensor_clf = Classifier(
            self.classifier.model.xml,
            device=options.device,
            threads=options.threads,
            inference_precision=options.inference_precision,
            batch_size=self.classifier.max_batch,
        )
        self._collector: Any = None
        self._registry: Any = None
        self.ready = True

    def register_metrics(self, registry: Any = None) -> None:
        """Export the batch sizes formed (``lcnet_ov_batches_total{size="8"}``) on ``/metrics``:
        how well concurrent requests share inferences is the point of this server."""
        from prometheus_client import REGISTRY
        from prometheus_client.core import CounterMetricFamily

        model = self

        class BatchCollector:
            def collect(self) -> Any:
                stats = model.classifier.stats
                fam = CounterMetricFamily(
                    "lcnet_ov_batches", "inferences run, by batch size", labels=["size"]
                )
                for size, count in sorted(stats.sizes.items()):
                    fam.add_metric([str(size)], count)
                yield fam
                yield CounterMetricFamily(
                    "lcnet_ov_images",
                    "images classified by the batched pipeline",
                    value=stats.images,
                )

        self._registry = registry or REGISTRY
        self._collector = BatchCollector()
        self._registry.register(self._collector)

    # ---- lifetime ----------------------------------------------------------------------------

    def load(self) -> bool:
        return self.ready

    def stop(self) -> None:
        """kserve calls this when the model is unloaded (its repository API; stock kserve also
        on SIGTERM, before gRPC has drained). Requests may still be running then, so only the
        readiness flips; :meth:`close` runs once every server has stopped."""
        self.ready = False

    def close(self, timeout: float | None = None) -> bool:
        """Finish every submitted image (within ``timeout`` s; later ones fail), then stop the
        pipeline's threads and take the metrics collector off the registry (a second server
        in the same process registers its own). ``False`` if the timeout cut the drain short."""
        self.ready = False
        drained = self.classifier.close(cancel_pending=False, timeout=timeout)
        self._tensor_clf.close()
        if self._collector is not None:
            self._registry.unregister(self._collector)
            self._collector = None
        return bool(drained)

    # ---- metadata ----------------------------------------------------------------------------

    def get_input_types(self) -> list[dict[str, Any]]:
        return input_types(self.input_hw)

    def get_output_types(self) -> list[dict[str, Any]]:
        return output_types(self.num_classes, self.post)

    def parameters(self) -> dict[str, Any]:
        """Extra fields of ``/v2/models/{name}``: labels and how inputs are preprocessed."""
        meta = self.classifier.metadata
        pp = meta.preprocess
        return {
            "labels": list(meta.labels),
            "precision": meta.precision,
            "preprocess": f"resize_short={pp.resize_short} crop={pp.crop_size} "
            f"resize_size={list(pp.resize_size) if pp.resize_size else None} "
            f"input_hw={list(pp.input_hw)} mean={list(pp.mean)} std={list(pp.std)} "
            f"{pp.channel_order}",
            "max_batch": self.classifier.max_batch,
            "topk_default": DEFAULT_TOPK,
        }

    # ---- inference ---------------------------------------------------------------------------

    async def predict(
        self, payload: Any, headers: Mapping[str, str] | None = None, *_: Any
    ) -> InferResponse | dict[str, Any]:
        if isinstance(payload, (bytes, bytearray)):  # v1 body sent without a JSON content type
            import orjson

            try:
                payload = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(f"request is not valid JSON ({exc})") from exc
        if isinstance(payload, dict):
            return await self._predict_v1(payload)
        if not isinstance(payload, InferRequest):
            raise InvalidInput(f"unsupported request type {type(payload).__name__}")
        params = to_http_parameters(payload.parameters) if payload.parameters else {}
        try:
            request = parse_tensors(
                payload.inputs,
                params,
                payload.request_outputs,
                input_hw=self.input_hw,
                num_classes=self.num_classes,
                outputs=self.output_names,
            )
        except RequestError as exc:
            raise InvalidInput(str(exc)) from exc
        preds = await self._classify(request)
        if self.post.ranks_all_classes:
            arrays = output_arrays(preds, request.topk, self.num_classes)
        else:  # multi-label / threshold / attributes: the model's own answer, padded
            labels = self.classifier.labels
            arrays = kind_output_arrays(preds, self.post, labels, self.num_classes)
        names = request.outputs if payload.request_outputs else self.output_names
        outputs = [_infer_output(name, arrays[name]) for name in names]
        return InferResponse(
            response_id=payload.id or uuid.uuid4().hex,
            model_name=self.name,
            infer_outputs=outputs,
            use_binary_outputs=payload.use_binary_outputs,
            requested_outputs=payload.request_outputs,
        )

    async def classify_files(self, blobs: list[bytes], k: int) -> list[dict[str, Any]]:
        """Encoded files → PaddleClas-style dicts (the curl route and v1 ``:predict``)."""
        request = ParsedRequest("image", items=tuple(blobs), topk=min(k, self.num_classes))
        preds = await self._classify(request)
        if not self.post.ranks_all_classes:
            arrays = kind_output_arrays(preds, self.post, self.classifier.labels, self.num_classes)
            answers = self.post.apply(arrays["probabilities"], labels=self.classifier.labels)
            return [_short(a, len(a.class_ids)) for a in answers]
        return [_short(p, request.topk) for p in preds]

    async def _predict_v1(self, payload: dict[str, Any]) -> dict[str, Any]:
        """KServe v1 ``:predict``: ``{"instances": [{"b64": "..."}, ...]}`` (TF-serving style)."""
        from .tensors import _image_bytes

        instances = payload.get("instances")
        if not isinstance(instances, list) or not instances:
            raise InvalidInput('v1 body must be {"instances": [{"b64": "<base64 file>"}, ...]}')
        if len(instances) > MAX_IMAGES_PER_REQUEST:
            raise InvalidInput(
                f"{len(instances)} instances in one request, over the limit of "
                f"{MAX_IMAGES_PER_REQUEST}; split it"
            )
        blobs = []
        for i, inst in enumerate(instances):
            b64 = inst.get("b64") if isinstance(inst, dict) else None
            if not isinstance(b64, str):
                raise InvalidInput(f'instances[{i}]: expected {{"b64": "<base64 file>"}}')
            try:
                blobs.append(_image_bytes(b64, i))
            except RequestError as exc:
                raise InvalidInput(str(exc)) from exc
        params = payload.get("parameters") if isinstance(payload.get("parameters"), dict) else {}
        try:
            from .tensors import parse_topk

            k = parse_topk(params, self.num_classes)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from exc
        return {"predictions": await self.classify_files(blobs, k)}

    async def _classify(self, request: ParsedRequest) -> list[Any]:
        """Full-length predictions for every element, or ``InvalidInput`` for the first bad one;
        :class:`ServerBusyError` at once when the pipeline has no room for the request."""
        n = request.size
        if n > MAX_IMAGES_PER_REQUEST:  # parse_request checks v2; this covers every route
            raise InvalidInput(f"{n} images in one request, over the limit of "
                               f"{MAX_IMAGES_PER_REQUEST}; split it")  # fmt: skip
        if self.admitted + n > self.capacity:
            raise ServerBusyError(
                f"server busy: {self.admitted} images in the pipeline, room for "
                f"{self.capacity}; retry shortly"
            )
        self.admitted += n
        try:
            if request.tensor is not None:
                return await asyncio.to_thread(self._classify_tensor, request.tensor)
            return await self._classify_items(request)
        finally:
            self.admitted -= n

    async def _classify_items(self, request: ParsedRequest) -> list[Any]:
        futures: list[Future] = []
        try:
            for i, item in enumerate(request.items):
                futures.append(self.classifier.submit(item, name=f"{request.input_name}[{i}]",
                                                      block=False))  # fmt: skip
        except QueueFullError as exc:  # a cancelled request's images still in the pipeline
            for fut in futures:
                fut.cancel()
            raise ServerBusyError("server busy: the pipeline is full; retry shortly") from exc
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        outcomes = await asyncio.gather(
            *(asyncio.wrap_future(f) for f in futures), return_exceptions=True
        )
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                raise _as_http_error(outcome, f"{request.input_name}[{i}]") from outcome
        return list(outcomes)

    def _classify_tensor(self, x: np.ndarray) -> list[Any]:
        probs = self._tensor_clf.predict_probs(x)
        return rank(probs, self.num_classes, self.classifier.labels)


def _infer_output(name: str, arr: np.ndarray) -> InferOutput:
    datatype = {"probabilities": "FP32", "class_ids": "INT64", "scores": "FP32"}.get(name, "BYTES")
    out = InferOutput(name=name, shape=list(arr.shape), datatype=datatype)
    # raw bytes now; kserve's encoders re-read them for JSON (to_grpc cannot take ndarray data)
    out.set_data_from_numpy(arr, binary_data=True)
    return out


def _short(pred: Any, k: int) -> dict[str, Any]:
    short = {
        "class_ids": list(pred.class_ids[:k]),
        "scores": [round(float(s), 5) for s in pred.scores[:k]],
        "label_names": list(pred.label_names[:k]),
    }
    if pred.attributes is not None:
        short["attributes"] = pred.attributes
    return short


def _as_http_error(exc: BaseException, where: str) -> Exception:
    """Client faults → ``InvalidInput`` (400) naming the element; the rest stay server errors
    (500 / ``INTERNAL``), a cancelled image (pipeline closing) a 503."""
    if isinstance(exc, _CLIENT_ERRORS):
        text = str(exc).strip() or type(exc).__name__
        return InvalidInput(text if text.startswith(where) else f"{where}: {text}")
    if isinstance(exc, asyncio.CancelledError):
        return ServerBusyError(f"{where}: the server is shutting down; retry elsewhere")
    if isinstance(exc, LcnetOVError):
        return RuntimeError(f"{where}: {type(exc).__name__}: {exc}")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
