"""Settings of ``lcnet-ov serve`` (no server imports, so the CLI can build them cheaply)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..zoo import DEFAULT_MODEL
from . import DEFAULT_MAX_BODY_BYTES


@dataclass(frozen=True)
class ServeOptions:
    """Everything that shapes one server.

    ``name`` defaults to the IR's metadata name. ``max_batch``/``max_wait_ms`` shape the
    cross-request micro-batches of :class:`~lcnet_ov.async_runtime.AsyncClassifier`;
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
