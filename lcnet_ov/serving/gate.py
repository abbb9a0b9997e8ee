"""The ASGI middleware in front of every REST route of ``lcnet-ov serve``.

One pass over the request head decides, before any route (kserve's or ours) reads a byte of
the body:

* **Control plane closed.** kserve registers the model repository extension
  (``POST /v2/repository/models/{name}/load|unload``) on every server; unloading needs no
  credentials and cannot be undone from outside, so those routes are 404 unless the operator
  passed ``--enable-model-control``. Versioned routes (``/v2/models/{name}/versions/...``), which
  kserve answers 501 with a traceback, are 404 with a message naming the unversioned route.
* **API keys.** With keys configured, every route but the health probes (``/``,
  ``/v2/health/*``, the per-model ready routes) needs ``Authorization: Bearer KEY``; ``/metrics``
  too unless ``metrics_public``. Keys are compared as SHA-256 digests with
  :func:`hmac.compare_digest` against every key (constant time in the key's content, and in which
  key matched); the header is never logged.
* **Body limits.** A body parsed as JSON (v2 infer without binary data, v1 ``:predict``) has a
  lower limit than a binary one: JSON numbers become Python objects, 9-14x their text in
  memory against ~2x for binary data (measured: ``python -m benchmarks.serve_memory``). Over
  the limit: 413, by ``Content-Length`` at once or while a chunked body streams in.
* **Admission.** Inference requests in flight are bounded by a count and by a memory budget
  (each reserves its body size x the measured inflation of its kind); a request over either is
  answered **503 with Retry-After** at once instead of queueing. One request is always admitted
  when none is in flight, so every request under the body limit can run.
* **Errors.** :class:`~lcnet_ov.errors.ServerBusyError` from the model (its image queue is full)
  is a 503 with ``Retry-After``; any other exception escaping a route is a bug of ours: 500 with
  one log line naming the exception and where it was raised (Starlette would log the traceback
  twice and kserve's handler would put the exception text in the reply).

Pure ASGI (no Starlette request objects), so it costs a dict lookup per request and can be
tested without kserve.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import ServerBusyError
from . import BINARY_INFLATION, JSON_INFLATION, RETRY_AFTER_S

log = logging.getLogger("lcnet_ov.serve")

_OPEN = re.compile(r"^(/|/v2/health/(live|ready)|/v2/models/[^/]+/ready|/v1/models/[^/:]+)$")
_CONTROL = re.compile(r"^/v2/repository(/|$)")
_VERSIONED = re.compile(r"^/v2/models/([^/]+)/versions/")
_BINARY_ROUTES = re.compile(r"^/v2/models/[^/]+/classify$")
_INFER = re.compile(r"^/v2/models/[^/]+/infer$")
_NO_KEY = "missing or wrong API key: send 'Authorization: Bearer KEY'"


@dataclass(frozen=True)
class GatePolicy:
    """What the gate enforces (built from :class:`~lcnet_ov.serving.options.ServeOptions`)."""

    max_body: int
    max_json_body: int
    max_inflight: int
    memory_budget: int
    model_control: bool = False
    metrics_public: bool = False
    api_keys: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_options(cls, options: Any) -> GatePolicy:
        return cls(
            max_body=options.max_body_bytes,
            max_json_body=options.max_json_bytes,
            max_inflight=options.max_inflight,
            memory_budget=options.memory_budget_bytes,
            model_control=options.enable_model_control,
            metrics_public=options.metrics_public,
            api_keys=options.api_keys,
        )


class _TooLarge(Exception):
    pass


class Budget:
    """Requests in flight and the memory they reserved, shared by REST (the gate) and gRPC
    (:mod:`~lcnet_ov.serving.grpc_server`). Used from the event loop only, so no lock."""

    def __init__(self, max_inflight: int, memory: int) -> None:
        self.max_inflight = max_inflight
        self.memory = memory
        self.inflight = 0
        self.reserved = 0

    def acquire(self, cost: int) -> bool:
        """Admit a request costing ``cost`` bytes, or ``False``: over the count, or over the
        memory while another request is in flight (a lone request is always admitted)."""
        if self.inflight >= self.max_inflight or (
            self.inflight and self.reserved + cost > self.memory
        ):
            return False
        self.inflight += 1
        self.reserved += cost
        return True

    def release(self, cost: int) -> None:
        self.inflight -= 1
        self.reserved -= cost

    def busy(self) -> str:
        return f"server busy ({self.inflight} requests in flight); retry after {RETRY_AFTER_S} s"


def key_digests(keys: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(hashlib.sha256(k.encode()).digest() for k in keys)


def bearer_ok(header: bytes | str | None, digests: tuple[bytes, ...]) -> bool:
    """``Bearer KEY`` matching one of ``digests``, compared in constant time against all."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    scheme, _, token = (header or "").strip().partition(" ")
    given = hashlib.sha256(token.strip().encode("utf-8", "replace")).digest()
    ok = False
    for digest in digests:  # no early exit: the time does not say which key matched
        ok |= hmac.compare_digest(given, digest)
    return ok and scheme.lower() == "bearer"


