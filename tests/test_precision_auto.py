"""``precision="auto"``: the fastest IR present here, measured once and cached per machine and IR.

The INT8 IR is a real NNCF quantization of the text-orientation model; timings are real (short)
OpenVINO runs, so which IR wins depends on this CPU: the tests check that the pick is the
fastest of what was measured, that a second open reads the cache instead of timing again, and
that a changed IR is timed again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from quant_data import cached_dataset

from lcnet_ov import paths
from lcnet_ov.cli import main
from lcnet_ov.runtime import speed
from lcnet_ov.runtime.classifier import Classifier
from lcnet_ov.runtime.speed import Candidate, pick


def test_pick_never_takes_a_slower_or_tied_int8():
    fp32, bf16, int8 = (Candidate(x, Path("m.xml"), None) for x in ("fp32", "bf16", "int8"))
    assert pick([fp32, int8], [500.0, 450.0]) == 0
    assert pick([fp32, int8], [500.0, 500.0]) == 0
    assert pick([fp32, bf16, int8], [500.0, 620.0, 610.0]) == 1
    assert pick([fp32, bf16, int8], [500.0, 520.0, 900.0]) == 2


def test_one_candidate_is_not_timed(orientation_xml, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("timed a single candidate")

    monkeypatch.setattr(speed, "measure_rates", boom)
    monkeypatch.setattr(speed, "has_bf16", lambda: False)
    with Classifier(orientation_xml, precision="auto") as clf:
        assert clf.precision_choice.label == "fp32" and clf.xml == orientation_xml


@pytest.fixture(scope="module")
def int8_beside(orientation_xml, tmp_path_factory) -> Path:
    from lcnet_ov.export.quantization import quantize
    from lcnet_ov.paths import int8_ir_path

    calib = cached_dataset(tmp_path_factory, 300, 11, list_name="train_list.txt")
    out = int8_ir_path(orientation_xml)
    quantize(orientation_xml, calib, subset_size=20, output=out, progress=False, speed_seconds=None)
    return out


@pytest.mark.slow
def test_auto_picks_the_fastest_measured_and_caches_it(
    orientation_xml, int8_beside, monkeypatch, capfd
):
    cache = paths.home() / speed.CACHE_FILE
    cache.unlink(missing_ok=True)
    timed: list[list[str]] = []
    real = speed.measure_rates

    def counting(models, **kw):
        timed.append([str(m) for m, _ in models])
        return real(models, **kw)

    monkeypatch.setattr(speed, "measure_rates", counting)
    with Classifier(orientation_xml, precision="auto", threads=2) as clf:
        choice = clf.precision_choice
    assert not choice.cached and len(timed) == 1
    assert str(int8_beside) in timed[0] and str(orientation_xml) in timed[0]
    assert choice.fps[choice.label] == max(choice.fps.values())
    if choice.fps["int8"] <= choice.fps["fp32"]:
        assert choice.label != "int8"
    assert clf.xml == choice.xml and clf.metadata.precision == (
        "int8" if choice.label == "int8" else "fp32"
    )
    entry = next(iter(json.loads(cache.read_text()).values()))
    assert entry["label"] == choice.label

    # a second open (and the CLI, and another class) reads the cache: nothing is timed again
    from lcnet_ov.runtime.async_classifier import AsyncClassifier

    with AsyncClassifier(orientation_xml, precision="auto", threads=2) as again:
        assert again.precision_choice.cached and again.model.xml == choice.xml
    assert len(timed) == 1

    # a re-quantized IR (new mtime) is timed again
    stat = int8_beside.stat()
    os.utime(int8_beside, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with Classifier(orientation_xml, precision="auto", threads=2) as third:
        assert not third.precision_choice.cached
    assert len(timed) == 2


@pytest.mark.slow
def test_cli_infer_and_bench_take_auto(orientation_xml, int8_beside, tmp_path, capfd):
    import cv2

    from lcnet_ov.testing import page

    img = tmp_path / "p.png"
    cv2.imwrite(str(img), page(3))
    assert main(["infer", "-m", "text_image_orientation", "-p", "auto", "--json", str(img)]) == 0
    row = json.loads(capfd.readouterr().out)
    assert row["filename"] == str(img) and len(row["class_ids"]) == 4
    args = ["bench", "-m", "text_image_orientation", "-p", "auto", "--time", "0.3", "--json"]
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert "auto: " in err and json.loads(out)
    assert main(["eval", "-m", "text_image_orientation", "-p", "auto", "-d", "."]) == 2
