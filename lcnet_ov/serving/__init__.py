"""Serving PP-LCNet over the Open Inference Protocol (KServe v2), and model-repository export.

* :mod:`~lcnet_ov.serving.tensors`: request tensors → images to classify, with every check a
  client can fail (pure numpy, no server imports);
* :mod:`~lcnet_ov.serving.model`: the ``kserve.Model`` backed by
  :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`, so concurrent requests share batches;
* :mod:`~lcnet_ov.serving.server`: ``kserve.ModelServer`` (REST + gRPC + ``/metrics``) with the
  routes and limits ``lcnet-ov serve`` adds (binary BYTES, 4xx for bad requests, body limit,
  bind address, a curl route, drain on SIGTERM);
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
#: default ``topk`` request parameter
DEFAULT_TOPK = 5
#: default request body limit (bytes): 64 JPEGs of ~1 MB
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