def where(exc: BaseException) -> str:
    """``file:line in function`` of the innermost frame that raised ``exc``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}"


class Gate:
    """The middleware (module doc). ``ready`` is not its concern: see ``server.py``."""

    def __init__(self, app: Any, policy: GatePolicy, budget: Budget | None = None) -> None:
        self.app = app
        self.policy = policy
        self._digests = key_digests(policy.api_keys)
        self.budget = budget or Budget(policy.max_inflight, policy.memory_budget)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        policy = self.policy
        if _CONTROL.match(path) and not policy.model_control:
            await reply(send, 404, "not found (the model repository API is off: "
                        "lcnet-ov serve --enable-model-control)")  # fmt: skip
            return
        versioned = _VERSIONED.match(path)
        if versioned:
            name = versioned.group(1)
            await reply(send, 404, f"model versions are not served; use /v2/models/{name}/...")
            return
        headers = dict(scope.get("headers") or [])
        guarded = not _OPEN.match(path) and (path != "/metrics" or not policy.metrics_public)
        if (
            self._digests
            and guarded
            and not bearer_ok(headers.get(b"authorization"), self._digests)
        ):
            challenge = [(b"www-authenticate", b"Bearer")]
            await reply(send, 401, _NO_KEY, challenge)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self._run(scope, receive, send)
            return
        binary = bool(_BINARY_ROUTES.match(path)) or (
            bool(_INFER.match(path)) and b"inference-header-content-length" in headers
        )
        limit = policy.max_body if binary else policy.max_json_body
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._discard(receive, int(length) if length.isdigit() else 0, limit)
            kind, option = (
                ("binary bodies", "--max-body-mb") if binary else ("JSON", "--max-json-mb")
            )
            text = f"request body is {length.decode()} bytes, over the limit of {limit} for {kind}"
            await reply(send, 413, f"{text} (lcnet-ov serve {option})")
            return
        size = int(length) if length is not None else limit
        cost = size * (BINARY_INFLATION if binary else JSON_INFLATION)
        if not self.budget.acquire(cost):
            await self._discard(receive, size, limit)
            await reply(send, 503, self.budget.busy(), retry_after=True)
            return
        try:
            await self._run(scope, self._limited(receive, limit), send, receive, limit)
        finally:
            self.budget.release(cost)

    def _limited(self, receive: Callable, limit: int) -> Callable:
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        return limited_receive

    async def _run(
        self,
        scope: dict,
        receive: Callable,
        send: Callable,
        raw_receive: Callable | None = None,
        limit: int = 0,
    ) -> None:
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except _TooLarge:
            if not started:
                # a chunked body cut off at the limit: read and drop what the client is still
                # sending (up to 8x the limit) so it reads the 413, not a connection reset
                if raw_receive is not None:
                    await self._discard(raw_receive, 0, limit)
                await reply(send, 413, f"request body is over the limit of {limit} bytes")
        except ServerBusyError as exc:
            if not started:
                await reply(send, 503, str(exc), retry_after=True)
        except Exception as exc:
            log.error(
                "500 on %s %s: %s: %s (%s)",
                scope["method"], scope["path"], type(exc).__name__, exc, where(exc),
            )  # fmt: skip
            if not started:
                await reply(send, 500, f"internal error ({type(exc).__name__}); see the server log")

    @staticmethod
    async def _discard(receive: Callable, length: int, limit: int) -> None:
        """Read and drop a refused body (nothing is kept) so the client, still sending, reads
        the reply instead of a connection reset; past 8x the limit it is cut off instead."""
        if length > 8 * limit:
            return
        seen = 0
        while seen <= 8 * limit:
            message = await receive()
            seen += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                return


async def reply(
    send: Callable,
    status: int,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    retry_after: bool = False,
) -> None:
    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status in (413, 503):
        headers.append((b"connection", b"close"))
    if retry_after:
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
