"""Settings of ``lcnet-ov serve`` (no server imports, so the CLI can build them cheaply)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..zoo import DEFAULT_MODEL
from . import DEFAULT_MAX_BODY_BYTES


@dataclass(frozen=True)
class ServeOptions:
    """Everything that shapes one server.

    ``name`` defaults to the IR's metadata name. ``max_batch``/``max_wait_ms`` shape the
    cross-request micro-batches of :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`;
    ``threads`` is OpenVINO's ``INFERENCE_NUM_THREADS``. ``max_body_bytes`` caps a REST body and
    a gRPC message (413 / ``RESOURCE_EXHAUSTED`` beyond). ``grace_s`` bounds the drain on
    SIGTERM.
    """

    model: str | os.PathLike = DEFAULT_MODEL
    precision: str | None = None
    name: str | None = None
    host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 8081
    max_batch: int = 8
    max_wait_ms: float = 2.0
    threads: int | None = None
    device: str = "CPU"
    inference_precision: str | None = "f32"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    grace_s: int = 30
    grpc_threads: int = 4
    access_log: bool = False


def open_classifier(options: ServeOptions) -> Any:
    """The server's :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`, compiled and
    warmed up.

    It ranks every class (``topk`` = class count) so each request's probabilities can be
    rebuilt exactly. Kept free of kserve so :func:`~lcnet_ov.serving.server.serve` can build it
    while kserve (pandas, FastAPI: seconds on a busy 2-core box) imports in another thread.
    Warm-up sends one full batch, so the first client pays no first-inference cost.
    """
    import numpy as np

    from ..runtime.async_classifier import AsyncClassifier

    clf = AsyncClassifier(
        options.model,
        precision=options.precision,
        device=options.device,
        threads=options.threads,
        inference_precision=options.inference_precision,
        topk=1 << 30,  # clipped to the class count by the ranking
        max_batch=options.max_batch,
        max_wait_ms=options.max_wait_ms,
    )
    crop = clf.metadata.preprocess.crop_size
    blank = np.full((crop, crop, 3), 127, dtype=np.uint8)
    for fut in [clf.submit(blank) for _ in range(clf.max_batch)]:
        fut.result()
    return clf
