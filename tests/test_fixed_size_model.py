"""A fixed-size, non-square model (80x160 text lines: ``ResizeImage: {size: [160, 80]}``, no
crop) through serve, bench and quantize: every place that used to read ``crop_size`` as the
network's input size now takes ``Preprocess.input_hw``.

The IR is a small real OpenVINO graph (conv → pool → fc → softmax) with an 80x160 input and the
metadata the converter writes for PaddleX's textline model (preprocessing and ``Topk`` from its
``inference.yml``).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov.bench.inputs import static_shape
from lcnet_ov.postprocess import Postprocess
from lcnet_ov.runtime.metadata import ModelMetadata, read_metadata, write_metadata
from lcnet_ov.zoo import TEXTLINE_LABELS, Preprocess

PP = Preprocess(resize_short=None, crop_size=None, resize_size=(160, 80))
HW = (80, 160)


def test_static_shape_fills_height_and_width_in_either_layout() -> None:
    assert static_shape([-1, 3, -1, -1], 4, HW) == (4, 3, 80, 160)
    assert static_shape([-1, -1, -1, 3], 2, HW) == (2, 80, 160, 3)  # folded u8 NHWC
    assert static_shape([1, 3, 80, 160], 8, (224, 224)) == (8, 3, 80, 160)  # declared wins


@pytest.fixture(scope="module")
def textline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import openvino as ov
    import openvino.opset13 as ops

    tmp = tmp_path_factory.mktemp("textline")
    rng = np.random.default_rng(2)
    x = ops.parameter([-1, 3, *HW], np.float32, name="x")
    w = rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32)
    y = ops.relu(ops.convolution(x, ops.constant(w), [2, 2], [1, 1], [1, 1], [1, 1]))
    y = ops.reduce_mean(y, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    y = ops.matmul(y, ops.constant(rng.normal(0, 2, (8, 2)).astype(np.float32)), False, False)
    model = ov.Model([ops.softmax(y, -1)], [x], "textline")
    post = Postprocess(kind="topk", topk=1, labels=TEXTLINE_LABELS)
    meta = ModelMetadata(name="textline", labels=TEXTLINE_LABELS, preprocess=PP, postprocess=post)
    write_metadata(model, meta)
    xml = tmp / "textline.xml"
    ov.save_model(model, str(xml), compress_to_fp16=False)
    data = tmp / "lines"
    data.mkdir()
    for i in range(12):  # wide text-line-like strips of various sizes
        img = cv2.resize(rng.integers(0, 256, (3, 9, 3), np.uint8), (300 + 7 * i, 48 + i))
        cv2.imwrite(str(data / f"line_{i:02d}.png"), img)
    return xml, data


@pytest.mark.slow
def test_bench_runs_a_fixed_size_model(textline, capsys) -> None:
    from lcnet_ov.cli import main

    xml, data = textline
    argv = ["bench", "--model", str(xml), "--iterations", "3", "--warmup", "1", "-q", "--json"]
    assert main(argv) == 0
    synthetic = json.loads(capsys.readouterr().out)
    assert main([*argv, "--input", str(data)]) == 0  # end to end: resize to 160x80, no crop
    files = json.loads(capsys.readouterr().out)
    assert synthetic and files


@pytest.mark.slow
def test_quantize_calibrates_at_80x160(textline, tmp_path) -> None:
    from lcnet_ov.export.quantization import quantize
    from lcnet_ov.runtime.classifier import Classifier

    xml, data = textline
    out = tmp_path / "textline_int8.xml"
    q = quantize(xml, data, subset_size=12, output=out, progress=False, force=True)
    assert q.metadata.precision == "int8" and q.metadata.preprocess.input_hw == HW
    assert read_metadata(out).postprocess.topk == 1
    with Classifier(out) as clf:
        (pred,) = clf.predict(next(data.iterdir()))
    assert len(pred.class_ids) == 1 and pred.label_names[0] in TEXTLINE_LABELS


@pytest.mark.slow
def test_serve_takes_80x160(textline, tmp_path) -> None:
    """A real server: warms up, advertises ``x`` as [N, 3, 80, 160], takes such tensors and
    classifies files as ``Classifier`` does."""
    from lcnet_ov import Classifier
    from lcnet_ov.testing.server import ServerProcess

    xml, data = textline
    page = next(data.iterdir())
    with Classifier(xml) as clf:
        (want,) = clf.predict(page)
    x = np.zeros((2, 3, *HW), np.float32)
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": list(x.shape),
                        "data": x.reshape(-1).tolist()}]}  # fmt: skip
    with ServerProcess(xml, env={"LCNET_OV_HOME": str(tmp_path / "home")}) as srv:
        meta = json.loads(srv.urlopen("/v2/models/textline").read())
        x_type = next(t for t in meta["inputs"] if t["name"] == "x")
        assert x_type["shape"] == [-1, 3, *HW]
        assert "input_hw=[80, 160]" in meta["parameters"]["preprocess"]
        one = json.loads(srv.urlopen("/v2/models/textline/classify", page.read_bytes()).read())
        assert one["class_ids"][0] == want.class_ids[0]
        headers = {"Content-Type": "application/json"}
        got = json.loads(
            srv.urlopen(
                "/v2/models/textline/infer", json.dumps(body).encode(), headers=headers
            ).read()
        )
        probs = next(o for o in got["outputs"] if o["name"] == "probabilities")
        assert probs["shape"] == [2, 2]
