"""Request tensors → what to classify, and the outputs sent back.

Kept free of server imports so every rule a client can break is testable on its own and is
enforced the same way for REST and gRPC. Each check raises :class:`RequestError` with one line
naming the input (and element index, ``image[3]``) and the reason; the model turns it into
KServe's ``InvalidInput`` (HTTP 400, gRPC ``INVALID_ARGUMENT``).

Three input forms, exactly one per request:

``image``  BYTES  [N]           encoded files (JPEG/PNG/BMP/WebP/TIFF...), decoded and
                                preprocessed like ``lcnet-ov infer`` (same pixel limit and
                                aspect guard). Binary tensor data carries raw bytes; in JSON a
                                BYTES element is a string, so it must be base64.
``pixels`` UINT8  [N, H, W, 3]  BGR images of any size, resized and cropped like files.
``x``      FP32   [N, 3, H, W]  tensors already preprocessed ((H, W) = the model's input size).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..postprocess import Postprocess
from ..results import Prediction
from . import DEFAULT_TOPK, INPUT_NAMES, MAX_IMAGES_PER_REQUEST, OUTPUT_NAMES

_DATATYPES = {"image": "BYTES", "pixels": "UINT8", "x": "FP32"}


class RequestError(ValueError):
    """A request the server refuses: the message names the input/element and the reason."""


@dataclass(frozen=True)
class ParsedRequest:
    """What one request asks for. ``items`` are per-image sources (``bytes`` for ``image``,
    HxWx3 uint8 arrays for ``pixels``); ``tensor`` is the ``x`` batch."""

    input_name: str
    items: tuple[Any, ...] = ()
    tensor: np.ndarray | None = None
    topk: int = DEFAULT_TOPK
    outputs: tuple[str, ...] = OUTPUT_NAMES

    @property
    def size(self) -> int:
        return len(self.tensor) if self.tensor is not None else len(self.items)


def input_types(input_hw: tuple[int, int]) -> list[dict[str, Any]]:
    """``/v2/models/{name}`` inputs (``-1`` marks a free dimension)."""
    return [
        {"name": "image", "datatype": "BYTES", "shape": [-1]},
        {"name": "pixels", "datatype": "UINT8", "shape": [-1, -1, -1, 3]},
        {"name": "x", "datatype": "FP32", "shape": [-1, 3, *input_hw]},
    ]


def output_names(post: Postprocess) -> tuple[str, ...]:
    """What a model answers: the four outputs, plus ``attributes`` for attribute decoders."""
    return (*OUTPUT_NAMES, "attributes") if post.kind in ATTRIBUTE_KINDS else OUTPUT_NAMES


def output_types(num_classes: int, post: Postprocess | None = None) -> list[dict[str, Any]]:
    types = [
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, num_classes]},
        {"name": "class_ids", "datatype": "INT64", "shape": [-1, -1]},
        {"name": "scores", "datatype": "FP32", "shape": [-1, -1]},
        {"name": "label_names", "datatype": "BYTES", "shape": [-1, -1]},
    ]
    if post is not None and post.kind in ATTRIBUTE_KINDS:
        types.append({"name": "attributes", "datatype": "BYTES", "shape": [-1]})
    return types


def _shape(tensor: Any) -> list[int]:
    shape = tensor.shape
    if not isinstance(shape, Sequence) or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape
    ):
        raise RequestError(f"input '{tensor.name}': shape must be a list of integers, got {shape}")
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise RequestError(f"input '{tensor.name}': negative dimension in shape {dims}")
    return dims


def _check_json_uint8(tensor: Any) -> None:
    """JSON ``data`` for a UINT8 input must be integers 0-255: numpy would silently truncate
    ``1.7`` to ``1`` (and kserve's decoder lets it through), classifying other pixels than the
    client sent."""
    data = getattr(tensor, "data", None)
    if not isinstance(data, list):  # binary data, or gRPC's typed uint_contents
        return
    try:
        probe = np.asarray(data)
    except ValueError as exc:  # ragged nesting
        raise RequestError(f"input '{tensor.name}': data does not fit its shape ({exc})") from exc
    bad = None
    if probe.size and probe.dtype.kind not in "iu":
        flat = probe.reshape(-1)
        bad = next(
            (v for v in flat.tolist() if isinstance(v, bool) or not isinstance(v, int)), None
        )
        bad = flat[0] if bad is None else bad
    elif probe.size and (probe.min() < 0 or probe.max() > 255):
        bad = int(probe.max()) if probe.max() > 255 else int(probe.min())
    if bad is not None:
        raise RequestError(
            f"input '{tensor.name}': data does not fit datatype UINT8: JSON numbers must be "
            f"integers 0-255, got {bad!r}"
        )


def _array(tensor: Any, dims: list[int]) -> np.ndarray:
    """The tensor's data as numpy, with a mismatch between data and shape reported as such."""
    if tensor.name == "pixels":
        _check_json_uint8(tensor)
    try:
        arr = tensor.as_numpy()
    except Exception as exc:  # ValueError (reshape), OverflowError, struct.error, InvalidInput
        raise RequestError(
            f"input '{tensor.name}': data does not fit datatype {tensor.datatype} and shape "
            f"{dims} ({type(exc).__name__}: {exc})"
        ) from exc
    if list(arr.shape) != dims:
        raise RequestError(
            f"input '{tensor.name}': data has shape {list(arr.shape)}, header says {dims}"
        )
    return arr


def _image_bytes(element: Any, index: int) -> bytes:
    if isinstance(element, (bytes, bytearray, memoryview)):
        return bytes(element)
    if isinstance(element, str):  # JSON BYTES elements are strings: base64 for binary files
        try:
            return base64.b64decode(element, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestError(
                f"image[{index}]: JSON BYTES elements must be base64-encoded files ({exc}); "
                "or send binary tensor data"
            ) from exc
    raise RequestError(f"image[{index}]: expected bytes, got {type(element).__name__}")


def parse_topk(parameters: Mapping[str, Any] | None, num_classes: int) -> int:
    """The ``topk`` request parameter: an integer ≥ 1, clipped to the class count."""
    value = (parameters or {}).get("topk", DEFAULT_TOPK)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise RequestError(f"parameter 'topk' must be an integer >= 1, got {value!r}")
    return min(int(value), num_classes)


def parse_outputs(
    requested: Sequence[Any] | None, known: tuple[str, ...] = OUTPUT_NAMES
) -> tuple[str, ...]:
    if not requested:
        return known
    names = tuple(out.name for out in requested)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RequestError(f"unknown output {unknown[0]!r}; this model returns {', '.join(known)}")
    return names


def parse_request(
    inputs: Sequence[Any],
    parameters: Mapping[str, Any] | None,
    requested_outputs: Sequence[Any] | None,
    *,
    input_hw: tuple[int, int],
    num_classes: int,
    outputs: tuple[str, ...] = OUTPUT_NAMES,
) -> ParsedRequest:
    """Validate a request's tensors (kserve ``InferInput``-like: name, datatype, shape,
    ``as_numpy()``) and return what to classify; raises :class:`RequestError`."""
    if len(inputs) != 1:
        raise RequestError(
            f"expected exactly one input (one of {', '.join(INPUT_NAMES)}), got {len(inputs)}"
        )
    tensor = inputs[0]
    name = tensor.name
    if name not in _DATATYPES:
        raise RequestError(f"unknown input {name!r}; expected one of {', '.join(INPUT_NAMES)}")
    want = _DATATYPES[name]
    if str(tensor.datatype).upper() != want:
        raise RequestError(f"input '{name}': datatype must be {want}, got {tensor.datatype}")
    dims = _shape(tensor)
    rank = {"image": 1, "pixels": 4, "x": 4}[name]
    h, w = input_hw
    if len(dims) != rank:
        expect = {"image": "[N]", "pixels": "[N, H, W, 3]", "x": f"[N, 3, {h}, {w}]"}
        raise RequestError(f"input '{name}': shape must be {expect[name]}, got {dims}")
    n = dims[0]
    if n == 0:
        raise RequestError(f"input '{name}': empty batch (shape {dims}); send at least one image")
    if n > MAX_IMAGES_PER_REQUEST:
        raise RequestError(
            f"input '{name}': {n} images in one request, over the limit of "
            f"{MAX_IMAGES_PER_REQUEST}; split it"
        )
    if name == "pixels" and (dims[3] != 3 or dims[1] == 0 or dims[2] == 0):
        raise RequestError(f"input 'pixels': shape must be [N, H, W, 3] with H, W > 0, got {dims}")
    if name == "x" and dims[1:] != [3, h, w]:
        raise RequestError(f"input 'x': shape must be [N, 3, {h}, {w}], got {dims}")
    topk = parse_topk(parameters, num_classes)
    outputs = parse_outputs(requested_outputs, outputs)
    arr = _array(tensor, dims)

    if name == "image":
        items = tuple(_image_bytes(e, i) for i, e in enumerate(arr.reshape(-1).tolist()))
        for i, data in enumerate(items):
            if not data:
                raise RequestError(f"image[{i}]: empty element, not an image")
        return ParsedRequest(name, items=items, topk=topk, outputs=outputs)
    if name == "pixels":
        items = tuple(np.ascontiguousarray(arr[i]) for i in range(n))
        return ParsedRequest(name, items=items, topk=topk, outputs=outputs)
    x = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(x.reshape(n, -1)).all(axis=1)
    if not finite.all():
        raise RequestError(f"x[{int(np.argmin(finite))}]: contains NaN or infinite values")
    return ParsedRequest(name, tensor=x, topk=topk, outputs=outputs)


def output_arrays(
    predictions: Sequence[Prediction], k: int, num_classes: int
) -> dict[str, np.ndarray]:
    """The four outputs from full-length predictions (every class, ranked by
    :func:`lcnet_ov.postprocess.topk`): ``probabilities`` scatters the scores back by class id,
    the top-k outputs are each prediction's first ``k`` entries."""
    n = len(predictions)
    probs = np.zeros((n, num_classes), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    names = np.empty((n, k), dtype=object)
    for r, pred in enumerate(predictions):
        if len(pred.class_ids) != num_classes:
            raise ValueError(f"prediction {r} ranks {len(pred.class_ids)} of {num_classes} classes")
        probs[r, list(pred.class_ids)] = pred.scores
        ids[r] = pred.class_ids[:k]
        names[r] = [s.encode("utf-8") for s in pred.label_names[:k]]
    scores = np.take_along_axis(probs, ids, axis=1)
    return {"probabilities": probs, "class_ids": ids, "scores": scores, "label_names": names}


#: post-processing kinds whose results carry decoded attributes (the ``attributes`` output)
ATTRIBUTE_KINDS = ("person_attribute", "vehicle_attribute")


def kind_output_arrays(
    predictions: Sequence[Prediction], post: Postprocess, labels: Sequence[str], num_classes: int
) -> dict[str, np.ndarray]:
    """Outputs of a model that is not a top-k classifier (multi-label, binary threshold,
    attributes), from full-length predictions: ``probabilities`` as for top-k; the model's own
    post-processing on them (exactly ``lcnet-ov infer``'s answer) gives each image's
    ``class_ids``/``scores``/``label_names``, a variable number per image, so they are
    ``[N, M]`` with ``M`` the batch's longest answer (at least 1), padded with ``-1`` (ids,
    scores) and empty strings (names); ``attributes`` (attribute models) is ``[N]`` BYTES, one
    JSON document per image (PaddleClas' ``{"attributes": ..., "output": [...]}``)."""
    n = len(predictions)
    probs = np.zeros((n, num_classes), dtype=np.float32)
    for r, pred in enumerate(predictions):
        if len(pred.class_ids) != num_classes:
            raise ValueError(f"prediction {r} ranks {len(pred.class_ids)} of {num_classes} classes")
        probs[r, list(pred.class_ids)] = pred.scores
    answers = post.apply(probs, labels=labels) if n else []
    m = max([1, *(len(a.class_ids) for a in answers)])
    ids = np.full((n, m), -1, dtype=np.int64)
    scores = np.full((n, m), -1.0, dtype=np.float32)
    names = np.full((n, m), b"", dtype=object)
    for r, a in enumerate(answers):
        c = len(a.class_ids)
        ids[r, :c] = a.class_ids
        scores[r, :c] = a.scores
        names[r, :c] = [s.encode("utf-8") for s in a.label_names]
    out = {"probabilities": probs, "class_ids": ids, "scores": scores, "label_names": names}
    if post.kind in ATTRIBUTE_KINDS:
        docs = [json.dumps(a.attributes, ensure_ascii=False).encode("utf-8") for a in answers]
        out["attributes"] = np.array(docs, dtype=object).reshape(n)
    return out
