"""The end-to-end benchmark script runs as users run it (a fresh interpreter, a small folder),
reports every configuration with its CPU-time ceiling, and rewrites only its own doc section."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from lcnet_ov.testing import text_orientation_set

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "e2e_throughput.py"


# the zoo IR converted up front (conftest), so subprocesses and CLI runs see no progress
pytestmark = pytest.mark.usefixtures("orientation_xml")


def _pages(folder: Path, count: int, seed: int) -> Path:
    """``count`` rendered text pages as JPEG files in ``folder``."""
    folder.mkdir()
    images, _ = text_orientation_set(count, seed=seed)
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"page{i:02d}.jpg"), img)
    return folder


@pytest.mark.slow
def test_e2e_script_measures_both_paths_and_writes_only_its_section(tmp_path):
    folder = _pages(tmp_path / "pages", 16, seed=2)
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Mine\n\nkept\n\n<!-- e2e:start -->\nstale numbers\n<!-- e2e:end -->\n\ntail\n"
    )
    args = ["--folder", str(folder), "--limit", "16", "--repeats", "1", "--max-batch", "4"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--no-int8", "--no-peer", "--out", str(doc)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = doc.read_text()
    assert text.startswith("# Mine\n\nkept\n\n<!-- e2e:start -->\n") and text.endswith("tail\n")
    assert "stale numbers" not in text
    rows = {
        m["label"]: [float(v) for v in re.findall(r"\d+\.\d+", m["rest"])]
        for m in re.finditer(r"^\| (?P<label>fp32 (?:exact|folded)) \|(?P<rest>.*)$", text, re.M)
    }
    assert set(rows) == {"fp32 exact", "fp32 folded"}
    for values in rows.values():
        # CPU ms/img of decode, model and end to end are all real, positive measurements
        assert all(v > 0 for v in values[:3])
    assert "16 images from `pages`" in text and "failed images: 0" in text


@pytest.mark.slow
def test_pipeline_overhead_script_splits_cpu_time_by_thread_group(tmp_path):
    folder = _pages(tmp_path / "pages", 24, seed=3)
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Mine\n\nkept\n")
    script = REPO / "benchmarks" / "pipeline_overhead.py"
    args = ["--folder", str(folder), "--limit", "24", "--repeats", "1", "--no-int8"]
    proc = subprocess.run(
        [sys.executable, str(script), *args, "--out", str(doc)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = doc.read_text()
    assert text.startswith("# Mine\n\nkept\n") and "<!-- pipeline-overhead:start -->" in text
    cells = {
        m["group"]: [float(v) for v in re.findall(r"[-+]?\d+\.\d+", m["rest"])[:3]]
        for m in re.finditer(r"^\| (?P<group>[^|]+?) \|(?P<rest>.*)$", text, re.M)
    }
    # inference runs on OpenVINO's own threads, decoding on the pool/prep threads, and the
    # infer workers only exist end to end: each measured where it really ran
    ov_alone, ov_e2e, _ = cells["OpenVINO threads"]
    prep_alone, prep_e2e, _ = cells["decode/prep threads"]
    workers_alone, workers_e2e, _ = cells["infer workers"]
    assert ov_alone > 0 and ov_e2e > 0 and prep_alone > 0 and prep_e2e > 0
    assert workers_alone == 0 and workers_e2e > 0
    total_alone, total_e2e, extra = cells["**process** (`process_time`)"]
    assert abs(total_e2e - total_alone - extra) < 0.02
    assert "24 images from `pages`" in text


@pytest.mark.slow
def test_peak_flops_int8_gemm_is_quantized_and_runs_on_an_integer_kernel(tmp_path, monkeypatch):
    """The INT8 limit of ``peak_flops.py`` is measured on a GEMM NNCF really quantized: the CPU
    plugin runs its MatMul at an 8-bit runtime precision, not in f32."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import peak_flops
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    monkeypatch.setattr(peak_flops, "WORK", tmp_path)
    fp32 = peak_flops.gemm_kernel(peak_flops.matmul_ir(64, "fp32"))
    int8 = peak_flops.gemm_kernel(peak_flops.matmul_ir(64, "int8"))
    assert fp32.endswith("(f32)"), fp32
    assert re.search(r"\((u8|i8)\)$", int8), int8
    assert (tmp_path / "matmul" / "n64-int8" / "model.xml").is_file()
