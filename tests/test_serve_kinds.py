"""Serving models that are not top-k classifiers (docs/serving.md "Multi-label and attribute
models"): OIP ``class_ids``/``scores``/``label_names`` are each image's own answer (every label
over its threshold, highest first) padded to the batch's longest with ``-1`` / ``""``,
``probabilities`` the whole sigmoid vector, and attribute models add ``attributes`` (``[N]``
BYTES, one JSON document per image). The answers must equal ``Classifier.predict``'s (what
``lcnet-ov infer`` prints). Small real sigmoid IRs with the metadata the converter writes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov import Classifier
from lcnet_ov.postprocess import PERSON_ATTRIBUTE_LABELS, Postprocess
from lcnet_ov.testing.kind_models import kind_ir

TAGS = tuple(f"tag_{i}" for i in range(6))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("kind-images")
    rng = np.random.default_rng(3)
    out = []
    for i in range(6):
        img = cv2.resize(rng.integers(0, 256, (4, 4, 3), np.uint8), (40 + 3 * i, 36))
        path = root / f"img_{i}.png"
        cv2.imwrite(str(path), img)
        out.append(path)
    return out


def _expected(xml: Path, files: list[Path]) -> list[dict]:
    with Classifier(xml) as clf:
        return [p.to_dict() for p in clf.predict(files)]


@pytest.mark.slow
def test_multilabel_model_over_oip_and_classify(files, tmp_path) -> None:
    from lcnet_ov.testing.server import ServerProcess

    post = Postprocess(kind="multilabel", topk=None, threshold=0.5, labels=TAGS,
                       activation="sigmoid")  # fmt: skip
    xml = kind_ir(tmp_path, "tags", 6, post, TAGS)
    want = _expected(xml, files)
    counts = {len(w["class_ids"]) for w in want}
    assert len(counts) > 1  # images answer different numbers of labels: padding is exercised
    body = {
        "inputs": [
            {
                "name": "image",
                "datatype": "BYTES",
                "shape": [len(files)],
                "data": [base64.b64encode(f.read_bytes()).decode() for f in files],
            }
        ]
    }
    with ServerProcess(xml, env={"LCNET_OV_HOME": str(tmp_path / "home")}) as srv:
        meta = json.loads(srv.urlopen("/v2/models/tags").read())
        assert [o["name"] for o in meta["outputs"]] == [
            "probabilities", "class_ids", "scores", "label_names"
        ]  # fmt: skip
        got = json.loads(
            srv.urlopen(
                "/v2/models/tags/infer",
                json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            ).read()
        )
        out = {o["name"]: o for o in got["outputs"]}
        m = max(counts)
        assert out["class_ids"]["shape"] == [len(files), m]
        ids = np.array(out["class_ids"]["data"]).reshape(len(files), m)
        scores = np.array(out["scores"]["data"], dtype=np.float32).reshape(len(files), m)
        names = np.array(out["label_names"]["data"], dtype=object).reshape(len(files), m)
        probs = np.array(out["probabilities"]["data"], dtype=np.float32).reshape(len(files), 6)
        for r, w in enumerate(want):
            c = len(w["class_ids"])
            assert ids[r, :c].tolist() == w["class_ids"] and (ids[r, c:] == -1).all()
            assert scores[r, :c].tolist() == pytest.approx(
                w["scores"], abs=6e-6
            )  # to_dict rounds to 5 places
            assert (scores[r, c:] == -1).all()
            assert names[r, :c].tolist() == w["label_names"] and set(names[r, c:]) <= {""}
            assert sorted(np.nonzero(probs[r] > 0.5)[0].tolist()) == sorted(w["class_ids"])
        # the curl route answers the same labels, not a top-5
        for f, w in zip(files[:2], want[:2], strict=True):
            one = json.loads(srv.urlopen("/v2/models/tags/classify", f.read_bytes()).read())
            assert one["class_ids"] == w["class_ids"] and one["label_names"] == w["label_names"]


@pytest.mark.slow
def test_attribute_model_adds_an_attributes_output(files, tmp_path) -> None:
    """A person_attribute model behind a real server: ``attributes`` [N] BYTES, one JSON
    document per image, equal to what infer decodes (in a child process: kserve's gRPC protos
    clash with tritonclient's once both are imported into one test process)."""
    from lcnet_ov.testing.server import ServerProcess

    post = Postprocess(kind="person_attribute", topk=None, activation="sigmoid")
    xml = kind_ir(tmp_path, "pa", 26, post, PERSON_ATTRIBUTE_LABELS)
    want = _expected(xml, files)
    body = {
        "inputs": [
            {
                "name": "image",
                "datatype": "BYTES",
                "shape": [len(files)],
                "data": [base64.b64encode(f.read_bytes()).decode() for f in files],
            }
        ]
    }
    with ServerProcess(xml, env={"LCNET_OV_HOME": str(tmp_path / "home")}) as srv:
        meta = json.loads(srv.urlopen("/v2/models/pa").read())
        assert meta["outputs"][-1] == {"name": "attributes", "datatype": "BYTES", "shape": [-1]}
        headers = {"Content-Type": "application/json"}
        got = json.loads(
            srv.urlopen("/v2/models/pa/infer", json.dumps(body).encode(), headers=headers).read()
        )
        out = {o["name"]: o for o in got["outputs"]}
        assert out["attributes"]["shape"] == [len(files)]
        docs = [json.loads(d) for d in out["attributes"]["data"]]
        assert docs == [w["attributes"] for w in want]
        m = out["class_ids"]["shape"][1]
        ids = np.array(out["class_ids"]["data"]).reshape(len(files), m)
        for r, w in enumerate(want):
            assert ids[r, : len(w["class_ids"])].tolist() == w["class_ids"]
        one = json.loads(srv.urlopen("/v2/models/pa/classify", files[0].read_bytes()).read())
        assert one["attributes"] == want[0]["attributes"]
