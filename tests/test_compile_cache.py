"""OpenVINO's compiled-model cache under $LCNET_OV_HOME/compiled: filled on first compile,
optional (env switch, unwritable home), never in the way of a read-only cache."""

from __future__ import annotations

import numpy as np

from lcnet_ov import Classifier, paths
from lcnet_ov.runtime.loaded_model import model_cache_config

PAGE = "samples/images/page_90deg.jpg"


def _blobs() -> list[str]:
    folder = paths.compiled_cache_dir()
    return sorted(p.name for p in folder.glob("*.blob")) if folder.is_dir() else []


def test_first_compile_writes_a_blob_the_next_one_reuses(orientation_xml, monkeypatch, tmp_path):
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))
    with Classifier(orientation_xml) as clf:
        first = clf.predict_probs([PAGE])
    blobs = _blobs()
    assert len(blobs) == 1
    with Classifier(orientation_xml) as clf:  # same model and settings: the same blob
        again = clf.predict_probs([PAGE])
    assert _blobs() == blobs
    assert np.array_equal(first, again)


def test_switched_off_or_unwritable_means_no_cache(orientation_xml, monkeypatch, tmp_path):
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LCNET_OV_COMPILE_CACHE", "0")
    assert model_cache_config() == {}
    with Classifier(orientation_xml) as clf:
        clf.predict_probs([PAGE])
    assert _blobs() == []
    monkeypatch.delenv("LCNET_OV_COMPILE_CACHE")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # no folder can be made below it, not even by root
    monkeypatch.setenv("LCNET_OV_HOME", str(blocker / "home"))
    assert model_cache_config() == {}
    with Classifier(orientation_xml) as clf:  # the IR is given by path: nothing else to write
        assert clf.predict_probs([PAGE]).shape == (1, 4)
