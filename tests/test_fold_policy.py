"""The folding policy (``lcnet_ov.policy.fold_by_default``): INT8 IRs normalize inside the
compiled graph at every entry point that leaves the choice open, FP32 IRs stay exact, and the
INT8 answers do not change by it (the quantizer absorbs the folded mean and scale).

Real NNCF INT8 quantization of the trained text-orientation model; real OpenVINO inference on
rendered pages and the repository's sample photos-of-pages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from quant_data import cached_dataset, orientation_int8

from lcnet_ov.cli import main
from lcnet_ov.policy import fold_by_default
from lcnet_ov.runtime.async_classifier import AsyncClassifier
from lcnet_ov.runtime.classifier import Classifier
from lcnet_ov.runtime.loaded_model import LoadedModel

pytestmark = pytest.mark.slow
SAMPLES = sorted((Path(__file__).parents[1] / "samples" / "images").glob("*.jpg"))


@pytest.fixture(scope="module")
def int8_xml(orientation_xml, tmp_path_factory) -> Path:
    return orientation_int8(tmp_path_factory, orientation_xml)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[Path]:
    root = cached_dataset(tmp_path_factory, 40, 5)
    return [*sorted(root.rglob("*.jpg"))[:40], *SAMPLES]


def test_the_policy_folds_int8_only(orientation_xml, int8_xml):
    assert fold_by_default("int8") and not fold_by_default("fp32")
    assert LoadedModel(int8_xml, fold_preprocessing=None).folded
    assert not LoadedModel(orientation_xml, fold_preprocessing=None).folded
    # an explicit choice wins over the policy, both ways
    assert not LoadedModel(int8_xml, fold_preprocessing=False).folded
    assert LoadedModel(orientation_xml, fold_preprocessing=True).folded


def test_folded_int8_answers_what_the_exact_int8_path_answers(int8_xml, pages):
    files = [str(p) for p in pages]
    with (
        Classifier(int8_xml, fold_preprocessing=False) as exact,
        Classifier(int8_xml, fold_preprocessing=None) as policy,
    ):
        assert policy.model.folded and not exact.model.folded
        a, b = exact.predict_probs(files), policy.predict_probs(files)
    assert (a.argmax(1) == b.argmax(1)).all()
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_infer_folds_an_int8_ir_and_prints_the_exact_answers(int8_xml, pages, tmp_path, capfd):
    folder = tmp_path / "pages"
    folder.mkdir()
    for i, page in enumerate(pages):
        (folder / f"{i:03d}{page.suffix}").write_bytes(page.read_bytes())

    def run(*extra: str) -> list[dict]:
        assert main(["infer", "-m", str(int8_xml), str(folder), "--json", *extra]) == 0
        return [json.loads(line) for line in capfd.readouterr().out.splitlines()]

    default, exact = run(), run("--exact-preprocessing")
    assert len(default) == len(pages)
    assert [r["class_ids"] for r in default] == [r["class_ids"] for r in exact]
    for got, want in zip(default, exact, strict=True):
        np.testing.assert_allclose(got["scores"], want["scores"], rtol=0, atol=1e-5)
    # and the pipeline `infer DIR` opens follows the policy when nothing is said
    with AsyncClassifier(int8_xml, fold_preprocessing=None) as clf:
        assert clf.model.folded
