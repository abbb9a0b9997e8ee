"""Where lcnet-ov keeps downloads and converted models.

``LCNET_OV_HOME`` overrides the default ``~/.cache/lcnet-ov`` (read at call time, so tests and
services can point it elsewhere without re-importing).

Layout::

    $LCNET_OV_HOME/
      downloads/<archive>.tar       official tarballs (+ .sha256 recorded on first download)
      models/<name>/<archive_dir>/  extracted Paddle inference models
      ir/<name>/<precision>/model.xml|.bin   converted OpenVINO IRs
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "LCNET_OV_HOME"


def cache_dir() -> Path:
    root = os.environ.get(ENV_HOME) or os.path.join("~", ".cache", "lcnet-ov")
    return Path(root).expanduser()


def downloads_dir() -> Path:
    return cache_dir() / "downloads"


def models_dir(name: str) -> Path:
    return cache_dir() / "models" / name


def ir_path(name: str, precision: str = "fp32") -> Path:
    """Where the zoo keeps the IR of ``name`` at ``precision`` (``fp32``, ``fp16``, ``int8``)."""
    return cache_dir() / "ir" / name / precision / "model.xml"
