"""What a one-image ``lcnet-ov infer`` process loads (issue 24: a warm run under 0.5 s).

Not a timing test: it checks the modules that made the process slow stay out of it. Measured
on the 2-core AMD EPYC (docs/benchmarks.md, section "startup"): OpenVINO's conversion API
(``openvino.tools.ovc``, pulled in by ``import openvino``; it loads ``importlib.metadata`` and
``openvino_telemetry``, whose thread sends an event and is joined at exit) cost 0.2-0.3 s of a
bare ``import openvino`` process; the video reader, the async pipeline and the export side's
conversion code are not needed for one image of a model already converted; NumPy's and
OpenCV's OpenBLAS workers spun for ~0.1 s each after loading, taking CPU from the main thread
(perf: ~0.2 s of CPU samples in a 0.5 s process); and tearing the interpreter down after the
output was written took 40-70 ms (``lcnet_ov.cli.run`` skips it for a local ``infer``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

IMAGE = Path(__file__).resolve().parents[1] / "samples" / "images" / "page_90deg.jpg"

#: modules a one-image infer of a converted model must not load (prefixes)
NOT_LOADED = (
    "lcnet_ov.inputs.video",
    "lcnet_ov.inputs.frame_buffer",
    "lcnet_ov.runtime.stream",
    "lcnet_ov.runtime.async_classifier",
    "lcnet_ov.runtime.speed",
    "paddle",
    "onnx",
    "nncf",
    "openvino.tools.ovc",
    "openvino_telemetry",
    "importlib.metadata",
)
#: the only export-side modules the CLI may load when the IR is in the cache (the lookup)
EXPORT_ALLOWED = {"lcnet_ov.export", "lcnet_ov.export.resolve"}

CHILD = f"""
import atexit, importlib.util, json, os, sys

class Teardown:  # prints when the interpreter tears its modules down (an ordinary exit)
    def __del__(self):
        print("teardown", flush=True)

def report():  # an atexit handler: still runs when run() skips the teardown
    loaded = sorted(
        m for m in sys.modules
        if m.startswith({NOT_LOADED!r})
        or (m.startswith("lcnet_ov.export") and m not in {EXPORT_ALLOWED!r})
    )
    blas = None  # OpenBLAS pools of the NumPy and OpenCV loaded: thread counts
    if importlib.util.find_spec("threadpoolctl") is not None:
        import threadpoolctl
        blas = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["internal_api"] == "openblas"]
    import openvino
    convert = openvino.convert_model  # still there for whoever converts: imported on use
    print(json.dumps({{"loaded": loaded, "convert_model": convert.__module__, "blas": blas,
                      "env": "OPENBLAS_NUM_THREADS" in os.environ}}), flush=True)

sys.modules["_teardown_probe"] = Teardown()
atexit.register(report)
sys.argv = ["lcnet-ov", *sys.argv[1:]]
from lcnet_ov.cli import run
run()  # what the lcnet-ov script and python -m lcnet_ov call
"""


def _infer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, "infer", "-m", "text_image_orientation", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow  # one process that compiles a model: ~0.5-1 s
def test_one_image_infer_loads_no_video_export_or_conversion_code(orientation_xml):
    out = _infer(str(IMAGE))
    assert out.returncode == 0, out.stderr[-2000:]
    line, last = out.stdout.strip().splitlines()  # nothing after: no teardown ran
    assert line.startswith("class_ids: [") and line.endswith(f"filename: {IMAGE}")
    report = json.loads(last)
    assert report["loaded"] == []
    assert report["convert_model"].startswith("openvino.tools.ovc")
    # NumPy's and OpenCV's OpenBLAS loaded with one thread (no spinning workers), and the
    # variable that did it is gone again
    if report["blas"] is not None:
        assert report["blas"] and set(report["blas"]) == {1}, report["blas"]
    assert report["env"] is False
    assert "Traceback" not in out.stderr


@pytest.mark.slow  # one process that compiles a model: ~0.5-1 s
def test_failed_infer_still_reports_and_exits_1_without_teardown(orientation_xml, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a JPEG")
    out = _infer(str(broken))
    assert out.returncode == 1
    assert out.stderr.splitlines()[-2:] == [
        f"error: {broken}: cannot decode image (not a supported image)",
        "Error: 1 of 1 inputs could not be classified",
    ]
    assert "teardown" not in out.stdout and json.loads(out.stdout)["loaded"] == []


def test_only_a_local_infer_skips_the_teardown():
    from lcnet_ov.cli import _local_infer

    assert _local_infer(["infer", "a.jpg"]) and _local_infer(["infer", "--engine", "local"])
    assert not _local_infer(["infer", "--engine", "ray", "-o", "x.parquet", "d"])
    assert not _local_infer(["infer", "--engine=ray"]) and not _local_infer(["infer", "--engine"])
    assert not _local_infer(["convert", "m"]) and not _local_infer([])
