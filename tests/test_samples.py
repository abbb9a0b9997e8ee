"""The sample apps run as users run them (a fresh interpreter each) on tiny inputs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


# the zoo IR converted up front (conftest), so subprocesses and CLI runs see no progress
pytestmark = pytest.mark.usefixtures("orientation_xml")


def _run(script: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_classify_folder(tmp_path):
    for src in sorted((SAMPLES / "images").glob("*.jpg")):
        (tmp_path / src.name).write_bytes(src.read_bytes())
    (tmp_path / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    out = _run("classify_folder.py", str(tmp_path), cwd=tmp_path).splitlines()
    # page_0deg, page_180deg, page_270deg, page_90deg (sorted), then the broken file
    assert [line.split()[0] for line in out[:4]] == ["0", "180", "270", "90"]
    assert out[4].startswith("FAILED") and "zz_broken.jpg" in out[4]
    assert re.match(r"5 images \(1 failed\) in [\d.]+ s: [\d.]+ images/s", out[5])


@pytest.mark.slow
def test_producer_consumer(tmp_path):
    out = _run("producer_consumer.py", "--producers", "3", "--per-producer", "8", cwd=tmp_path)
    assert "results per producer: [8, 8, 8]" in out
    assert "24 images from 3 producers" in out
    assert "orientation accuracy: 24/24" in out


@pytest.mark.slow
def test_video_frames(tmp_path):
    video = tmp_path / "turn.avi"
    out = _run(
        "video_frames.py", "--frames", "8", "--per-turn", "2", "--out", str(video), cwd=tmp_path
    )
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT) == 8
    assert "frames classified correctly: 8/8" in out
    assert len(re.findall(r"^frame +\d+ \( *[\d.]+ s\):", out, flags=re.M)) == 8
