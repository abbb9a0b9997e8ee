"""OpenVINO Model API as the e2e benchmark's peer (``benchmarks._model_api_peer``): it runs
our IR at the precision asked for, classifies real files, and the script reports it per round."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from lcnet_ov.testing import text_orientation_set

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sorted((REPO / "samples" / "images").glob("page_*deg.jpg"))


@pytest.fixture(scope="module")
def peer_module(need):
    need("model_api")  # skips without openvino-model-api, fails when LCNET_OV_REQUIRE has it
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO))  # the benchmarks package lives in the checkout only
        yield importlib.import_module("benchmarks._model_api_peer")


@pytest.mark.slow
def test_peer_runs_our_ir_in_f32_and_classifies_the_sample_pages(peer_module, orientation_xml):
    assert peer_module.available() is None
    peer = peer_module.ModelApiPeer(orientation_xml, threads=1)
    # what we asked for, read back from the plugin: not Model API's default (bf16 on AMX CPUs)
    assert peer.compiled_property("INFERENCE_PRECISION_HINT") == "f32"
    assert peer.compiled_property("INFERENCE_NUM_THREADS") == 1
    assert peer.resize_type == "standard" and peer.num_requests >= 2
    expected = [int(f.stem.split("_")[1][:-3]) // 90 for f in SAMPLES]
    assert sorted(expected) == [0, 1, 2, 3]
    assert peer.classify(SAMPLES * 3) == expected * 3  # in order, through AsyncPipeline
    rate, cpu_ms = peer.rate(SAMPLES)
    assert rate > 0 and cpu_ms > 0
    defaults = peer_module.default_setup(orientation_xml)
    assert defaults["INFERENCE_PRECISION_HINT"] in ("f32", "bf16", "f16")


def test_agreement_counts_matches(peer_module):
    assert peer_module.agreement([0, 1, 2, 3], [0, 1, 3, 3]) == "3/4 (75.0 %)"


@pytest.mark.slow
@pytest.mark.usefixtures("orientation_xml")
def test_e2e_script_reports_model_api_per_round(peer_module, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    images, _ = text_orientation_set(12, seed=5)
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"p{i:02d}.jpg"), cv2.resize(img, None, fx=0.7, fy=0.5))
    doc = tmp_path / "docs" / "benchmarks.md"
    args = ["--folder", str(folder), "--limit", "12", "--repeats", "2", "--max-batch", "4"]
    args += ["--no-int8", "--pages", "8", "--pages-dir", str(tmp_path / "pages")]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.e2e_throughput", *args, "--write", "--docs",
         str(doc.parent)],
        cwd=REPO,
        env={**os.environ, "LCNET_OV_BENCH_WORK": str(tmp_path / "work")},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = doc.read_text()
    section = text.split("### Against OpenVINO Model API", 1)[1]
    assert "`INFERENCE_PRECISION_HINT=f32` set in its plugin config" in section
    speed = {
        m["name"]: m["rest"]
        for m in re.finditer(r"^\| (?P<name>`photos` \(12\)|rendered pages \(8\)) \|(?P<rest>.*)$",
                             section, re.M)
    }  # fmt: skip
    assert set(speed) == {"`photos` (12)", "rendered pages (8)"}
    for rest in speed.values():
        cells = [c.strip() for c in rest.split("|")]
        per_round = [float(r) for r in cells[-3].split(",")]
        assert len(per_round) == 2 and all(r > 0 for r in per_round)  # one ratio per round
        assert float(cells[-2].strip("* ").split()[0].strip("*")) > 0  # CPU-cost ratio
        assert float(cells[1].split()[0]) > 0  # Model API img/s
    # agreement rows: labelled pages get accuracies, the sample pages are all classified right
    assert re.search(r"^\| rendered pages \| \d+/8 .*\| \d+/8 \(.*\|$", section, re.M)
    assert re.search(r"^\| sample pages \| 4/4 \(100\.0 %\) \|.*\| 4/4 \(100\.0 %\) \|$",
                     section, re.M)  # fmt: skip
    assert re.search(r"would cost at most \d+\.\d+× less\s+than Model API's \d+\.\d+ ms", section)
    assert re.search(r"`photos`: lcnet-ov \d+\.\d+, Model API \d+\.\d+;", section)
    assert re.search(r"load average \(1 min\) at each round's\s+start: [\d.]+, [\d.]+\.", section)
