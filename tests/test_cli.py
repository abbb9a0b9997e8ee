"""The CLI's promises: instant --help without heavy imports, clean one-line errors, --json."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from lcnet_ov.cli import main

HEAVY = ("openvino", "paddle", "paddle2onnx", "nncf", "onnxruntime", "matplotlib", "cv2")


def test_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from lcnet_ov.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "finally:\n"
        f"    print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_version(capsys):
    from lcnet_ov import __version__

    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_every_registered_command_is_listed_and_has_help(capsys):
    from lcnet_ov.cli import _COMMANDS

    assert main(["--help"]) == 0
    listing = capsys.readouterr().out.split("Commands:", 1)[1]
    listed = {m[1] for m in re.finditer(r"^  (\S+)", listing, re.M)}
    assert listed == set(_COMMANDS)  # nothing hidden: every command exists
    for name in _COMMANDS:
        assert main([name, "--help"]) == 0, name
        assert f"Usage: lcnet-ov {name}" in capsys.readouterr().out, name


@pytest.mark.slow
def test_convert_json_and_reuse(paddle_models, tmp_path, capsys):
    folder = paddle_models.inference_dir(0.25, seed=0)
    out = tmp_path / "cli" / "m.xml"
    assert main(["convert", str(folder), "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["xml"] == str(out) and out.is_file() and out.with_suffix(".bin").is_file()
    assert result["verification"]["passed"] is True
    assert result["verification"]["max_abs_diff"] <= 1e-5
    assert result["num_classes"] == 1000


@pytest.mark.slow
def test_convert_progress_goes_to_stderr(rapid_onnx, tmp_path, capsys):
    out = tmp_path / "r.xml"
    assert (
        main(["convert", str(rapid_onnx), "-o", str(out), "--model", "text_image_orientation"]) == 0
    )
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "verified vs ONNX Runtime" in captured.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["convert", "does-not-exist.onnx"], "no such file"),
        (["convert", "PPLCNet_x9_9"], "no such file"),
        (["convert", "x.onnx", "--model", "nope"], "unknown model"),
        (["convert", ".", "--opset", "13"], "opset 13"),
        (["convert", ".", "--batch-size", "0"], "batch size"),
        (["convert", ".", "--batch", "0"], "batch size"),  # the old spelling, hidden
    ],
)
def test_convert_errors_are_one_line(args, message, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err.splitlines()[-1]  # one line says what is wrong (after click's usage)
    assert "Traceback" not in err and len(err.splitlines()) <= 4


def test_zoo_model_offline_error_names_the_url(capsys):
    code = main(["convert", "PPLCNet_x1_0"])
    err = capsys.readouterr().err
    assert code == 1
    assert "PPLCNet_x1_0_infer.tar" in err and "--from" in err
    assert "Traceback" not in err
