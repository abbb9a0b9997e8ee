"""README.md as a user runs it: every ```python block executes as written.

Each block runs in a fresh interpreter in a folder holding what the quickstart leaves (the
``samples/`` of the checkout, and the converted text-orientation IR in the test cache), so a
placeholder path a reader would have to guess (``more/*.jpg``, ``model.xml``) fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[str]:
    return BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))


def test_readme_has_python_blocks():
    blocks = python_blocks()
    assert len(blocks) >= 3  # metadata, Python API, running a model
    assert all(block.strip() for block in blocks)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(index, orientation_xml, tmp_path):
    (tmp_path / "samples").symlink_to(REPO / "samples")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", python_blocks()[index]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"README python block {index} failed:\n{out.stderr[-3000:]}"
    assert out.stdout.strip(), "every block prints what it shows"
