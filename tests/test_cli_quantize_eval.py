"""``lcnet-ov quantize`` and ``lcnet-ov eval`` end to end on the real text-orientation model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from quant_data import cached_dataset

from lcnet_ov import paths
from lcnet_ov.cli import main

NAME = "text_image_orientation"


@pytest.fixture(scope="module")
def calib(tmp_path_factory) -> Path:
    return cached_dataset(tmp_path_factory, 300, 11, list_name="train_list.txt")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    return cached_dataset(tmp_path_factory, 120, 21)


@pytest.fixture
def quantized(orientation_xml, calib, capsys) -> dict:
    # --force: each test using this quantizes into the same cache slot (replacing is explicit)
    args = ["quantize", "--model", NAME, "--data", str(calib), "--subset-size", "40", "--json"]
    code = main([*args, "--force"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)  # stdout is nothing but the JSON document


@pytest.mark.slow
def test_quantize_json_then_eval_json_side_by_side(quantized, pages, capsys, lcnet_home):
    assert quantized["xml"] == str(paths.ir_path(NAME, "int8"))
    assert paths.home() == lcnet_home  # this module's cache, not another module's
    assert quantized["images_used"] == 40 and quantized["data"]["classes_used"] == 4
    assert quantized["settings"]["preset"] == "mixed" and quantized["nncf_version"]
    code = main(["eval", "--model", NAME, "--data", str(pages), "--json", "-b", "8"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    fp32, int8 = doc["scores"]  # int8 joins by default once it exists
    assert (fp32["precision"], int8["precision"]) == ("fp32", "int8")
    assert fp32["inference_precision"] == int8["inference_precision"] == "f32"
    assert doc["images"] == 120 and doc["skipped"] == []
    assert int8["delta_top1"] == pytest.approx(int8["top1"] - fp32["top1"])
    assert 0.9 <= int8["top1_agreement"] <= 1.0


@pytest.mark.slow
def test_text_output_shows_progress_table_and_broken_files(quantized, pages, tmp_path, capsys):
    lines = (pages / "val_list.txt").read_text().splitlines()[:24]
    (tmp_path / "broken.jpg").write_text("not an image")
    (tmp_path / "val_list.txt").write_text(
        "".join(f"{pages / ln.split()[0]} {ln.split()[1]}\n" for ln in lines)
        + f"{tmp_path / 'broken.jpg'} 2\n"
    )
    code = main(["eval", "-m", NAME, "-d", str(tmp_path), "-p", "fp32", "int8"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "evaluating" in err  # the progress bar goes to stderr
    header, row32, row8 = out.splitlines()[1:4]
    assert header.split()[:4] == ["Model", "Weights", "Runs", "in"] and "ΔTop-1" in header
    assert row32.split()[:3] == ["fp32", "fp32", "f32"]
    assert row8.split()[:3] == ["int8", "int8", "f32"]
    assert "24 images" in out
    assert f"skipped 1 unreadable file(s):\n  {tmp_path / 'broken.jpg'}: " in out


@pytest.mark.slow
def test_quantize_text_report_and_progress(orientation_xml, calib, tmp_path, capsys):
    out_xml = tmp_path / "int8" / "model.xml"
    code = main(
        [
            "quantize",
            "-m",
            NAME,
            "-d",
            str(calib),
            "--subset-size",
            "20",
            "-o",
            str(out_xml),
            "--seed",
            "3",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"INT8 model: {out_xml}\n")
    assert "calibration: 20 images from 4 classes" in out and "seed 3" in out
    assert "preset mixed, fast bias correction, SE multiply quantized" in out
    assert "calibration images" in err and "Statistics collection" in err
    assert out_xml.is_file() and out_xml.with_suffix(".bin").is_file()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["quantize", "-m", NAME, "-d", ".", "--max-drop", "0.01"], 2, "go together"),
        (["quantize", "-m", "PPLCNet_x9", "-d", "."], 1, "unknown model"),
        (["quantize", "-m", NAME, "-d", ".", "--preset", "fast"], 2, "'fast' is not one of"),
        (["eval", "-m", NAME, "-d", ".", "-p", "fp64"], 2, "not a precision"),
    ],
)
def test_bad_arguments_give_one_clean_line(argv, code, message, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_quantize_refuses_unlabeled_validation_and_json_stays_clean(calib, tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    first = sorted((calib / "images").iterdir())[0]
    (flat / "a.jpg").write_bytes(first.read_bytes())
    code = main(["eval", "-m", NAME, "-d", str(flat), "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "accuracy needs labels" in err
