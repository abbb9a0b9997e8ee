"""`lcnet-ov export`: OVMS / Triton model repositories, checked against the real Triton schema and
against `lcnet-ov infer`; and the IR's Model API metadata, checked with openvino-model-api."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov.cli import main
from lcnet_ov.inputs.decode import decode_image
from lcnet_ov.inputs.preprocess import resize_crop
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.runtime.metadata import ModelMetadata, _model_api_info, read_metadata
from lcnet_ov.zoo import Preprocess

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "samples" / "images").glob("*.jpg"))


def _infer_top1(xml: Path, capsys) -> dict[str, int]:
    capsys.readouterr()
    assert main(["infer", "--model", str(xml), "--json", *map(str, SAMPLES)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {Path(r["filename"]).name: r["class_ids"][0] for r in rows}


@pytest.mark.slow
def test_triton_repository_parses_with_the_triton_schema_and_matches_infer(
    orientation_xml, tmp_path, capsys
):
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from google.protobuf import text_format

    out = tmp_path / "repo"
    argv = ["export", "--model", str(orientation_xml), "--format", "triton", "-o", str(out)]
    assert main([*argv, "--max-batch", "16", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    model_dir = out / "text_image_orientation"
    assert info["model_dir"] == str(model_dir) and info["max_abs_diff"] <= 1e-5
    assert sorted(p.name for p in model_dir.iterdir()) == ["1", "config.pbtxt", "labels.txt"]

    cfg = text_format.Parse(
        (model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    assert (cfg.name, cfg.backend, cfg.max_batch_size) == ("text_image_orientation", "openvino", 16)
    (inp,), (outp,) = cfg.input, cfg.output
    assert inp.data_type == model_config_pb2.TYPE_UINT8 and list(inp.dims) == [224, 224, 3]
    assert inp.format == model_config_pb2.ModelInput.FORMAT_NHWC
    assert outp.data_type == model_config_pb2.TYPE_FP32 and list(outp.dims) == [4]
    assert cfg.HasField("dynamic_batching")
    assert (model_dir / outp.label_filename).read_text().split() == ["0", "90", "180", "270"]

    # the IR matches its config: names, dtypes, dynamic batch
    import openvino as ov

    xml = model_dir / "1" / "model.xml"
    model = shared_core().read_model(str(xml))
    assert model.input(0).get_names() == {inp.name} and model.output(0).get_names() == {outp.name}
    assert model.input(0).get_element_type() == ov.Type.u8
    assert model.input(0).get_partial_shape()[0].is_dynamic
    assert read_metadata(xml).embedded_preprocessing

    # same top-1 as `lcnet-ov infer` on the sample pages, from client-side resize + crop only
    pp = read_metadata(orientation_xml).preprocess
    crops = np.stack([resize_crop(decode_image(str(p)), pp) for p in SAMPLES])
    compiled = shared_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    probs = compiled(crops)[0]
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    got = {p.name: int(i) for p, i in zip(SAMPLES, probs.argmax(1), strict=True)}
    assert got == _infer_top1(orientation_xml, capsys)
    assert got == {"page_0deg.jpg": 0, "page_90deg.jpg": 1, "page_180deg.jpg": 2,
                   "page_270deg.jpg": 3}  # fmt: skip

    # an existing repository entry is kept unless --force (a usage error: exit 2); nothing
    # half-written either way
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_ovms_repository(orientation_xml, tmp_path, capsys):
    out = tmp_path / "ovms"
    assert main(["export", "--model", str(orientation_xml), "--format", "ovms", "-o", str(out),
                 "--name", "orientation"]) == 0  # fmt: skip
    cfg = json.loads((out / "config.json").read_text())
    (entry,) = cfg["model_config_list"]
    assert entry["config"]["name"] == "orientation"
    assert entry["config"]["base_path"] == "/models/orientation"
    assert entry["config"]["plugin_config"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert (out / "orientation" / "1" / "model.xml").is_file()
    assert (out / "orientation" / "1" / "model.bin").stat().st_size > 1_000_000


def test_export_refuses_bad_arguments(tmp_path, capsys):
    assert main(["export", "--model", str(tmp_path / "none.xml"), "--format", "ovms",
                 "-o", str(tmp_path / "r")]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    assert main(["export", "--format", "onnx", "-o", str(tmp_path / "r")]) == 2


@pytest.mark.parametrize("classes", [1, 2, 4, 5, 1000])
def test_model_api_topk_fits_the_class_count(classes):
    meta = ModelMetadata(name="m", labels=tuple(str(i) for i in range(classes)),
                         preprocess=Preprocess())  # fmt: skip
    assert _model_api_info(meta)["topk"] == str(min(5, classes))


def test_openvino_model_api_classifies_the_sample_pages(orientation_xml):
    """openvino-model-api 0.4.7 (installed with --no-deps, see .ci/run) reads the IR's
    rt_info["model_info"] and classifies a 4-class model (it crashed on topk=5 before)."""
    models = pytest.importorskip("model_api.models")
    model = models.ClassificationModel.create_model(str(orientation_xml), device="CPU")
    expected = {"page_0deg.jpg": "0", "page_90deg.jpg": "90", "page_180deg.jpg": "180",
                "page_270deg.jpg": "270"}  # fmt: skip
    for path in SAMPLES:
        result = model(cv2.imread(str(path)))
        top = result.top_labels[0]
        assert (top.name, int(top.id)) == (expected[path.name], int(expected[path.name]) // 90)
        assert len(result.top_labels) == 4


def _ovms(xml, out, name, *extra):
    return main(["export", "--model", str(xml), "--format", "ovms", "-o", str(out),
                 "--name", name, *extra])  # fmt: skip


@pytest.mark.slow
def test_ovms_export_merges_into_a_shared_config(orientation_xml, tmp_path, capsys):
    """Exporting into an OVMS repository other models live in adds or replaces only its own
    entry of config.json (it used to rewrite the file with its entry alone)."""
    out = tmp_path / "shared"
    out.mkdir()
    other = {"config": {"name": "detector", "base_path": "/models/detector", "nireq": 4}}
    shared = {"model_config_list": [other], "mediapipe_config_list": []}
    (out / "config.json").write_text(json.dumps(shared))
    assert _ovms(orientation_xml, out, "orientation") == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["mediapipe_config_list"] == [] and cfg["model_config_list"][0] == other
    assert [m["config"]["name"] for m in cfg["model_config_list"]] == ["detector", "orientation"]
    # its own folder still needs --force; config.json is untouched by the refusal
    before = (out / "config.json").read_bytes()
    assert _ovms(orientation_xml, out, "orientation") == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "config.json").read_bytes() == before
    assert _ovms(orientation_xml, out, "orientation", "--force") == 0
    assert _ovms(orientation_xml, out, "orientation_b") == 0
    cfg = json.loads((out / "config.json").read_text())
    names = [m["config"]["name"] for m in cfg["model_config_list"]]
    assert names == ["detector", "orientation", "orientation_b"]  # replaced in place, once
    assert cfg["model_config_list"][0] == other
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "orientation",
        "orientation_b",
    ]  # fmt: skip  (no staging folder or temp file left)


def test_ovms_export_refuses_a_config_it_cannot_merge_into(orientation_xml, tmp_path, capsys):
    out = tmp_path / "repo"
    out.mkdir()
    for text in ("{not json", '{"model_config_list": 3}', "[1, 2]"):
        (out / "config.json").write_text(text)
        assert _ovms(orientation_xml, out, "orientation") == 1
        err = capsys.readouterr().err
        assert err.startswith("Error:") and "OVMS configuration" in err and "Traceback" not in err
        assert (out / "config.json").read_text() == text  # left as it was
        assert sorted(p.name for p in out.iterdir()) == ["config.json"]  # nothing written
