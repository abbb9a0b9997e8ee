"""``lcnet-ov serve``: kserve's ``ModelServer`` (REST + gRPC + ``/metrics``) hosting one
:class:`~lcnet_ov.serving.model.ClassifierModel`.

What this module adds to a stock ``ModelServer`` and why:

* **Bind address.** kserve 0.21 listens on ``0.0.0.0`` / ``[::]`` unconditionally; a model
  server on a laptop or an edge box should not be reachable from the network unless asked
  (``--host 0.0.0.0``, as the container does). uvicorn gets ``host``; the gRPC server is ours
  (:mod:`~lcnet_ov.serving.grpc_server`).
* **A gate in front of every REST route** (:mod:`~lcnet_ov.serving.gate`): model repository
  API closed unless ``--enable-model-control``, API keys, body limits, admission (503 +
  ``Retry-After``), 500 with one log line for our own bugs. uvicorn's ``limit_concurrency``
  bounds connections on top. TLS: uvicorn's ``ssl_certfile``/``ssl_keyfile``.
* **Readiness that tells the truth.** kserve's ``/v2/health/ready`` (and gRPC ``ServerReady``)
  answer ready unconditionally, even after the model was unloaded; here they are ready only
  while the served model is registered and ready and the server is not draining.
* **Drain on SIGTERM, SIGINT and SIGQUIT.** uvicorn stops accepting and finishes the HTTP
  requests it has; at the same moment the gRPC server stops accepting and is given ``grace_s``
  to finish its calls; readiness turns false. kserve's own ``stop`` (its SIGQUIT handler) would
  unload the model while leaving uvicorn running: a live process answering 503 forever. Only
  when both servers have returned is the ``AsyncClassifier`` closed (every submitted image
  answered, within ``grace_s``) and the process exits 0.
* **One app per server.** kserve's routes live on a module-level FastAPI ``app``; every start
  would add its middleware and routes again (and Starlette refuses middleware on an app that
  has served). Each server gets a fresh app.
* **Quiet by default.** No per-request access or latency lines, no kserve/uvicorn start-up
  chatter, no FastAPI deprecation warnings, one line per refused or failed request;
  ``--access-log`` turns the access log and kserve's info lines back on.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
import warnings
from typing import Any

from ..errors import ServeError
from ._kserve import kserve
from .options import ServeOptions, check_tls_files, open_classifier

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


def _fresh_app() -> Any:
    """A new FastAPI app in place of kserve's module-level one (see the module doc)."""
    import kserve.model_server as ms
    from fastapi import FastAPI
    from fastapi.responses import ORJSONResponse

    ms.app = FastAPI(
        title="lcnet-ov serve",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=ORJSONResponse,
    )
    return ms.app


def build_server(model: Any, options: ServeOptions) -> Any:
    """A ``ModelServer`` for ``model`` configured per ``options`` (not started)."""
    ks = kserve()

    from .gate import Budget, Gate, GatePolicy
    from .grpc_server import grpc_server_class
    from .rest import add_routes

    grpc_cls = grpc_server_class()

    class Server(ks.ModelServer):
        def __init__(self) -> None:
            super().__init__(
                http_port=options.http_port,
                grpc_port=options.grpc_port,
                enable_grpc=False,  # ours is added in start() (grpc_server.py)
                enable_docs_url=False,
                enable_latency_logging=False,
                grace_period=options.grace_s,
                ssl_certfile=options.ssl_certfile,
                ssl_keyfile=options.ssl_keyfile,
            )
            self.http_port = options.http_port  # kserve moves it to 8443 when TLS is on
            self.model = model
            self.draining = False
            self._drain_task: asyncio.Task | None = None
            self.dataplane.ready = self.ready  # REST /v2/health/ready and gRPC ServerReady

        async def ready(self) -> bool:
            registry = self.dataplane.model_registry
            return (
                not self.draining
                and registry.get_model(self.model.name) is self.model
                and bool(self.model.ready)
            )

        def start(self, models: list[Any]) -> None:
            app = _fresh_app()
            add_routes(app, self.dataplane)
            budget = Budget(options.max_inflight, options.memory_budget_bytes)
            app.add_middleware(Gate, policy=GatePolicy.from_options(options), budget=budget)
            extension = self.model_repository_extension
            self._grpc = grpc_cls(options, self.dataplane, extension, budget)
            self.servers.append(self._grpc.start())
            super().start(models)

        def setup_event_loop(self) -> None:
            # kserve configures asyncio.get_event_loop(), which after an earlier asyncio.run in
            # this process (a second serve()) raises: give it a loop to configure
            asyncio.set_event_loop(asyncio.new_event_loop())
            super().setup_event_loop()
            # runs after the uvicorn server is built and before it serves: the last moment
            # its config and signal hook can be changed
            config = self._rest_server.config
            config.host = options.host
            # connections + tasks; the gate's max_inflight is the finer bound on inference
            config.limit_concurrency = 4 * options.max_inflight
            uv = self._rest_server._server
            uvicorn_exit = uv.handle_exit

            def handle_exit(sig: int, frame: Any) -> None:
                uvicorn_exit(sig, frame)
                self.begin_drain()

            uv.handle_exit = handle_exit

        def begin_drain(self) -> None:
            if self.draining:
                return
            self.draining = True
            self.model.ready = False
            log.info("draining: finishing requests already received")
            if self._rest_server is not None:
                self._rest_server._server.should_exit = True  # SIGQUIT: uvicorn's own are hooked
            loop = asyncio.get_event_loop()

            def stop_grpc() -> None:
                self._drain_task = loop.create_task(self._grpc.stop())

            loop.call_soon_threadsafe(stop_grpc)

        def stop(self, sig: int) -> None:  # kserve's handler: SIGQUIT, and uvicorn's re-raise
            self.begin_drain()

    return Server()


