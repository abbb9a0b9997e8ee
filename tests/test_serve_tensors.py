"""Request validation of `lcnet-ov serve`, without a server (lcnet_ov.serving.tensors)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from lcnet_ov.postprocess import topk
from lcnet_ov.results import Prediction
from lcnet_ov.serving.tensors import (
    RequestError,
    output_arrays,
    parse_request,
    parse_topk,
)


@dataclass
class Tensor:
    """Shaped like kserve's InferInput: name, datatype, shape, as_numpy()."""

    name: str
    datatype: str
    shape: Any
    data: Any

    def as_numpy(self) -> np.ndarray:
        dtype = {"BYTES": object, "UINT8": np.uint8, "FP32": np.float32}.get(self.datatype)
        return np.array(self.data, dtype=dtype).reshape(self.shape)


@dataclass
class Out:
    name: str


def parse(*tensors, params=None, outputs=None):
    return parse_request(list(tensors), params, outputs, input_hw=(4, 4), num_classes=3)


def test_valid_inputs():
    req = parse(Tensor("image", "BYTES", [2], [b"\xff\xd8a", base64.b64encode(b"png!").decode()]))
    assert req.items == (b"\xff\xd8a", b"png!") and req.topk == 3 and req.size == 2
    px = np.arange(2 * 5 * 6 * 3, dtype=np.uint8).reshape(2, 5, 6, 3)
    req = parse(Tensor("pixels", "UINT8", [2, 5, 6, 3], px), params={"topk": 2})
    assert req.topk == 2 and np.array_equal(req.items[1], px[1])
    req = parse(Tensor("x", "FP32", [1, 3, 4, 4], np.zeros((1, 3, 4, 4))), outputs=[Out("scores")])
    assert req.tensor.shape == (1, 3, 4, 4) and req.outputs == ("scores",)


@pytest.mark.parametrize(
    ("tensors", "kw", "needle"),
    [
        ((), {}, "exactly one input"),
        ((Tensor("img", "BYTES", [1], [b"a"]),), {}, "unknown input 'img'"),
        ((Tensor("image", "UINT8", [1], [1]),), {}, "datatype must be BYTES"),
        ((Tensor("image", "BYTES", [1, 1], [[b"a"]]),), {}, "shape must be [N]"),
        ((Tensor("image", "BYTES", [0], []),), {}, "empty batch"),
        ((Tensor("image", "BYTES", ["1"], [b"a"]),), {}, "list of integers"),
        ((Tensor("image", "BYTES", [-1], [b"a"]),), {}, "negative"),
        ((Tensor("image", "BYTES", [2], [b"a"]),), {}, "does not fit"),
        ((Tensor("image", "BYTES", [2], [b"a", b""]),), {}, "image[1]: empty"),
        ((Tensor("image", "BYTES", [1], ["%%"]),), {}, "image[0]: JSON BYTES"),
        ((Tensor("image", "BYTES", [1], [b"a"]),), {"params": {"topk": "two"}}, "topk"),
        ((Tensor("image", "BYTES", [1], [b"a"]),), {"params": {"topk": True}}, "topk"),
        ((Tensor("image", "BYTES", [1], [b"a"]),), {"outputs": [Out("logits")]}, "unknown output"),
        ((Tensor("pixels", "UINT8", [1, 2, 2, 4], np.zeros(16)),), {}, "[N, H, W, 3]"),
        ((Tensor("pixels", "UINT8", [1, 0, 2, 3], []),), {}, "H, W > 0"),
        ((Tensor("x", "FP32", [1, 3, 5, 5], np.zeros(75)),), {}, "[N, 3, 4, 4]"),
        ((Tensor("x", "FP32", [2, 3, 4, 4], [0.0] * 48 + [np.inf] * 48),), {}, "x[1]: contains"),
        ((Tensor("image", "BYTES", [300], [b"a"] * 300),), {}, "over the limit"),
    ],
)
def test_refusals_name_the_input_and_reason(tensors, kw, needle):
    with pytest.raises(RequestError) as info:
        parse(*tensors, **kw)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    "data", [[1.5] * 12, [1.0] * 12, [True] * 12, [300] * 12, [-1] * 12, [[1, 2, 3]] * 3 + [[1]]]
)
def test_json_pixels_must_be_integers_0_to_255(data):
    """numpy would truncate 1.5 to 1 and wrap 300: the pixels classified would not be the
    client's."""
    tensor = Tensor("pixels", "UINT8", [1, 2, 2, 3], data)
    with pytest.raises(RequestError, match="does not fit"):
        parse(tensor)
    ok = Tensor("pixels", "UINT8", [1, 2, 2, 3], list(range(12)))
    assert parse(ok).items[0].reshape(-1).tolist() == list(range(12))


def test_topk_is_clipped_to_the_class_count():
    assert parse_topk(None, 4) == 4 and parse_topk({"topk": 2}, 4) == 2
    assert parse_topk({"topk": "3"}, 1000) == 3


def test_output_arrays_rebuild_probabilities_from_full_rankings():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], dtype=np.float32)
    preds: list[Prediction] = topk(probs, 3, ["a", "b", "c"])
    out = output_arrays(preds, 2, 3)
    assert np.array_equal(out["probabilities"], probs)
    assert out["class_ids"].tolist() == [[1, 2], [0, 1]]  # ties: lower class id first
    assert out["scores"].tolist() == [[pytest.approx(0.7), pytest.approx(0.2)], [0.5, 0.25]]
    assert out["label_names"].tolist() == [[b"b", b"c"], [b"a", b"b"]]
    with pytest.raises(ValueError, match="ranks 2 of 3"):
        output_arrays(topk(probs, 2, ["a", "b", "c"]), 2, 3)
