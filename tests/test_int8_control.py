"""INT8 that is really INT8: accuracy control counts whole images, reports the drop before any
revert, names reverted ops by PaddleClas layer, and ``quantize`` says how fast INT8 is here.

The exact-limit case is built deterministically: plain INT8 of the real text-orientation model
is run on seeded blurry-noise images (where FP32 and INT8 often disagree), each image is labeled
with FP32's own answer, and the validation list takes exactly 2 images INT8 gets wrong among
400: a drop of 2/400 = 0.50 pt against a limit of 0.005, which float arithmetic computes as
0.0050000000000000044.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from quant_data import cached_dataset

from lcnet_ov.cli import main
from lcnet_ov.export.accuracy import AccuracyReport, allowed_misses, nncf_max_drop
from lcnet_ov.export.int8_graph import layer_names, paddleclas_layers
from lcnet_ov.export.quantization import quantize
from lcnet_ov.inputs.datasets import load_crops, model_input, open_image_set
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.runtime.loaded_model import LoadedModel


def test_a_drop_exactly_at_the_limit_is_met_in_whole_images():
    assert 400 / 400 - 398 / 400 > 0.005  # the float comparison NNCF makes gets this wrong
    report = AccuracyReport(
        fp32_correct=400, int8_correct=398, max_drop=0.005, val_images=400, kept_fp32=()
    )
    assert report.allowed_misses == 2 and report.met
    assert not AccuracyReport(400, 397, 0.005, 400, ()).met
    # the limit NNCF gets accepts exactly the drops counted as met, for every possible count
    for n in (7, 120, 400, 1000):
        for limit in (0.0, 0.005, 0.01, 0.0125, 0.02, 0.1):
            threshold = nncf_max_drop(limit, n)
            for k in range(n + 1):
                nncf_says = (n / n - (n - k) / n) <= threshold
                assert nncf_says == (k <= allowed_misses(limit, n)), (n, limit, k)


def test_compute_ops_get_paddleclas_layer_names(orientation_xml):
    model = shared_core().read_model(str(orientation_xml))
    names = layer_names(model)
    plan = [name for name, _ in paddleclas_layers()]
    assert list(names.values()) == plan
    assert plan[0] == "conv1.conv" and plan[-2:] == ["last_conv", "fc"]
    assert "blocks5.3.dw_conv.conv" in plan and "blocks6.1.se.conv2" in plan
    assert not any(key in plan for key in names)  # the graph's own names are generated ones


# ---- Real quantization (slow) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def calib(tmp_path_factory) -> Path:
    return cached_dataset(tmp_path_factory, 300, 11, list_name="train_list.txt")


def _top1(xml: Path, x: np.ndarray) -> np.ndarray:
    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.array([int(np.argmax(compiled(x[i : i + 1])[0])) for i in range(len(x))])


@pytest.fixture(scope="module")
def disagreements(orientation_xml, calib, tmp_path_factory) -> dict:
    """Seeded noise images with FP32's and plain INT8's answers (the same NNCF run
    ``quantize`` makes with these settings: NNCF is deterministic)."""
    root = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(5)
    for i in range(500):
        small = rng.integers(0, 256, (rng.integers(4, 40), rng.integers(4, 40), 3), np.uint8)
        cv2.imwrite(str(root / f"n{i:03d}.png"), cv2.resize(small, (256, 256)))
    plain = quantize(
        orientation_xml,
        calib,
        subset_size=60,
        output=root / "plain" / "model.xml",
        progress=False,
        speed_seconds=None,
    )
    pp = LoadedModel(orientation_xml).metadata.preprocess
    loaded = load_crops(list(open_image_set(root).samples), pp, None)
    x = model_input(loaded.crops, pp, False)
    fp32, int8 = _top1(orientation_xml, x), _top1(plain.xml, x)
    return {"root": root, "names": loaded.names, "fp32": fp32, "int8": int8}


def _val_list(d: dict, folder: Path, agree: int, disagree: int) -> Path:
    """A list file labeled with FP32's answers: ``agree`` images both get right and
    ``disagree`` images only FP32 gets right (agreeing ones repeat when there are too few)."""
    same = np.resize(np.flatnonzero(d["fp32"] == d["int8"]), agree)  # may list one twice
    differ = np.flatnonzero(d["fp32"] != d["int8"])[:disagree]
    assert len(differ) == disagree, "too few noise images"
    folder.mkdir()
    rows = [f"{d['root'] / Path(d['names'][i]).name} {d['fp32'][i]}" for i in [*same, *differ]]
    (folder / "val_list.txt").write_text("\n".join(rows) + "\n")
    return folder


@pytest.mark.slow
def test_exact_limit_keeps_every_op_in_int8_and_reports_the_plain_drop(
    orientation_xml, calib, disagreements, tmp_path, capsys
):
    val = _val_list(disagreements, tmp_path / "val", 398, 2)
    out = tmp_path / "ac" / "model.xml"
    argv = ["quantize", "-m", str(orientation_xml), "-d", str(calib), "--subset-size", "60"]
    argv += ["--max-drop", "0.005", "--val-data", str(val), "--val-subset-size", "400"]
    code = main([*argv, "-o", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    acc = doc["accuracy"]
    assert (acc["fp32_correct"], acc["int8_correct"], acc["val_images"]) == (400, 398, 400)
    assert acc["met"] and acc["allowed_misses"] == 2 and not acc["controlled"]
    assert acc["ptq_drop"] == pytest.approx(0.005) and acc["kept_fp32"] == []
    assert doc["int8_ops"] == 33 and doc["fp32_ops"] == []  # an INT8 model, not an FP32 one
    speed = doc["speed"]  # measured here at the end of quantize
    assert speed["fp32_fps"] > 0 and speed["int8_fps"] > 0 and speed["threads"] >= 1
    assert speed["ratio"] == pytest.approx(speed["int8_fps"] / speed["fp32_fps"], rel=0.01)


@pytest.mark.slow
def test_reverted_ops_are_named_by_layer_and_the_plain_drop_is_kept(
    orientation_xml, calib, disagreements, tmp_path, capsys
):
    val = _val_list(disagreements, tmp_path / "val", 29, 1)
    out = tmp_path / "ac0" / "model.xml"
    argv = ["quantize", "-m", str(orientation_xml), "-d", str(calib), "--subset-size", "60"]
    argv += ["--max-drop", "0", "--val-data", str(val), "-o", str(out), "-q"]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    text = captured.out
    assert "plain INT8:  drop +3.33 pt (1 images) before any op was reverted" in text
    assert "accuracy control reverted ops" in text
    kept = next(line for line in text.splitlines() if line.startswith("  kept FP32:"))
    layers = [name.strip() for name in kept.split(":", 1)[1].split(",")]
    plan = [name for name, _ in paddleclas_layers()]
    assert layers and all(name in plan for name in layers), kept
    assert "Multiply_" not in kept
    assert "speed here:  INT8 " in text and "images/s" in text
