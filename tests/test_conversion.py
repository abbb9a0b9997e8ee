"""Conversion through the real paths: Paddle → paddle2onnx → OpenVINO, OpenVINO's Paddle
frontend, checkpoints, Paddle 3 PIR programs and ONNX, each checked numerically."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest

from lcnet_ov import zoo
from lcnet_ov.errors import ConversionError, InvalidModelFileError, UnknownModelError
from lcnet_ov.export.arch import SCALES
from lcnet_ov.export.conversion import ConvertOptions, convert
from lcnet_ov.export.verify import (
    onnxruntime_inference,
    openvino_inference,
    paddle_inference,
    sample_images,
)
from lcnet_ov.inputs.preprocess import normalize
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.runtime.metadata import read_metadata

PP = zoo.Preprocess()


def _inputs(batch: int = 3, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    images = sample_images(batch, 224, seed=seed)
    return images, normalize(images, PP)


def _top5(p: np.ndarray) -> list[list[int]]:
    return [list(np.argsort(-row, kind="stable")[:5]) for row in p]


@pytest.mark.slow
@pytest.mark.parametrize("scale", SCALES)
def test_every_scale_matches_paddle_inference(scale, paddle_models, tmp_path):
    folder = paddle_models.inference_dir(scale, seed=int(scale * 100))
    result = convert(folder, tmp_path / "m.xml")
    assert result.verification is not None and result.verification.passed
    # an independent check with other inputs than the converter's own verification
    _, x = _inputs(seed=int(scale * 10))
    ref = paddle_inference(folder / "inference.pdmodel", folder / "inference.pdiparams", x)
    out = openvino_inference(result.xml, x, precision="f32")
    assert np.abs(ref - out).max() <= 1e-5
    assert _top5(ref) == _top5(out)
    # the reference is a non-degenerate classifier output: peaked rows that depend on the input
    assert ref.shape == (3, 1000)
    assert (ref.max(1) / ref.min(1)).min() > 2
    assert np.abs(ref[0] - ref[1]).max() > 1e-4


@pytest.mark.slow
def test_paddle_frontend_and_onnx_route_agree(paddle_models, tmp_path):
    folder = paddle_models.inference_dir(1.0, seed=3)
    via_onnx = convert(folder, tmp_path / "onnx.xml")
    via_paddle = convert(folder, tmp_path / "paddle.xml", options=ConvertOptions(route="paddle"))
    assert via_paddle.metadata.source["route"] == "paddle"
    _, x = _inputs()
    a = openvino_inference(via_onnx.xml, x)
    b = openvino_inference(via_paddle.xml, x)
    assert np.abs(a - b).max() <= 1e-5 and _top5(a) == _top5(b)


@pytest.mark.slow
def test_training_checkpoint_matches_its_exported_model(paddle_models, tmp_path):
    ckpt = paddle_models.pdparams(0.5, seed=11)
    folder = paddle_models.inference_dir(0.5, seed=11)
    result = convert(ckpt, tmp_path / "ckpt.xml")  # scale detected from shapes
    assert result.metadata.name == "PPLCNet_x0_5"
    assert result.verification.passed
    _, x = _inputs()
    ref = paddle_inference(folder / "inference.pdmodel", folder / "inference.pdiparams", x)
    assert np.abs(openvino_inference(result.xml, x) - ref).max() <= 1e-5


@pytest.mark.slow
def test_checkpoint_with_custom_classes(paddle_models, tmp_path):
    ckpt = paddle_models.pdparams(0.25, seed=2, num_classes=4)
    result = convert(ckpt, tmp_path / "c4.xml")
    assert result.metadata.num_classes == 4
    assert result.metadata.labels == ("class_0", "class_1", "class_2", "class_3")


def test_checkpoint_with_wrong_model_name_is_refused(paddle_models, tmp_path):
    ckpt = paddle_models.pdparams(0.25, seed=2)
    with pytest.raises(InvalidModelFileError, match="shape"):
        convert(ckpt, tmp_path / "bad.xml", model="PPLCNet_x1_0")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_paddle3_pir_program(paddle_models, tmp_path):
    folder = paddle_models.inference_dir(0.35, seed=4, pir=True)
    assert (folder / "inference.json").is_file() and not (folder / "inference.pdmodel").exists()
    result = convert(folder, tmp_path / "pir.xml")
    assert result.verification.passed
    legacy = paddle_models.inference_dir(0.35, seed=4)
    _, x = _inputs()
    ref = paddle_inference(legacy / "inference.pdmodel", legacy / "inference.pdiparams", x)
    assert np.abs(openvino_inference(result.xml, x) - ref).max() <= 1e-5
    with pytest.raises(ConversionError, match=r"legacy \.pdmodel"):
        convert(folder, tmp_path / "x.xml", options=ConvertOptions(route="paddle"))


@pytest.mark.slow
def test_embedded_preprocessing_matches_numpy_path(paddle_models, tmp_path):
    folder = paddle_models.inference_dir(0.75, seed=5)
    plain = convert(folder, tmp_path / "plain.xml")
    folded = convert(folder, tmp_path / "u8.xml", options=ConvertOptions(embed_preprocessing=True))
    model = shared_core().read_model(folded.xml)
    assert model.input(0).get_element_type() == ov.Type.u8
    assert str(model.input(0).get_partial_shape()) == "[?,224,224,3]"
    images, x = _inputs()
    a = openvino_inference(plain.xml, x)
    b = openvino_inference(folded.xml, images)
    assert np.abs(a - b).max() <= 1e-5
    assert read_metadata(folded.xml).embedded_preprocessing is True


@pytest.mark.slow
def test_static_batch_and_fp16_weights(paddle_models, tmp_path):
    folder = paddle_models.inference_dir(1.0, seed=3)
    fp32 = convert(folder, tmp_path / "fp32.xml")
    fp16 = convert(
        folder, tmp_path / "fp16.xml", options=ConvertOptions(batch_size=1, compress_to_fp16=True)
    )
    model = shared_core().read_model(fp16.xml)
    assert str(model.input(0).get_partial_shape()) == "[1,3,224,224]"
    assert str(shared_core().read_model(fp32.xml).input(0).get_partial_shape()) == "[?,3,224,224]"
    assert fp16.bin.stat().st_size < 0.6 * fp32.bin.stat().st_size
    assert fp16.metadata.precision == "fp16"
    assert fp16.verification.passed and fp16.verification.top1_agree


@pytest.mark.slow
def test_metadata_describes_the_ir(paddle_models, tmp_path):
    folder = paddle_models.inference_dir(0.25, seed=0)
    result = convert(folder, tmp_path / "meta.xml", model="PPLCNet_x0_25")
    meta = read_metadata(result.xml)
    assert meta.name == "PPLCNet_x0_25"
    assert len(meta.labels) == 1000 and meta.labels[0].startswith("tench")
    assert meta.preprocess == zoo.get_spec("PPLCNet_x0_25").preprocess
    assert {"openvino", "paddlepaddle", "paddle2onnx"} <= set(meta.versions)
    assert meta.source["kind"] == "paddle" and meta.source["opset"] == 14
    model = shared_core().read_model(result.xml)
    assert model.get_rt_info(["model_info", "model_type"]).astype(str) == "Classification"


@pytest.mark.slow
def test_real_text_orientation_model_matches_onnxruntime(rapid_onnx, tmp_path):
    """The real, trained PP-LCNet_x1_0: IR vs ONNX Runtime on real (rendered) text pages."""
    from lcnet_ov.inputs.preprocess import preprocess
    from lcnet_ov.testing import text_orientation_set

    result = convert(rapid_onnx, tmp_path / "orient.xml", model="text_image_orientation")
    assert result.metadata.labels == ("0", "90", "180", "270")
    images, labels = text_orientation_set(64, seed=123)
    x = np.stack([preprocess(im, PP) for im in images])
    ref = onnxruntime_inference(rapid_onnx, x)
    out = openvino_inference(result.xml, x, precision="f32")
    assert np.abs(ref - out).max() <= 1e-5
    assert np.array_equal(ref.argmax(1), out.argmax(1))
    assert (out.argmax(1) == labels).mean() > 0.9  # the weights are real and trained


@pytest.mark.slow
def test_zoo_name_uses_the_offline_package(rapid_onnx, tmp_path):
    result = convert("text_image_orientation", tmp_path / "zoo.xml")
    assert result.source_kind == "zoo" and result.metadata.source["kind"] == "onnx"


def test_opset_13_is_refused():
    with pytest.raises(ConversionError, match="opset 13"):
        ConvertOptions(opset=13)


def test_bad_inputs_give_typed_errors(tmp_path):
    with pytest.raises(InvalidModelFileError, match="no such file"):
        convert(tmp_path / "missing.onnx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidModelFileError, match="not a Paddle inference model"):
        convert(tmp_path / "empty")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(InvalidModelFileError, match="unsupported input"):
        convert(tmp_path / "m.txt")
    with pytest.raises(UnknownModelError):
        convert("missing.onnx", model="PPLCNet_x9_9")


@pytest.mark.slow
def test_broken_weights_leave_nothing_behind(paddle_models, tmp_path):
    good = paddle_models.inference_dir(0.25, seed=0)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "inference.pdmodel").write_bytes((good / "inference.pdmodel").read_bytes())
    (bad / "inference.pdiparams").write_bytes((good / "inference.pdiparams").read_bytes()[:1000])
    out = tmp_path / "out"
    with pytest.raises(ConversionError):
        convert(bad, out / "m.xml")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_onnx_source_labels_from_its_metadata(rapid_onnx, tmp_path):
    result = convert(rapid_onnx, tmp_path / "r.xml")
    assert result.verification.reference == "ONNX Runtime"
    assert result.verification.max_abs_diff <= 1e-5
    # labels recovered from the ONNX metadata when no zoo name is given
    assert result.metadata.labels == ("0", "90", "180", "270")
