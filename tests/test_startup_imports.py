"""What a one-image ``lcnet-ov infer`` process loads (issue 24: a warm run under 0.5 s).

Not a timing test: it checks the modules that made the process slow stay out of it. Measured
on the 2-core AMD EPYC (docs/benchmarks.md, section "startup"): OpenVINO's conversion API
(``openvino.tools.ovc``, pulled in by ``import openvino``; it loads ``importlib.metadata`` and
``openvino_telemetry``, whose thread sends an event and is joined at exit) cost 0.2-0.3 s of a
bare ``import openvino`` process; the video reader, the async pipeline and the export side's
conversion code are not needed for one image of a model already converted.
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
import json, sys
from lcnet_ov.cli import main
code = main(["infer", "-m", "text_image_orientation", {str(IMAGE)!r}])
loaded = sorted(
    m for m in sys.modules
    if m.startswith({NOT_LOADED!r})
    or (m.startswith("lcnet_ov.export") and m not in {EXPORT_ALLOWED!r})
)
import openvino
convert = openvino.convert_model  # still there for whoever converts: imported on first use
print(json.dumps({{"code": code, "loaded": loaded, "convert_model": convert.__module__}}))
"""


@pytest.mark.slow  # one process that compiles a model: ~0.5-1 s
def test_one_image_infer_loads_no_video_export_or_conversion_code(orientation_xml):
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    *lines, last = out.stdout.strip().splitlines()
    report = json.loads(last)
    assert report["code"] == 0, out.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("class_ids: [")
    assert lines[0].endswith(f"filename: {IMAGE}")
    assert report["loaded"] == []
    assert report["convert_model"].startswith("openvino.tools.ovc")
    assert "Traceback" not in out.stderr
