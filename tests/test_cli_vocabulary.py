"""One CLI vocabulary (issues 9 and 22), checked by running the commands: one name per concept
(-m, -p, -b, -n, --infer-precision, --force, --json), the same values everywhere, exit code 2
for every usage error found before any work, and the near misses a new user makes (an IR's
.bin or folder, a misspelt model name) answered with what to type instead."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from lcnet_ov.cli import main

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "samples" / "images"
ANGLES = ("0", "90", "180", "270")
#: the commands that run a model, and the arguments each needs besides the model
RUNNERS = {
    "infer": [str(PAGES / "page_90deg.jpg")],
    "eval": ["-d", "<labeled>"],
    "bench": ["-n", "2", "-q"],
}


@pytest.fixture(scope="module")
def labeled(tmp_path_factory) -> Path:
    """The four rotated pages, one class folder each (what eval needs)."""
    root = tmp_path_factory.mktemp("labeled")
    for angle in ANGLES:
        (root / angle).mkdir()
        shutil.copy(PAGES / f"page_{angle}deg.jpg", root / angle)
    return root


def _args(command: str, labeled: Path, *more: str) -> list[str]:
    rest = [str(labeled) if a == "<labeled>" else a for a in RUNNERS[command]]
    return [command, *more, *rest]


def _error(capsys) -> str:
    """The one line a failed command printed (and nothing else)."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
    assert "Traceback" not in err
    return err


# ---- -p/--precision: names or an .xml, in every command that runs a model ---------------------


@pytest.mark.parametrize("command", sorted(RUNNERS))
def test_precision_takes_an_ir_path_everywhere(command, orientation_xml, labeled, capsys):
    """`-p IR.xml` runs that IR (no -m needed); --json is pure JSON on stdout in each."""
    assert main(_args(command, labeled, "-p", str(orientation_xml), "--json")) == 0
    got = json.loads(capsys.readouterr().out)
    if command == "infer":
        assert got["label_names"][0] == "90"
    elif command == "eval":
        assert got["scores"][0]["top1"] == 1.0 and got["images"] == 4
    else:
        assert Path(got["model"]) == orientation_xml
        assert [r["config"]["precision"] for r in got["results"]] == ["fp32"]


@pytest.mark.parametrize("command", sorted(RUNNERS))
@pytest.mark.parametrize("value", ["int9", "missing.xml"])
def test_a_bad_precision_is_a_usage_error_everywhere(command, value, labeled, capsys):
    args = _args(command, labeled, "-m", "text_image_orientation", "-p", value)
    assert main(args) == 2
    err = _error(capsys)
    assert "--precision" in err and value in err


@pytest.mark.parametrize("command", ["infer", "bench"])
def test_one_model_commands_refuse_two_models(command, orientation_xml, labeled, capsys):
    args = _args(command, labeled, "-m", "PPLCNet_x1_0", "-p", str(orientation_xml))
    assert main(args) == 2
    assert "leave out -m" in _error(capsys)


# ---- --infer-precision: one set of values --------------------------------------------------------


@pytest.mark.parametrize("command", [*sorted(RUNNERS), "serve"])
def test_infer_precision_has_one_set_of_values(command, labeled, capsys):
    base = _args(command, labeled) if command in RUNNERS else [command]
    assert main([*base, "--infer-precision", "f64"]) == 2
    err = _error(capsys)
    assert re.findall(r"'(\w+)'", err.split("is not one of", 1)[1]) == [
        "f32",
        "bf16",
        "f16",
        "default",
    ]


@pytest.mark.parametrize("command", ["infer", "bench"])
def test_default_infer_precision_leaves_openvinos_choice(command, orientation_xml, capsys):
    """`default` reaches OpenVINO as "no hint" (bench used to know only f32/bf16)."""
    args = _args(command, Path("."), "-m", str(orientation_xml), "--infer-precision", "default")
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    assert "Warning" not in captured.err  # no "f32 was requested" mismatch
    if command == "bench":
        assert json.loads(captured.out)["settings"]["infer_precision"] == "default"


