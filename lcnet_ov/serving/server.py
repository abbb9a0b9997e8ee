"""``lcnet-ov serve``: kserve's ``ModelServer`` (REST + gRPC + ``/metrics``) hosting one
:class:`~lcnet_ov.serving.model.ClassifierModel`.

What this module adds to a stock ``ModelServer`` and why:

* **Bind address.** kserve 0.21 listens on ``0.0.0.0`` / ``[::]`` unconditionally; a model
  server on a laptop or an edge box should not be reachable from the network unless asked
  (``--host 0.0.0.0``, as the container does). The uvicorn config gets ``host``, and the gRPC
  server is kserve's ``GRPCServer`` with the address it binds made configurable.
* **Bad requests are 4xx.** The REST decoding in :mod:`~lcnet_ov.serving.rest` (binary BYTES
  work, malformed framing is 400), and a body limit (413). gRPC messages over the same limit
  are refused by gRPC itself (``RESOURCE_EXHAUSTED``); every request error the model raises is
  ``InvalidInput`` → ``INVALID_ARGUMENT``.
* **Drain on SIGTERM / Ctrl-C.** uvicorn stops accepting and finishes the HTTP requests it
  has; at the same moment the gRPC server stops accepting and is given ``grace_s`` to finish
  its calls; the model reports not ready. kserve's own ``stop`` would unload the model while
  gRPC calls are still running, so it is replaced. Only when both servers have returned is the
  ``AsyncClassifier`` closed (every submitted image answered) and the process exits 0.
* **Quiet by default.** No per-request access or latency log lines (they cost CPU on a
  2-core box); ``--access-log`` turns the access log on.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import ServeError
from ._kserve import kserve
from .options import ServeOptions, open_classifier

log = logging.getLogger("lcnet_ov.serve")


def check_ports(host: str, *ports: int) -> None:
    """Fail early with a clear line if a port is taken (uvicorn would log and ``sys.exit``)."""
    for port in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _grpc_server_class() -> type:
    ks = kserve()
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
    from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor
    from kserve.protocol.grpc.server import GRPCServer
    from kserve.protocol.grpc.servicer import InferenceServicer

    del ks

    class BoundGRPCServer(GRPCServer):
        """kserve's gRPC server on a chosen address, message size capped."""

        def __init__(
            self,
            host: str,
            port: int,
            dataplane: Any,
            extension: Any,
            *,
            max_message: int,
            grace_s: int,
        ) -> None:
            super().__init__(port, dataplane, extension, kwargs={}, grace_period=grace_s)
            self._host = host
            self._max_message = max_message

        async def start(self, max_workers: int) -> None:
            from grpc import aio

            self._server = aio.server(
                ThreadPoolExecutor(max_workers=max_workers),
                interceptors=(ExceptionToStatusInterceptor(),),
                options=[
                    ("grpc.max_send_message_length", self._max_message),
                    ("grpc.max_receive_message_length", self._max_message),
                ],
            )
            grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
                InferenceServicer(self._data_plane, self._model_repository_extension),
                self._server,
            )
            address = f"[{self._host}]" if ":" in self._host else self._host
            self._server.add_insecure_port(f"{address}:{self._port}")
            await self._server.start()
            await self._server.wait_for_termination()

    return BoundGRPCServer