class _OneLineLogs(logging.Filter):
    """kserve logs every refused request with its traceback (``logger.error("Exception:",
    exc_info=...)``); a client's mistake is one warning line, anything else one error line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady

        from .gate import where

        exc = record.exc_info[1]
        client = isinstance(exc, (InvalidInput, ModelNotFound, ModelNotReady, NotImplementedError))
        record.msg, record.args = "%s: %s", (type(exc).__name__, exc)
        if not client:
            record.msg, record.args = "%s: %s (%s)", (type(exc).__name__, exc, where(exc))
        record.exc_info = record.exc_text = None
        level = logging.WARNING if client else logging.ERROR
        record.levelno, record.levelname = level, logging.getLevelName(level)
        return True


def _quiet_logs(access_log: bool) -> None:
    level = logging.INFO if access_log else logging.WARNING
    for name in ("uvicorn.access", "kserve.trace", "kserve", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger("kserve").addFilter(_OneLineLogs())
    logging.getLogger("lcnet_ov.serve").setLevel(logging.INFO)
    try:
        from fastapi.exceptions import FastAPIDeprecationWarning
    except ImportError:  # older FastAPI: nothing to hide
        pass
    else:
        warnings.filterwarnings("ignore", category=FastAPIDeprecationWarning)
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _import_model_module(errors: list[BaseException]) -> None:
    try:
        import lcnet_ov.serving.model  # noqa: F401  (imports kserve)
    except BaseException as exc:  # re-raised in the main thread
        errors.append(exc)


def _hint_text(classifier: Any, options: ServeOptions) -> str:
    """``latency hint: 1 inference stream(s)``; the streams only where the device reports a
    count (AUTO, HETERO and MULTI raise for ``NUM_STREAMS``)."""
    text = f"{options.performance_hint.lower()} hint"
    try:
        streams = int(classifier.compiled_model.get_property("NUM_STREAMS"))
    except Exception:  # any device's refusal: the line just says less
        return text
    return f"{text}: {streams} inference stream(s)" if streams > 0 else text


def serve(options: ServeOptions, *, on_ready: Any = None) -> int:
    """Load, warm up, serve until SIGTERM/SIGINT/SIGQUIT, drain, close. Returns the exit code."""
    check_ports(options.host, options.http_port, options.grpc_port)
    check_tls_files(options.ssl_certfile, options.ssl_keyfile)
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
    try:
        server = build_server(model, options)
        _quiet_logs(options.access_log)
    except BaseException:
        model.close(timeout=options.grace_s)
        raise
    scheme, rpc = ("https", "grpcs") if options.tls else ("http", "grpc")
    guards = [
        f"{len(options.api_keys)} API key(s)" if options.api_keys else "no API key",
        "model control on" if options.enable_model_control else "model control off",
    ]
    message = (
        f"serving {model.name!r} ({model.classifier.metadata.precision}, "
        f"{model.num_classes} classes, {_hint_text(model.classifier, options)}) on "
        f"{scheme}://{options.host}:{options.http_port} and "
        f"{rpc} {options.host}:{options.grpc_port} ({', '.join(guards)}); loaded and warmed "
        f"up in {time.perf_counter() - t0:.2f} s"
    )
    print(message, file=sys.stderr, flush=True)
    if on_ready is not None:
        on_ready(model)
    try:
        server.start([model])
    finally:
        drained = model.close(timeout=options.grace_s)
    if not drained:
        print(f"stopped: the pipeline did not drain in {options.grace_s} s", file=sys.stderr)
        return 1
    print("stopped: every request received was answered", file=sys.stderr, flush=True)
    return 0