# ---- -b/--batch-size, -n -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["convert", "infer", "eval", "bench"])
def test_batch_size_is_spelled_the_same_everywhere(command, labeled, capsys):
    args = ["convert", "x.onnx"] if command == "convert" else _args(command, labeled, "-m", "x")
    for spelling in ("-b", "--batch-size"):
        assert main([*args, spelling, "0"]) == 2
        assert "--batch-size" in _error(capsys)


def test_convert_takes_dynamic_and_keeps_the_old_spelling_hidden(capsys):
    assert main(["convert", "x.onnx", "-b", "many"]) == 2
    assert "'dynamic'" in _error(capsys)
    assert main(["convert", "x.onnx", "--batch", "0"]) == 2  # old scripts still get the check
    assert "batch size must be" in _error(capsys)
    assert main(["convert", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "-b, --batch-size N|dynamic" in shown and not re.search(r"--batch\b(?!-)", shown)


def test_n_means_iterations_and_only_in_bench(capsys):
    """(bench's -n at work: test_force_replaces.)"""
    for args in (
        ["quantize", "-m", "x", "-d", str(PAGES)],
        ["infer", str(PAGES)],
        ["eval", "-m", "x", "-d", str(PAGES)],
        ["convert", "x.onnx"],
    ):
        assert main([*args, "-n", "3"]) == 2, args
        assert "No such option '-n'" in _error(capsys)


# ---- --force: "replace the existing output", and nothing is replaced without it ---------------


def _existing(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text("keep me\n")
    if path.suffix == ".xml":
        path.with_suffix(".bin").write_text("keep me\n")
    return path


@pytest.mark.parametrize(
    "make_args",
    [
        lambda out, xml: ["convert", "text_image_orientation", "-o", str(out)],
        lambda out, xml: ["quantize", "-m", str(xml), "-d", str(PAGES), "-o", str(out)],
        lambda out, xml: ["bench", "-m", str(xml), "-n", "2", "-q", "-o", str(out)],
        lambda out, xml: ["bench", "-m", str(xml), "-n", "2", "-q", "--plot", str(out)],
        lambda out, xml: ["infer", "--engine", "ray", str(PAGES), "-o", str(out)],
    ],
    ids=["convert", "quantize", "bench-o", "bench-plot", "infer-ray"],
)
def test_existing_outputs_are_refused_without_force(make_args, orientation_xml, tmp_path, capsys):
    args = make_args(tmp_path / "x", orientation_xml)
    suffix = {"convert": ".xml", "quantize": ".xml", "infer": ".parquet"}.get(args[0], ".json")
    out = _existing(tmp_path, f"out{suffix}")
    args[args.index(str(tmp_path / "x"))] = str(out)
    assert main(args) == 2
    err = _error(capsys)
    assert f"{out} exists; pass --force to replace it" in err
    assert out.read_text() == "keep me\n"  # untouched, and nothing measured or converted
    assert "median" not in err


def test_convert_of_a_cached_zoo_name_is_a_no_op(orientation_xml, capsys):
    """No -o: a zoo name already in the cache is left as it is, and the quickstart can run
    twice (exit 0, the IR's path on stdout); --force converts again."""
    before = orientation_xml.stat().st_mtime_ns
    assert main(["convert", "text_image_orientation"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(orientation_xml) and "--force" in out.err
    assert main(["convert", "text_image_orientation", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"xml": str(orientation_xml), "converted": False}
    assert orientation_xml.stat().st_mtime_ns == before


def test_force_replaces(orientation_xml, tmp_path, capsys):
    out = _existing(tmp_path, "result.json")
    args = ["bench", "-m", str(orientation_xml), "-n", "3", "-q", "-o", str(out), "--force"]
    assert main(args) == 0
    assert json.loads(out.read_text())["settings"]["iterations"] == 3  # -n: iterations


def test_force_is_not_the_small_calibration_switch(capsys):
    assert main(["quantize", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--allow-small-calibration" in shown
    force_help = re.search(r"--force\s+(.*)", shown)
    assert force_help and "Replace the output" in force_help[1]


@pytest.mark.slow
def test_convert_force_replaces_the_ir(rapid_onnx, tmp_path, capsys):
    out = _existing(tmp_path, "m.xml")
    base = ["convert", str(rapid_onnx), "-o", str(out), "-q", "--no-verify"]
    assert main(base) == 2 and out.read_text() == "keep me\n"
    capsys.readouterr()
    assert main([*base, "--force"]) == 0
    assert out.read_text().startswith("<?xml") and out.with_suffix(".bin").stat().st_size > 1e6


# ---- exit code 2 for usage errors found before any work; 1 for the rest -------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "--frobnicate"],
        ["infer"],
        ["quantize", "-m", "x"],
        ["quantize", "-d", str(PAGES)],
        ["eval", "-m", "x", "-d", "/no/such/dir"],
        ["eval", "-m", "x", "-d", str(PAGES), "-p", "int9"],
        ["infer", "-p", "int9", str(PAGES)],
        ["infer", "--engine", "ray", "-o", "labels.csv", str(PAGES)],
        ["infer", "--engine", "ray", str(PAGES)],
        ["infer", "-o", "labels.parquet", str(PAGES)],
        ["bench"],
        ["bench", "-m", "x", "--threads", "0"],
        ["bench", "-m", "x", "--mode", "sync", "--requests", "4"],
        ["bench", "-m", "x", "-p", "fp32", str(PAGES / "none.xml")],
        ["models", "download"],
        ["convert", "x.onnx", "--batch-size", "0"],
        ["quantize", "-m", "x", "-d", str(PAGES), "--max-drop", "0.01"],
        ["quantize", "-m", "x", "-d", str(PAGES), "--subset-size", "0"],
        ["quantize", "-m", "x", "-d", str(PAGES), "--ignore", "re:("],
        ["convert", "x.onnx", "--opset", "13"],
        ["eval", "-m", "x", "-d", str(PAGES), "-b", "0"],
    ],
)
def test_usage_errors_exit_2_on_one_line(args, capsys):
    assert main(args) == 2
    _error(capsys)


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "does-not-exist.onnx"],
        ["infer", "-m", "does-not-exist.xml", str(PAGES)],
        ["bench", "-m", "does-not-exist.xml", "-n", "1"],
        ["models", "download", "no_such_model"],
    ],
)
def test_failures_that_are_not_usage_errors_exit_1(args, capsys):
    assert main(args) == 1
    _error(capsys)


# ---- near misses: an IR's .bin or folder, a misspelt model name ---------------------------------


@pytest.mark.parametrize("command", [*sorted(RUNNERS), "quantize"])
@pytest.mark.parametrize("given", ["bin", "folder"])
def test_an_irs_bin_or_folder_names_the_xml_to_give(
    command, given, orientation_xml, labeled, capsys
):
    model = orientation_xml.with_suffix(".bin") if given == "bin" else orientation_xml.parent
    if command == "quantize":
        args = ["quantize", "-m", str(model), "-d", str(PAGES)]
    else:
        args = _args(command, labeled, "-m", str(model))
    assert main(args) == 2
    err = _error(capsys)
    assert str(orientation_xml) in err and "give the IR's .xml" in err


def test_a_folder_without_a_model_mentions_xml(tmp_path, capsys):
    assert main(["infer", "-m", str(tmp_path), str(PAGES)]) == 2
    err = _error(capsys)
    assert "inference.pdmodel" in err and ".xml" in err


@pytest.mark.parametrize(
    ("typed", "closest"),
    [
        ("PPLCnet_1_0", "PPLCNet_x1_0"),
        ("PPLCNet_x2_5_sld", "PPLCNet_x2_5_ssld"),
        ("text_image_orientaton", "text_image_orientation"),
        ("pplcnet-x0-75", "PPLCNet_x0_75"),
        ("PP-LCNet_x1_0_textline", "PP-LCNet_x1_0_textline_ori"),
    ],
)
def test_a_misspelt_model_name_suggests_the_closest(typed, closest, capsys):
    assert main(["infer", "-m", typed, str(PAGES)]) == 1
    err = _error(capsys)
    assert re.search(rf"Did you mean {closest}\b", err), err


def test_nothing_like_a_zoo_name_suggests_nothing(capsys):
    assert main(["infer", "-m", "resnet50", str(PAGES)]) == 1
    err = _error(capsys)
    assert "Did you mean" not in err and "lcnet-ov models" in err


# ---- shared machinery ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [["-p", "fp32", "int8"], ["-p", "fp32,int8"], ["-p", "fp32", "-p", "int8"]],
)
def test_eval_takes_several_precisions_every_way(words, orientation_xml, labeled, capsys):
    """Three spellings, one meaning: both columns are asked for (int8 does not exist here,
    so the error names it: it was parsed as the second column, not dropped)."""
    args = ["eval", "-m", str(orientation_xml), "-d", str(labeled), *words, "-b", "2"]
    assert main(args) == 1
    assert "no INT8 model" in _error(capsys)


@pytest.mark.parametrize(
    "words",
    [["--threads", "1", "2"], ["--threads", "1,2"], ["--threads", "1", "--threads", "2"]],
)
def test_bench_takes_several_values_the_same_way(words, orientation_xml, capsys):
    args = ["bench", "-m", str(orientation_xml), *words, "-n", "1", "--warmup", "0", "-q"]
    assert main([*args, "--json", "--mode", "sync"]) == 0
    configs = [r["config"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert sorted(c["threads"] for c in configs) == [1, 2]


def test_json_is_pure_json_on_stdout(capsys):
    """(infer, eval, bench: test_precision_takes_an_ir_path_everywhere; convert, quantize:
    their own tests, which need a conversion.)"""
    assert main(["models", "--json"]) == 0
    assert {row["name"] for row in json.loads(capsys.readouterr().out)} >= {"PPLCNet_x1_0"}


def test_one_table_formatter():
    from lcnet_ov._table import format_table

    text = format_table(
        ["Name", "Top-1", "Note"],
        [["a", "9.5", "x"], ["long", "10.25", "yz"]],
        right=[False, True, False],
    )
    assert text.splitlines() == ["Name  Top-1  Note", "a       9.5  x", "long  10.25  yz"]
    with pytest.raises(ValueError):
        format_table(["a", "b"], [["only one"]])


def test_models_table_comes_from_the_shared_formatter(capsys):
    from lcnet_ov._table import format_table
    from lcnet_ov.cli.models import _COLUMNS, _cell
    from lcnet_ov.export.download import zoo_summary

    assert main(["models"]) == 0
    rows = zoo_summary()
    expected = format_table(
        [t for _, t in _COLUMNS],
        [[_cell(k, r[k]) for k, _ in _COLUMNS] for r in rows],
        right=[
            k not in ("name", "task", "input_hw", "source", "downloaded", "converted")
            for k, _ in _COLUMNS
        ],
    )
    assert capsys.readouterr().out.rstrip("\n") == expected


def test_only_usage_errors_carry_exit_code_2():
    import inspect

    from lcnet_ov import errors

    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.LcnetOVError):
            assert (cls.exit_code == 2) == issubclass(cls, errors.UsageError), cls
    assert errors.BenchError("nothing measured").exit_code == 1
    assert errors.BenchOptionError("--threads 0").exit_code == 2


@pytest.mark.slow
def test_eval_old_precision_spelling_still_works_and_warns(orientation_xml, labeled, capsys):
    runs = {}
    for spelling in ("--infer-precision", "--inference-precision"):
        args = ["eval", "-m", str(orientation_xml), "-d", str(labeled), spelling, "bf16"]
        assert main([*args, "--json"]) == 0
        captured = capsys.readouterr()
        runs[spelling] = (json.loads(captured.out), captured.err)
    new, old = runs["--infer-precision"], runs["--inference-precision"]
    assert "now spelled --infer-precision" in old[1] and "spelled" not in new[1]
    assert old[0]["scores"][0]["inference_precision"] == new[0]["scores"][0]["inference_precision"]
    assert old[0]["scores"][0]["top1"] == new[0]["scores"][0]["top1"]


@pytest.mark.parametrize(
    "command", ["convert", "infer", "quantize", "eval", "bench", "serve", "export", "models"]
)
def test_each_option_is_declared_once(command, capsys):
    """Two branches each adding the same flag (``--force`` on infer did) make click warn at every
    run; shared options come from cli/_options once."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main([command, "--help"]) == 0
    capsys.readouterr()
