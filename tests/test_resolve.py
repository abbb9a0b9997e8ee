"""``--model`` resolution: zoo names, IR paths and conversion sources converted once."""

from __future__ import annotations

import pytest

from lcnet_ov import paths
from lcnet_ov.errors import InvalidModelFileError, OfflineError, UnknownModelError
from lcnet_ov.export.resolve import resolve_ir


@pytest.mark.slow
def test_source_is_converted_once_and_cached(rapid_onnx, tmp_path):
    first = resolve_ir(rapid_onnx)
    mtime = first.stat().st_mtime_ns
    assert first.is_file() and str(first).startswith(str(paths.home()))
    assert resolve_ir(rapid_onnx) == first
    assert first.stat().st_mtime_ns == mtime  # not converted again


@pytest.mark.slow
def test_xml_path_is_used_as_is(rapid_onnx):
    xml = resolve_ir(rapid_onnx)
    assert resolve_ir(xml) == xml
    with pytest.raises(InvalidModelFileError, match="no such IR"):
        resolve_ir(xml.with_name("missing.xml"))


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_xml_asked_for_a_precision_must_be_one(rapid_onnx, tmp_path):
    """An .xml is never run at a precision other than the one asked for, silently."""
    import shutil

    xml = resolve_ir(rapid_onnx)  # an fp32 IR in a .../fp32/ folder
    assert resolve_ir(xml, "fp32") == xml
    with pytest.raises(InvalidModelFileError, match="is an fp32 IR, not fp16"):
        resolve_ir(xml, "fp16")
    # outside a precision folder the INT8 sibling is <stem>-int8.xml, as quantize writes it
    plain = tmp_path / "plain.xml"
    shutil.copy(xml, plain)
    shutil.copy(xml.with_suffix(".bin"), plain.with_suffix(".bin"))
    with pytest.raises(InvalidModelFileError, match=r"lcnet-ov quantize --model .*plain\.xml"):
        resolve_ir(plain, "int8")
    sibling = tmp_path / "plain-int8.xml"
    shutil.copy(plain, sibling)
    assert resolve_ir(plain, "int8") == sibling


def test_ir_without_our_metadata_is_taken_as_it_is(tmp_path):
    """A foreign IR (a benchmark's synthetic MatMul, say) cannot state its precision."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    x = ops.parameter([1, 8], np.float32)
    ov.save_model(
        ov.Model([ops.matmul(x, np.eye(8, dtype=np.float32), False, False)], [x]),
        tmp_path / "m.xml",
    )
    assert resolve_ir(tmp_path / "m.xml", "fp32") == tmp_path / "m.xml"


@pytest.mark.slow
def test_zoo_name_converts_into_the_cache(rapid_onnx):
    xml = resolve_ir("text_image_orientation")
    assert xml == paths.ir_path("text_image_orientation", "fp32")


def test_int8_must_be_quantized_first(rapid_onnx, tmp_path, monkeypatch):
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path))  # other tests may have quantized it
    with pytest.raises(InvalidModelFileError, match="lcnet-ov quantize"):
        resolve_ir("text_image_orientation", "int8")


def test_unknown_and_offline(monkeypatch):
    with pytest.raises(UnknownModelError):
        resolve_ir("PPLCNet_x7")
    with pytest.raises(OfflineError):
        resolve_ir("PPLCNet_x0_25")
    with pytest.raises(InvalidModelFileError, match="precision"):
        resolve_ir("PPLCNet_x0_25", "int4")
