"""Serving PP-LCNet over the Open Inference Protocol (KServe v2), and model-repository export.

* :mod:`~lcnet_ov.serving.tensors`: request tensors → images to classify, with every check a
  client can fail (pure numpy, no server imports);
* :mod:`~lcnet_ov.serving.gate`: the ASGI middleware in front of every REST route (API keys,
  the closed control plane, body limits, admission with 503 + ``Retry-After``);
* :mod:`~lcnet_ov.serving.model`: the ``kserve.Model`` backed by
  :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`, so concurrent requests share batches;
* :mod:`~lcnet_ov.serving.grpc_server`: the gRPC side (bind address, TLS, API keys, the same
  admission and error mapping);
* :mod:`~lcnet_ov.serving.server`: ``kserve.ModelServer`` (REST + gRPC + ``/metrics``) with the
  routes and limits ``lcnet-ov serve`` adds (binary BYTES, 4xx for bad requests, honest
  readiness, drain on SIGTERM/SIGINT/SIGQUIT);
* :mod:`~lcnet_ov.serving.repository`: OVMS / Triton model repositories for servers without Python;
* :mod:`~lcnet_ov.testing.server`: ``lcnet-ov serve`` as a child process (tests, benchmark).

Nothing here is imported by ``import lcnet_ov``; ``kserve`` is imported only when a server is
built (:func:`lcnet_ov.serving._kserve.kserve`).
"""

from __future__ import annotations

#: the request inputs the served model accepts, in the order ``/v2/models/{name}`` lists them
INPUT_NAMES = ("image", "pixels", "x")
#: the outputs it returns
OUTPUT_NAMES = ("probabilities", "class_ids", "scores", "label_names")
#: the OpenVINO performance hints a server takes (``serve --hint``, ``ServeOptions``)
PERFORMANCE_HINTS = ("THROUGHPUT", "LATENCY")
#: default ``topk`` request parameter
DEFAULT_TOPK = 5
#: an upper bound on images per request on every route (v2 infer, v1 :predict, classify):
#: keeps one request from occupying the whole pipeline
MAX_IMAGES_PER_REQUEST = 256
#: default limit of a binary request body (binary tensor data, the classify route) and of a
#: gRPC message: two 12 MP camera JPEGs, or 128 scanned pages of ~60 KB
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
#: default limit of a body that is parsed as JSON (v2 infer without binary data, v1
#: :predict): JSON numbers become Python objects and base64 strings are copied and decoded,
#: so such a body costs ~4x more memory than a binary one (below); a quarter of the limit
DEFAULT_MAX_JSON_BYTES = 2 * 1024 * 1024
#: peak RSS growth of the server per byte of body, measured by ``python -m
#: benchmarks.serve_memory`` (docs/serving.md, first request on a fresh server: JSON pixels
#: ~9x, v1 base64 13-14x, binary pixels ~2.3x) and rounded up: admission reserves body size x
#: this factor
JSON_INFLATION = 16
BINARY_INFLATION = 4
#: default budget of reserved request memory (body x inflation) over all REST requests in
#: flight; one request is always admitted when none is in flight
DEFAULT_MEMORY_BUDGET_BYTES = 512 * 1024 * 1024
#: default number of inference requests (REST) or RPCs (gRPC) in flight at once
DEFAULT_MAX_INFLIGHT = 64
#: default number of images admitted into the pipeline at once (a full 256-image request fits)
DEFAULT_MAX_PENDING_IMAGES = 512
#: the Retry-After sent with a 503 (seconds): the pipeline turns over in well under a second
RETRY_AFTER_S = 1
