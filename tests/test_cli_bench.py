"""``lcnet-ov bench`` end to end: sweeps, JSON/PNG files, peers, warnings and one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov.cli import main

CORES = len(os.sched_getaffinity(0))


@pytest.fixture(scope="module")
def ir(orientation_xml: Path) -> Path:
    """The real text model's IR, in the session's isolated cache (a module-scoped
    resolve_ir here ran before the autouse LCNET_OV_HOME fixture and wrote to ~/.cache)."""
    return orientation_xml


def _table_rows(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("config"))
    return [line for line in lines[start + 1 :] if line.strip()]


@pytest.mark.slow
def test_sweep_with_space_separated_values_json_and_plot(ir, tmp_path, capsys, need):
    out_json, out_png = tmp_path / "r" / "bench.json", tmp_path / "bench.png"
    threads = ["1", str(min(2, CORES))] if CORES > 1 else ["1"]
    code = main(
        [
            "bench",
            "-m",
            str(ir),
            "--threads",
            *threads,
            "-b",
            "1,2",
            "-n",
            "6",
            "--mode",
            "sync",
            "--output",
            str(out_json),
            "--plot",
            str(out_png),
            "-q",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = _table_rows(captured.out)
    assert len(rows) == 2 * len(threads)
    data = json.loads(out_json.read_text())
    assert len(data["results"]) == len(rows)
    for r in data["results"]:
        assert r["actual"]["INFERENCE_NUM_THREADS"] == r["config"]["threads"]
        assert r["iterations"] == 6 and r["latency_ms"]["count"] == 6
    assert data["machine"]["available_cores"] == CORES
    assert data["machine"]["cpu"] in captured.out  # the machine is part of every report
    if out_png.exists():  # matplotlib installed (bench extra)
        assert out_png.read_bytes()[:4] == b"\x89PNG"
    else:
        need("matplotlib")
        pytest.fail("--plot wrote nothing although matplotlib is installed")


def test_json_to_stdout_is_pure_json(ir, capsys):
    assert main(["bench", "-m", str(ir), "-n", "4", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    (r,) = data["results"]
    assert r["config"]["mode"] == "async" and r["requests"] >= 1
    assert "median" in captured.err  # the live progress summary goes to stderr


def test_json_flag_with_output_file_prints_and_writes_the_same_result(ir, tmp_path, capsys):
    out = tmp_path / "deep" / "r.json"
    assert (
        main(["bench", "-m", str(ir), "-n", "3", "--mode", "sync", "--json", "-o", str(out), "-q"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    written = json.loads(out.read_text())
    assert printed["results"][0]["iterations"] == written["results"][0]["iterations"] == 3
    assert printed["model"] == written["model"] == str(ir)


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_peers_and_a_skip_message(orientation_xml, capsys):
    code = main(
        [
            "bench",
            "--model",
            "text_image_orientation",
            "--backend",
            "openvino",
            "onnxruntime",
            "paddle",
            "--threads",
            "1",
            "-n",
            "5",
            "-q",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = _table_rows(captured.out)
    assert [r.split()[0] for r in rows] == ["openvino", "onnxruntime"]
    assert "Skipped paddle fp32: Paddle Inference needs a Paddle inference model" in captured.err


@pytest.mark.slow
def test_paddle_backend_from_the_cli(paddle_models, capsys):
    folder = paddle_models.inference_dir(0.25)
    code = main(["bench", "-m", str(folder), "--backend", "paddle", "-n", "4", "--threads", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (row,) = _table_rows(captured.out)
    assert row.startswith("paddle fp32 b1 t1 sync")


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_input_folder_runs_end_to_end(ir, tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), rng.integers(0, 256, (240, 320, 3), np.uint8))
    code = main(["bench", "-m", str(ir), "--input", str(tmp_path), "-n", "4", "-b", "2", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (r,) = json.loads(captured.out)["results"]  # async: through AsyncClassifier.map
    assert r["iterations"] == r["latency_ms"]["count"] == 4  # -n counts images here
    assert sum(int(k) * v for k, v in r["actual"]["batch_sizes"].items()) == 4
    assert r["preprocess_ms"] is None
    code = main(["bench", "-m", str(ir), "--input", str(tmp_path), "-n", "4", "-b", "2", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "mean batch" in out and "AsyncClassifier.map" in out
    assert f"input {tmp_path}" in out
    code = main(["bench", "-m", str(ir), "--input", str(tmp_path), "-n", "4", "--mode", "sync"])
    out = capsys.readouterr().out
    assert code == 0 and "pre ms" in out and "mean batch" not in out  # the serial loop


def test_threads_beyond_cores_warn(ir, capsys):
    code = main(["bench", "-m", str(ir), "--threads", str(CORES + 1), "-n", "3", "-q"])
    err = capsys.readouterr().err
    assert code == 0
    assert f"Warning: --threads {CORES + 1} exceeds the {CORES} core(s)" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--threads", "0"], "--threads must be a positive integer"),
        (["--threads", "two"], "--threads must be a positive integer"),
        (["-b", "0"], "--batch-size must be a positive integer"),
        (["-t", "1", "-n", "5"], "either --time or --iterations"),
        (["-t", "soon"], "--time expects a number"),
        (["--hint", "fast"], "unknown hint"),
        (["--mode", "sync", "--requests", "4"], "--requests applies to --mode async"),
        (["--backend", "tensorrt"], "unknown backend"),
        (["--precision", "int4"], "'int4' is not a precision"),
        (["--input", "/no/such/folder"], "not a folder"),
        (["--frobnicate"], "No such option"),
        (["--precision", "int8"], "lcnet-ov quantize"),
        (["--infer-precision", "fp8"], "'fp8' is not one of"),
    ],
)
def test_bad_options_are_one_line(ir, args, message, capsys):
    code = main(["bench", "-m", str(ir) if "int8" not in args else "text_image_orientation", *args])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1, err
    assert err.startswith("Error: ") and message in err
    assert "Traceback" not in err


def test_model_is_required(capsys):
    assert main(["bench"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--model" in err
