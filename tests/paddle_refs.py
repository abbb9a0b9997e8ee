"""PaddleX 3 and PaddleClas' own predictors as references, in a child interpreter.

They need ``opencv-contrib-python`` (which clashes with our ``opencv-python``) and
``paddlex``'s pins, so they live in a venv of their own: ``$LCNET_OV_PADDLEX_PYTHON``, else
``.ci-pdx/bin/python`` in the checkout (what ``.ci/run`` builds), else
``/work/pdx-venv/bin/python``. All images of a model go through ONE child process (importing
PaddleX costs seconds).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "references"
ENV = "LCNET_OV_PADDLEX_PYTHON"


def reference_python() -> Path | None:
    """The reference venv's interpreter, or ``None`` when there is none on this machine."""
    given = os.environ.get(ENV)
    if given:
        return Path(given) if Path(given).is_file() else None
    for cand in (REPO / ".ci-pdx" / "bin" / "python", Path("/work/pdx-venv/bin/python")):
        if cand.is_file():
            return cand
    return None


def _run(python: Path, script: str, args: list[str], timeout: float) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK="True", GLOG_minloglevel="2")
    env.pop("FLAGS_enable_pir_api", None)
    done = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(SCRIPTS),
    )
    if done.returncode:
        raise RuntimeError(f"{script} failed (rc {done.returncode}):\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def paddlex_predict(
    python: Path, model_dir: Path, model_name: str, images: list[Path], timeout: float = 300
) -> list[dict]:
    """PaddleX's ``create_model(model_name, model_dir).predict`` per image (its result JSON,
    plus ``class_ids_row``: the image's own row of PaddleX 3.7.2's nested class_ids)."""
    return _run(python, "run_paddlex.py", [str(model_dir), model_name, *map(str, images)], timeout)


def paddleclas_predict(
    python: Path, config: Path, model_dir: Path, images: list[Path], timeout: float = 300
) -> list[dict]:
    """PaddleClas' deploy ``ClsPredictor`` per image: ``{"file", "result", "raw"}``."""
    args = [str(config), str(model_dir), *map(str, images)]
    return _run(python, "run_paddleclas.py", args, timeout)
