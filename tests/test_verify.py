"""Verification takes a reference callable and images; it knows nothing of conversion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lcnet_ov import zoo
from lcnet_ov.errors import VerificationError
from lcnet_ov.export.verify import ATOL_FP32, compare, onnxruntime_inference
from lcnet_ov.inputs.preprocess import normalize, preprocess_batch
from lcnet_ov.testing import sample_images, text_orientation_set

PP = zoo.get_spec("text_image_orientation").preprocess


def test_compare_passes_against_the_source_runtime(orientation_xml, rapid_onnx):
    images = sample_images(3, PP.crop_size)
    calls = []

    def reference(x):
        calls.append(x)
        return onnxruntime_inference(rapid_onnx, x)

    result = compare(orientation_xml, reference, images, PP, ATOL_FP32, reference_name="ORT")
    assert result.passed and result.batch == 3 and result.reference == "ORT"
    assert result.max_abs_diff <= ATOL_FP32
    # the reference is fed PaddleClas' exact tensor for those images
    assert len(calls) == 1 and np.array_equal(calls[0], normalize(images, PP))


def test_compare_fails_when_the_reference_disagrees(orientation_xml, rapid_onnx):
    images = sample_images(2, PP.crop_size)

    def swapped(x):  # a "reference" whose classes are in another order
        return onnxruntime_inference(rapid_onnx, x)[:, ::-1]

    result = compare(orientation_xml, swapped, images, PP, ATOL_FP32)
    assert not result.passed and not result.top1_agree
    with pytest.raises(VerificationError, match="FAILED"):
        result.raise_if_failed()


def test_normalize_is_the_preprocessing_tail():
    """processing.normalize on crops equals full preprocessing of crop-sized images, bit for bit."""
    images, _ = text_orientation_set(3, seed=4)
    crops = np.stack([im[: PP.crop_size, : PP.crop_size] for im in images])
    as_crops = normalize(crops, PP)
    identity = dataclasses.replace(PP, resize_short=PP.crop_size)
    assert np.array_equal(as_crops, preprocess_batch(list(crops), identity))
    # and equals NormalizeImage's float32 arithmetic written out
    rgb = crops[..., ::-1] if PP.channel_order == "RGB" else crops
    x = rgb.astype(np.float32) * np.float32(PP.scale)
    x = (x - np.asarray(PP.mean, np.float32)) / np.asarray(PP.std, np.float32)
    assert np.array_equal(as_crops, x.transpose(0, 3, 1, 2))
