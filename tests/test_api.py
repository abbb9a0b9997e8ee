"""The public API: every name in ``lcnet_ov.__all__`` resolves; importing the package is light."""

from __future__ import annotations

import subprocess
import sys

import lcnet_ov


def test_every_public_name_resolves():
    missing = [name for name in lcnet_ov.__all__ if getattr(lcnet_ov, name, None) is None]
    assert missing == []


def test_import_is_light():
    heavy = ("openvino", "paddle", "nncf", "cv2")
    code = f"import sys, lcnet_ov; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
