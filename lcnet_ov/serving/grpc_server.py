"""The gRPC side of ``lcnet-ov serve``: kserve's ``InferenceServicer`` on a server we build.

kserve 0.21's ``GRPCServer`` binds ``[::]`` with ``add_insecure_port``, has no TLS, no
authentication and no bound on concurrent RPCs, and its ``RepositoryModelUnload`` lets anyone
who reaches the port unload the model. Built here instead:

* the address is ``--host``; with a certificate it is ``add_secure_port`` (TLS);
* ``maximum_concurrent_rpcs`` (``--max-inflight``): gRPC itself answers ``RESOURCE_EXHAUSTED``
  beyond it, and messages over ``--max-body-mb`` too, so memory held by received messages is
  bounded by their product; an inference then reserves its message size x the measured
  inflation from the memory budget REST requests share (:class:`~lcnet_ov.serving.gate.Budget`)
  and is answered ``UNAVAILABLE`` at once when it does not fit, before kserve decodes it;
* with API keys, metadata ``authorization: Bearer KEY`` is needed for every method but the
  health ones (``ServerLive``, ``ServerReady``, ``ModelReady``): ``UNAUTHENTICATED`` otherwise;
* ``RepositoryModelLoad``/``Unload`` answer ``PERMISSION_DENIED`` unless
  ``--enable-model-control``;
* errors map as on REST: a client's mistake ``INVALID_ARGUMENT`` (one log line), a full server
  ``UNAVAILABLE`` at once, anything else ``INTERNAL`` with one log line (kserve's interceptor
  maps its ``InferenceError`` to ``INVALID_ARGUMENT`` and logs a traceback per bad request).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ServerBusyError
from . import BINARY_INFLATION, JSON_INFLATION
from .gate import Budget, bearer_ok, key_digests, where

log = logging.getLogger("lcnet_ov.serve")
_HEALTH = frozenset({"ServerLive", "ServerReady", "ModelReady"})


def grpc_server_class() -> type:
    """The server class (built on first use: it imports kserve and grpc)."""
    import grpc
    from grpc import aio
    from grpc_interceptor.exceptions import GrpcException, PermissionDenied
    from kserve.errors import (
        InvalidInput,
        ModelNotFound,
        ModelNotReady,
        ServerNotLive,
        ServerNotReady,
        UnsupportedProtocol,
    )
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
    from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor
    from kserve.protocol.grpc.servicer import InferenceServicer

    class Servicer(InferenceServicer):
        def __init__(
            self, dataplane: Any, extension: Any, model_control: bool, budget: Budget
        ) -> None:
            super().__init__(dataplane, extension)
            self._model_control = model_control
            self._budget = budget

        async def ModelInfer(self, request: Any, context: Any) -> Any:
            # typed contents become Python lists in kserve's decoder, as JSON numbers do
            factor = BINARY_INFLATION if request.raw_input_contents else JSON_INFLATION
            cost = request.ByteSize() * factor
            if not self._budget.acquire(cost):
                raise ServerBusyError(self._budget.busy())
            try:
                return await super().ModelInfer(request, context)
            finally:
                self._budget.release(cost)

        async def RepositoryModelLoad(self, request: Any, context: Any) -> Any:
            self._check_control()
            return await super().RepositoryModelLoad(request, context)

        async def RepositoryModelUnload(self, request: Any, context: Any) -> Any:
            self._check_control()
            return await super().RepositoryModelUnload(request, context)

        def _check_control(self) -> None:
            if not self._model_control:
                raise PermissionDenied(
                    "the model repository API is off (lcnet-ov serve --enable-model-control)"
                )

    class Errors(ExceptionToStatusInterceptor):
        async def handle_exception(
            self, ex: Exception, request: Any, context: Any, method_name: str
        ) -> None:
            method = method_name.rsplit("/", 1)[-1]
            code = None
            if isinstance(ex, (InvalidInput, UnsupportedProtocol)):
                code = grpc.StatusCode.INVALID_ARGUMENT
            elif isinstance(ex, ModelNotFound):
                code = grpc.StatusCode.NOT_FOUND
            elif isinstance(ex, (ServerBusyError, ModelNotReady, ServerNotReady, ServerNotLive)):
                code = grpc.StatusCode.UNAVAILABLE
            elif isinstance(ex, NotImplementedError):
                code = grpc.StatusCode.UNIMPLEMENTED
            elif isinstance(ex, GrpcException):
                await super().handle_exception(ex, request, context, method_name)
                return
            if code is None:
                log.error(
                    "gRPC %s: INTERNAL: %s: %s (%s)", method, type(ex).__name__, ex, where(ex)
                )
                await context.abort(
                    grpc.StatusCode.INTERNAL, f"internal error ({type(ex).__name__})"
                )
            text = str(getattr(ex, "reason", None) or ex)
            log.warning("gRPC %s: %s: %s", method, code.name, text)
            await context.abort(code, text)

    class Auth(aio.ServerInterceptor):
        def __init__(self, keys: tuple[str, ...]) -> None:
            self._digests = key_digests(keys)

            async def deny(request: Any, context: Any) -> None:
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "missing or wrong API key: send metadata 'authorization: Bearer KEY'",
                )

            self._deny = grpc.unary_unary_rpc_method_handler(deny)

        async def intercept_service(self, continuation: Any, details: Any) -> Any:
            if details.method.rsplit("/", 1)[-1] in _HEALTH:
                return await continuation(details)
            metadata = dict(details.invocation_metadata or ())
            if bearer_ok(metadata.get("authorization"), self._digests):
                return await continuation(details)
            return self._deny

    class GRPCServer:
        """grpc.aio server for kserve's data plane (module doc); ``stop`` drains."""

        def __init__(self, options: Any, dataplane: Any, extension: Any, budget: Budget) -> None:
            self.options = options
            self._budget = budget
            self._dataplane = dataplane
            self._extension = extension
            self._server: Any = None

        async def start(self) -> None:
            o = self.options
            interceptors: list[Any] = [Errors()]
            if o.api_keys:
                interceptors.insert(0, Auth(o.api_keys))
            self._server = aio.server(
                ThreadPoolExecutor(max_workers=o.grpc_threads),
                interceptors=interceptors,
                maximum_concurrent_rpcs=o.max_inflight,
                options=[
                    ("grpc.max_send_message_length", o.max_body_bytes),
                    ("grpc.max_receive_message_length", o.max_body_bytes),
                ],
            )
            grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
                Servicer(self._dataplane, self._extension, o.enable_model_control, self._budget),
                self._server,
            )
            host = f"[{o.host}]" if ":" in o.host else o.host
            address = f"{host}:{o.grpc_port}"
            if o.tls:
                creds = grpc.ssl_server_credentials(
                    [(Path(o.ssl_keyfile).read_bytes(), Path(o.ssl_certfile).read_bytes())]
                )
                self._server.add_secure_port(address, creds)
            else:
                self._server.add_insecure_port(address)
            await self._server.start()
            await self._server.wait_for_termination()

        async def stop(self) -> None:
            if self._server is not None:
                await self._server.stop(grace=self.options.grace_s)

    return GRPCServer
