"""A tiny graph per post-processing kind (multi-label, attribute, threshold...), for the tests
that check a runtime applies each model's own post-processing (serve, streams).

Real family members would need Paddle and minutes per export; what these tests check is the
path from raw outputs to answers, so a 32×32 two-layer network ending in a Sigmoid, with the
kind and labels written into its ``rt_info`` exactly as a converted IR carries them, is enough.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..postprocess import Postprocess
from ..runtime.metadata import ModelMetadata, write_metadata
from ..zoo import Preprocess

#: the input these graphs take: 32×32 crops of images resized to a 32 px short side
PREPROCESS = Preprocess(resize_short=32, crop_size=32)


def kind_ir(
    folder: Path, name: str, classes: int, post: Postprocess, labels: tuple[str, ...]
) -> Path:
    """``folder/name.xml``: seeded conv → ReLU → mean → linear → Sigmoid with ``classes``
    outputs, described as a ``post`` model with ``labels`` (the same weights every call)."""
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(1)
    x = ops.parameter([-1, 3, 32, 32], np.float32, name="x")
    w = rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32)
    y = ops.relu(ops.convolution(x, ops.constant(w), [1, 1], [1, 1], [1, 1], [1, 1]))
    y = ops.reduce_mean(y, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    y = ops.matmul(y, ops.constant(rng.normal(0, 3, (8, classes)).astype(np.float32)), False, False)
    model = ov.Model([ops.sigmoid(y)], [x], name)
    meta = ModelMetadata(
        name=name, labels=labels, preprocess=PREPROCESS, postprocess=post,
        outputs_probabilities=False,
    )  # fmt: skip
    write_metadata(model, meta)
    xml = Path(folder) / f"{name}.xml"
    ov.save_model(model, str(xml), compress_to_fp16=False)
    return xml
