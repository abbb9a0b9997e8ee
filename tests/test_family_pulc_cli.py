"""PULC models by zoo name, exactly as a user runs them, answer as PaddleClas' deploy predictor.

``lcnet-ov models download NAME --from NAME_infer.tar`` (the official PULC layout: a legacy
program, no config) then ``lcnet-ov infer --model NAME --json IMG...`` with no other option: the
converter must find PaddleClas' deploy yaml through the zoo entry (``spec.config_file``), since
the tarball has none. The reference is PaddleClas 2.6's ``ClsPredictor`` with the yaml from its
own wheel (not our packaged copy), on the same extracted folder (tests/paddle_refs.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IMAGENET_SAMPLE, REPO, skip_or_fail
from paddle_refs import paddleclas_predict, reference_python

from lcnet_ov import zoo

pytestmark = pytest.mark.slow

SCORE_ATOL = 1e-5 + 5e-6  # as tests/test_family_references.py


@pytest.fixture(scope="module")
def ref_python() -> Path:
    python = reference_python()
    if python is None:
        skip_or_fail("paddlex", "no PaddleX reference venv ($LCNET_OV_PADDLEX_PYTHON, .ci-pdx)")
    return python


@pytest.fixture(scope="module")
def images() -> list[Path]:
    if (IMAGENET_SAMPLE / "val_list.txt").is_file():
        files = sorted(p for p in IMAGENET_SAMPLE.iterdir() if p.suffix.lower() == ".jpeg")
        return files[:8]
    return sorted((REPO / "samples" / "images").glob("*.jpg"))


def _cli(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LCNET_OV_HOME=str(home), LCNET_OV_OFFLINE="1", PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "lcnet_ov", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.parametrize("name", ["person_exists", "person_attribute"])
def test_pulc_zoo_name_answers_as_paddleclas(
    name: str, images: list[Path], ref_python: Path, tmp_path: Path
) -> None:
    from lcnet_ov.testing.family_tars import build_tar

    tar = build_tar(name, tmp_path / "tars")
    home = tmp_path / "home"
    got = _cli(["models", "download", name, "--from", str(tar), "--no-progress"], home)
    assert got.returncode == 0, got.stderr
    folder = Path(got.stdout.strip().splitlines()[-1])
    assert not (folder / "inference.yml").exists()  # PULC ships none: the zoo's yaml is used

    got = _cli(["infer", "--model", name, "--json", *map(str, images)], home)
    assert got.returncode == 0, got.stderr
    ours = [json.loads(line) for line in got.stdout.splitlines() if line.startswith("{")]
    refs = paddleclas_predict(ref_python, Path(name), folder, images)  # the wheel's own yaml
    assert len(ours) == len(refs) == len(images)
    spec = zoo.get_spec(name)
    bad = []
    for img, mine, ref in zip(images, ours, refs, strict=True):
        want = ref["result"]
        if spec.kind == "person_attribute":
            chosen = [i for i, v in enumerate(want["output"]) if v]
            ok = (
                mine["attributes"] == want
                and sorted(mine["class_ids"]) == chosen
                and all(
                    abs(s - ref["raw"][i]) <= SCORE_ATOL
                    for i, s in zip(mine["class_ids"], mine["scores"], strict=True)
                )
            )
        else:
            ok = (
                mine["class_ids"] == want["class_ids"]
                and mine["label_names"] == want["label_names"]
                and len(mine["scores"]) == len(want["scores"])
                and all(
                    abs(a - b) <= SCORE_ATOL
                    for a, b in zip(mine["scores"], want["scores"], strict=True)
                )
            )
        if not ok:
            bad.append(f"{img.name}: ours {mine} vs PaddleClas {want} (raw {ref['raw']})")
    assert not bad, "\n".join(bad)
