"""Settings of ``lcnet-ov serve`` (no server imports, so the CLI can build them cheaply)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ServeError
from ..policy import FAST_DECODE
from ..zoo import DEFAULT_MODEL
from . import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_INFLIGHT,
    DEFAULT_MAX_JSON_BYTES,
    DEFAULT_MAX_PENDING_IMAGES,
    DEFAULT_MEMORY_BUDGET_BYTES,
    PERFORMANCE_HINTS,
)


@dataclass(frozen=True)
class ServeOptions:
    """Everything that shapes one server.

    ``name`` defaults to the IR's metadata name. ``max_batch``/``max_wait_ms`` shape the
    cross-request micro-batches of :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`;
    ``threads`` is OpenVINO's ``INFERENCE_NUM_THREADS``. ``performance_hint``: ``THROUGHPUT``
    (default) runs one inference stream per core, the most images/s under many clients;
    ``LATENCY`` one stream on every core, so a lone request's inference uses all of them
    (:data:`LATENCY_REQUESTS` requests keep a batch forming while another infers; measured in
    docs/serving.md, section ``serve-hint``). ``fast_decode`` and
    ``fold_preprocessing`` are ``lcnet-ov infer``'s options of the same name, with the same
    defaults (:mod:`lcnet_ov.policy`), so a served answer is ``infer``'s answer.

    Admission: ``max_body_bytes`` caps a binary REST body and a gRPC message,
    ``max_json_bytes`` a body parsed as JSON (413 / ``RESOURCE_EXHAUSTED`` beyond);
    ``max_inflight`` bounds REST inference requests and gRPC RPCs in flight,
    ``memory_budget_bytes`` the estimated memory of the REST requests in flight, and
    ``max_pending_images`` the images in the pipeline; past any of them a request is answered
    503 + ``Retry-After`` (gRPC ``UNAVAILABLE``) at once. ``grace_s`` bounds the drain.

    Security: ``api_keys`` (never printed: ``repr=False``) makes inference, metadata and, unless
    ``metrics_public``, ``/metrics`` require ``Authorization: Bearer KEY``; ``ssl_certfile`` +
    ``ssl_keyfile`` serve HTTPS and TLS gRPC; ``enable_model_control`` opens kserve's model
    repository load/unload API (closed by default: anyone who can reach the port could unload
    the model).
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
    performance_hint: str = "THROUGHPUT"
    inference_precision: str | None = "f32"
    fast_decode: bool = FAST_DECODE
    #: None: the policy (:func:`lcnet_ov.policy.fold_by_default`), as ``infer``
    fold_preprocessing: bool | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
    max_pending_images: int = DEFAULT_MAX_PENDING_IMAGES
    grace_s: int = 30
    grpc_threads: int = 4
    access_log: bool = False
    enable_model_control: bool = False
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    metrics_public: bool = False
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def tls(self) -> bool:
        return bool(self.ssl_certfile)


#: infer requests under the LATENCY hint, whose own optimum is 1: with one, the next batch
#: would only start forming after the running one finished; a second request queues behind it
#: on the single stream with its batch ready
LATENCY_REQUESTS = 2


def read_api_keys(path: str | os.PathLike) -> tuple[str, ...]:
    """Keys from a file, one a line (blank lines and ``#`` comments skipped). The error names
    the file and line, never a key."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServeError(f"cannot read the API key file {path}: {exc}") from exc
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        if len(key) < 16 or any(c.isspace() or not c.isprintable() for c in key):
            raise ServeError(
                f"{path}:{number}: an API key must be at least 16 printable characters without "
                "spaces (e.g. `openssl rand -hex 32`)"
            )
        keys.append(key)
    if not keys:
        raise ServeError(f"{path} holds no API key (one key a line)")
    return tuple(keys)


def check_tls_files(certfile: str | None, keyfile: str | None) -> None:
    """Both or neither, readable, and a pair that loads, before anything starts."""
    if bool(certfile) != bool(keyfile):
        raise ServeError("TLS needs both --ssl-certfile and --ssl-keyfile")
    if not certfile:
        return
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ServeError(f"cannot load TLS certificate {certfile} / key {keyfile}: {exc}") from exc


def open_classifier(options: ServeOptions) -> Any:
    """The server's :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`, compiled and
    warmed up.

    It ranks every class (``topk`` = class count) so each request's probabilities can be
    rebuilt exactly. Its pipeline holds ``max_pending_images`` items, the admission limit of
    :class:`~lcnet_ov.serving.model.ClassifierModel`, so an admitted request never waits for a
    slot. Kept free of kserve so :func:`~lcnet_ov.serving.server.serve` can build it while
    kserve (pandas, FastAPI: seconds on a busy 2-core box) imports in another thread. Warm-up
    sends one full batch, so the first client pays no first-inference cost.
    """
    import numpy as np

    from ..runtime.async_classifier import AsyncClassifier

    hint = str(options.performance_hint).upper()
    if hint not in PERFORMANCE_HINTS:
        raise ServeError(
            f"performance_hint must be one of {', '.join(PERFORMANCE_HINTS)}, "
            f"got {options.performance_hint!r}"
        )

    clf = AsyncClassifier(
        options.model,
        precision=options.precision,
        device=options.device,
        threads=options.threads,
        performance_hint=hint,
        num_requests=LATENCY_REQUESTS if hint == "LATENCY" else None,
        inference_precision=options.inference_precision,
        topk=1 << 30,  # clipped to the class count by the ranking
        rank_all_classes=True,  # multi-label/attribute models too: the model applies its own
        max_batch=options.max_batch,
        max_wait_ms=options.max_wait_ms,
        max_pending=options.max_pending_images,
        fast_decode=options.fast_decode,
        fold_preprocessing=options.fold_preprocessing,
    )
    h, w = clf.metadata.preprocess.input_hw
    blank = np.full((h, w, 3), 127, dtype=np.uint8)
    # One image alone first: OpenVINO's first start_async of a process initializes pybind11
    # statics under the GIL (data_dispatcher's to_dtype), and two infer threads doing it at
    # once deadlocked about one start in 30 (stacks of both stuck there, kserve's import thread
    # waiting for the GIL). With exact (slower) preprocessing the warm-up batch used to split
    # across two infer requests; a lone first image makes the first call single-threaded.
    clf.submit(blank).result()
    for fut in [clf.submit(blank) for _ in range(clf.max_batch)]:
        fut.result()
    return clf
