"""REST pieces ``lcnet-ov serve`` adds in front of kserve's own routes.

Why not kserve's ``/v2/models/{name}/infer`` as is (kserve 0.21, measured): its binary-tensor
decoder turns every BYTES element into a UTF-8 ``str`` (``set_data_from_numpy(binary_data=False)``
on the request), so a JPEG sent the way ``tritonclient`` sends it fails with HTTP 500; and
malformed binary framing (a short body, bad lengths) surfaces as 500 too. The route here parses
the same wire format (JSON header + ``Inference-Header-Content-Length`` + raw buffers) into
kserve's own ``InferRequest`` and then runs kserve's data plane (model lookup, metrics, the
response encoder), so only the decoding differs. Registered before kserve's routes, it wins the
match; everything else (health, ``/metrics``, v1 ``:predict``, gRPC) is kserve's.

Also here: the model-metadata route that adds the labels as ``parameters``, and
``POST /v2/models/{name}/classify``, which takes a raw image file as the body so a person with
``curl --data-binary @file`` needs no base64 or JSON. Limits, keys and admission are the
gate's (:mod:`~lcnet_ov.serving.gate`), in front of every route. JSON replies are built with
orjson into plain ``Response`` objects (FastAPI deprecates ``ORJSONResponse``).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request  # resolved by name in route signatures (postponed annotations)
from fastapi.responses import Response

from .tensors import RequestError, parse_topk

log = logging.getLogger("lcnet_ov.serve")
JSON_LENGTH_HEADER = "inference-header-content-length"


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def _field(obj: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RequestError(
            f"{where}: '{key}' is missing or not a {getattr(kind, '__name__', kind)}"
        )
    return value


def parse_rest_body(body: bytes, json_length: str | None, model_name: str) -> Any:
    """An OIP REST body (JSON, or JSON + binary tensors) → kserve ``InferRequest``."""
    from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput

    if json_length is None:
        header_bytes, tail = body, b""
    else:
        if not json_length.strip().isdigit() or int(json_length) > len(body):
            raise RequestError(
                f"Inference-Header-Content-Length {json_length!r} does not fit a "
                f"{len(body)}-byte body"
            )
        header_bytes, tail = body[: int(json_length)], body[int(json_length) :]
    try:
        header = orjson.loads(header_bytes)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"request is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise RequestError("request JSON must be an object with an 'inputs' list")
    specs = _field(header, "inputs", list, "request")
    inputs, raws, offset = [], [], 0
    for i, spec in enumerate(specs):
        where = f"inputs[{i}]"
        if not isinstance(spec, dict):
            raise RequestError(f"{where}: must be an object")
        name = _field(spec, "name", str, where)
        datatype = _field(spec, "datatype", str, where)
        shape = _field(spec, "shape", list, where)
        params = spec.get("parameters") or {}
        if not isinstance(params, dict):
            raise RequestError(f"input '{name}': 'parameters' must be an object")
        size = params.get("binary_data_size")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise RequestError(f"input '{name}': binary_data_size must be an integer >= 0")
            if offset + size > len(tail):
                raise RequestError(
                    f"input '{name}': binary_data_size {size} runs past the end of the body "
                    f"({len(tail) - offset} bytes left)"
                )
            raws.append(tail[offset : offset + size])
            offset += size
            data = None
        elif "data" in spec:
            data = spec["data"]
            if not isinstance(data, list):
                raise RequestError(f"input '{name}': 'data' must be a list")
        else:
            raise RequestError(f"input '{name}': neither 'data' nor binary_data_size given")
        params = {k: v for k, v in params.items() if k != "binary_data_size"}
        inputs.append(
            InferInput(name=name, shape=shape, datatype=datatype, data=data, parameters=params)
        )
    if raws and len(raws) != len(inputs):
        raise RequestError("mixing binary and JSON inputs in one request is not supported")
    if offset != len(tail):
        raise RequestError(f"{len(tail) - offset} bytes after the last binary input")
    outputs = header.get("outputs")
    requested = None
    if outputs is not None:
        if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
        ):
            raise RequestError("'outputs' must be a list of objects with a 'name'")
        requested = [RequestedOutput(o["name"], o.get("parameters") or {}) for o in outputs]
    parameters = header.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise RequestError("'parameters' must be an object")
    request_id = header.get("id")
    return InferRequest(
        model_name=model_name,
        infer_inputs=inputs,
        request_id=str(request_id) if request_id is not None else None,
        raw_inputs=raws or None,
        parameters=parameters,
        request_outputs=requested,
    )


def add_routes(app: Any, dataplane: Any) -> None:
    """Register the routes described in the module doc on kserve's FastAPI ``app``."""
    from kserve.errors import InvalidInput, ModelNotReady

    async def ready_model(model_name: str) -> Any:
        """The registered model, or kserve's 404 (unknown) / 503 (not ready, e.g. draining)."""
        if not await dataplane.model_ready(model_name, True):
            raise ModelNotReady(model_name)
        return dataplane.get_model_from_registry(model_name)

    def bad_request(exc: Exception) -> Response:
        log.warning("400: %s", exc)
        return _json({"error": str(exc)}, 400)

    async def infer(request: Request, model_name: str) -> Response:
        headers = dict(request.headers)
        await ready_model(model_name)
        try:
            infer_request = parse_rest_body(
                await request.body(), headers.get(JSON_LENGTH_HEADER), model_name
            )
            response, _ = await dataplane.infer(model_name, infer_request, headers)
            response, extra = dataplane.encode(model_name, response, headers, {})
        except (RequestError, InvalidInput) as exc:
            return bad_request(exc)
        if isinstance(response, bytes):
            return Response(
                response,
                media_type="application/octet-stream",
                headers={JSON_LENGTH_HEADER: extra[JSON_LENGTH_HEADER]},
            )
        return _json(response)

    async def metadata(model_name: str) -> Response:
        meta = await dataplane.model_metadata(model_name)
        model = dataplane.get_model_from_registry(model_name)
        params = model.parameters() if callable(getattr(model, "parameters", None)) else {}
        return _json({**meta, "parameters": params})

    async def classify(request: Request, model_name: str) -> Response:
        model = await ready_model(model_name)
        try:
            k = parse_topk(dict(request.query_params), model.num_classes)
            body = await request.body()
            if not body:
                raise RequestError("empty body: send the image file itself (--data-binary @f)")
            preds = await model.classify_files([body], k)
        except (RequestError, InvalidInput) as exc:
            return bad_request(exc)
        return _json(preds[0])

    app.add_api_route("/v2/models/{model_name}/infer", infer, methods=["POST"])
    app.add_api_route("/v2/models/{model_name}", metadata, methods=["GET"])
    app.add_api_route("/v2/models/{model_name}/classify", classify, methods=["POST"])