def build_server(model: Any, options: ServeOptions) -> Any:
    """A ``ModelServer`` for ``model`` configured per ``options`` (not started)."""
    ks = kserve()
    import kserve.model_server as ms

    from .rest import BodyLimit, add_routes

    grpc_cls = _grpc_server_class()

    class Server(ks.ModelServer):
        def __init__(self) -> None:
            super().__init__(
                http_port=options.http_port,
                grpc_port=options.grpc_port,
                enable_grpc=False,  # ours is added in start(): kserve's cannot bind a host
                enable_docs_url=False,
                enable_latency_logging=False,
                grace_period=options.grace_s,
            )
            self.model = model
            self._draining = False

        def start(self, models: list[Any]) -> None:
            add_routes(ms.app, self.dataplane)
            ms.app.add_middleware(BodyLimit, limit=options.max_body_bytes)
            self._grpc_server = grpc_cls(
                options.host,
                options.grpc_port,
                self.dataplane,
                self.model_repository_extension,
                max_message=options.max_body_bytes,
                grace_s=options.grace_s,
            )
            self.servers.append(self._grpc_server.start(options.grpc_threads))
            super().start(models)

        def setup_event_loop(self) -> None:
            super().setup_event_loop()
            # runs after the uvicorn server is built and before it serves: the last moment
            # its config and signal hook can be changed
            self._rest_server.config.host = options.host
            uv = self._rest_server._server
            uvicorn_exit = uv.handle_exit

            def handle_exit(sig: int, frame: Any) -> None:
                uvicorn_exit(sig, frame)
                self.begin_drain()

            uv.handle_exit = handle_exit

        def begin_drain(self) -> None:
            if self._draining:
                return
            self._draining = True
            self.model.ready = False
            log.info("draining: finishing requests already received")
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(lambda: loop.create_task(self._grpc_server.stop()))

        def stop(self, sig: int) -> None:  # kserve's handler, re-raised by uvicorn at the end
            self.begin_drain()

    return Server()


class _NoTracebackForBadRequests(logging.Filter):
    """kserve logs every ``InvalidInput`` with its traceback; a client's mistake is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from kserve.errors import InvalidInput

        if record.exc_info and isinstance(record.exc_info[1], InvalidInput):
            record.msg, record.args = "bad request: %s", (record.exc_info[1],)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _quiet_logs(access_log: bool) -> None:
    level = logging.INFO if access_log else logging.WARNING
    logging.getLogger("uvicorn.access").setLevel(level)
    logging.getLogger("kserve.trace").setLevel(level)  # two timing lines per request
    logging.getLogger("kserve").addFilter(_NoTracebackForBadRequests())
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _import_model_module(errors: list[BaseException]) -> None:
    try:
        import lcnet_ov.serving.model  # noqa: F401  (imports kserve)
    except BaseException as exc:  # re-raised in the main thread
        errors.append(exc)


def serve(options: ServeOptions, *, on_ready: Any = None) -> int:
    """Load, warm up, serve until SIGTERM/SIGINT, drain, close. Returns the exit code (0)."""
    check_ports(options.host, options.http_port, options.grpc_port)
    t0 = time.perf_counter()
    # The CPU plugin is loaded here, before the import thread starts: loading a shared library
    # whose initializers start threads while another thread loads extension modules is how
    # loader-lock deadlocks happen, and the main thread (which takes SIGTERM) should own the
    # plugin's signal stack (runtime/core.py).
    from ..runtime.core import shared_core

    shared_core()
    # kserve's import (pandas, FastAPI) and the model's compile overlap: OpenVINO releases
    # the GIL while it reads and compiles, which cuts start-to-ready by about a second
    imported: list[BaseException] = []
    importer = threading.Thread(target=_import_model_module, args=(imported,), daemon=True)
    importer.start()
    try:
        classifier = open_classifier(options)
    finally:
        importer.join()
    if imported:
        classifier.close()
        raise imported[0]
    from .model import ClassifierModel

    model = ClassifierModel(options, classifier)
    model.register_metrics()
    server = build_server(model, options)
    _quiet_logs(options.access_log)
    message = (
        f"serving {model.name!r} ({model.classifier.metadata.precision}, "
        f"{model.num_classes} classes) on http://{options.host}:{options.http_port} and "
        f"grpc {options.host}:{options.grpc_port}; loaded and warmed up in "
        f"{time.perf_counter() - t0:.2f} s"
    )
    print(message, file=sys.stderr, flush=True)
    if on_ready is not None:
        on_ready(model)
    try:
        server.start([model])
    finally:
        model.close()
    print("stopped: every request received was answered", file=sys.stderr, flush=True)
    return 0
