"""An IR reshaped at conversion (``ConvertOptions(input_size=...)``) is fed crops of its own
size by evaluation and quantization, as by the runtime: its metadata records the crop, and all
three take the preprocessing from the runtime's ``LoadedModel`` (which also corrects IRs
converted before the crop was recorded)."""

from __future__ import annotations

import pytest
from quant_data import cached_dataset

from lcnet_ov.export.conversion import ConvertOptions, convert
from lcnet_ov.export.quantization import quantize
from lcnet_ov.runtime.evaluation import evaluate
from lcnet_ov.runtime.loaded_model import LoadedModel
from lcnet_ov.runtime.metadata import read_metadata

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reshaped_xml(tmp_path_factory, rapid_onnx):
    out = tmp_path_factory.mktemp("reshaped") / "fp32" / "model.xml"
    options = ConvertOptions(input_size=192, verify=False)  # the ONNX itself is fixed at 224
    return convert(rapid_onnx, out, model="text_image_orientation", options=options).xml


def test_eval_and_quantize_feed_the_reshaped_size(reshaped_xml, tmp_path_factory):
    assert read_metadata(reshaped_xml).preprocess.crop_size == 192  # what the metadata says
    data = cached_dataset(tmp_path_factory, 120, 21)
    assert LoadedModel(reshaped_xml).metadata.preprocess.crop_size == 192  # what runs
    result = quantize(reshaped_xml, data, subset_size=40, progress=False)
    assert result.xml == reshaped_xml.parent.parent / "int8" / "model.xml"
    scores = evaluate(reshaped_xml, data, precision=("fp32", "int8"), progress=False)
    assert [s.precision for s in scores.scores] == ["fp32", "int8"]
    assert scores.images == 120
    # a trained model on its own task: far above the 25 % of guessing, at both precisions
    assert min(s.top1 for s in scores.scores) > 0.6
