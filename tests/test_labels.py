"""Labels and how they surface in results: the packaged ImageNet-1k list, PaddleClas
class-id map parsing, and top-k post-processing with PaddleClas' output line format."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from conftest import IMAGENET_SAMPLE

from lcnet_ov.errors import InvalidModelFileError, LcnetOVError
from lcnet_ov.inputs.labels import (
    IMAGENET1K,
    LabelFileError,
    imagenet1k_labels,
    load_labels,
    parse_class_id_map,
)
from lcnet_ov.postprocess import is_probability, softmax, topk
from lcnet_ov.results import Prediction
from lcnet_ov.zoo import get_spec

SAMPLE_DIR = IMAGENET_SAMPLE  # conftest: ../shared/imagenet-sample or $LCNET_OV_IMAGENET_SAMPLE
#: SHA-256 of ppcls/utils/imagenet1k_label_list.txt as shipped in the paddleclas 2.6.0 wheel
PADDLECLAS_LIST_SHA256 = "33f41fec9a5036e84369f9bcee23c747cde5f9be1174bf76eb9dfeba690f2953"


def _packaged_bytes() -> bytes:
    return resources.files("lcnet_ov").joinpath("data", "imagenet1k_label_list.txt").read_bytes()


def test_packaged_file_is_paddleclas_list():
    data = _packaged_bytes()
    assert hashlib.sha256(data).hexdigest() == PADDLECLAS_LIST_SHA256
    lines = data.decode("ascii").split("\n")
    assert lines[-1] == ""  # ends with a newline, no blank lines inside
    lines = lines[:-1]
    assert len(lines) == 1000
    for i, line in enumerate(lines):
        assert re.fullmatch(rf"{i} \S.*\S|{i} \S", line), line


def test_imagenet_labels():
    labels = imagenet1k_labels()
    assert len(labels) == 1000
    assert labels[0] == "tench, Tinca tinca"
    assert labels[8] == "hen"
    assert labels[999] == "toilet tissue, toilet paper, bathroom tissue"
    assert load_labels(IMAGENET1K) is labels
    assert load_labels(get_spec("PPLCNet_x1_0")) == labels
    assert all(isinstance(x, str) and x == x.strip() for x in labels)


@pytest.mark.imagenet
def test_labels_agree_with_imagenet_sample():
    """val_list ids are positions in sorted-WNID order and file short names are label synonyms."""
    val_list = SAMPLE_DIR / "val_list.txt"
    if not val_list.is_file():
        pytest.skip(f"{val_list} not present")
    rows = [line.split() for line in val_list.read_text().splitlines() if line.strip()]
    labels = imagenet1k_labels()
    wnids = sorted(name.split("_", 1)[0] for name, _ in rows)
    assert len(set(wnids)) == len(wnids)
    for name, class_id in rows:
        wnid, short = Path(name).stem.split("_", 1)
        cid = int(class_id)
        if len(rows) == 1000:
            assert wnids.index(wnid) == cid, name
        synonyms = [s.strip().lower() for s in labels[cid].split(",")]
        assert short.replace("_", " ").lower() in synonyms, (name, labels[cid])
    ids = {int(c) for _, c in rows}
    if len(rows) == 1000:
        assert ids == set(range(1000))
        assert dict((int(c), n) for n, c in rows)[0].startswith("n01440764_tench")
        assert dict((int(c), n) for n, c in rows)[999].startswith("n15075141_toilet_tissue")


def test_topk_uses_paddleclas_names():
    probs = np.zeros((1, 1000), np.float32)
    probs[0, [8, 7, 86]] = [0.9, 0.07, 0.03]
    (pred,) = topk(probs, k=3, labels=imagenet1k_labels())
    assert pred.label_names == ("hen", "cock", "partridge")


def test_text_orientation_spec_labels():
    assert load_labels(get_spec("text_image_orientation")) == ("0", "90", "180", "270")


def _write(tmp_path: Path, text: str | bytes, name: str = "labels.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def test_parse_class_id_map_like_paddleclas(tmp_path):
    p = _write(tmp_path, "0 tench, Tinca tinca\n1 great  white shark\n2 ñandú\n\n")
    assert parse_class_id_map(p) == {0: "tench, Tinca tinca", 1: "great  white shark", 2: "ñandú"}


def test_parse_tolerates_bom_crlf_tabs(tmp_path):
    p = _write(tmp_path, b"\xef\xbb\xbf0 cat\r\n1\tdog\r\n2 bird \r\n")
    assert parse_class_id_map(p) == {0: "cat", 1: "dog", 2: "bird"}


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("0 cat\ndog\n", 2, "expected"),
        ("0 cat\n1\n", 2, "expected"),
        ("0 cat\n1  \n", 2, "no label name"),
        ("0 cat\nx dog\n", 2, "expected"),
        ("0 cat\n-1 dog\n", 2, "negative"),
        ("0 cat\n1 dog\n0 cow\n", 3, "already defined on line 1"),
    ],
)
def test_malformed_lines_named(tmp_path, text, line, what):
    p = _write(tmp_path, text, "my labels.txt")
    with pytest.raises(LabelFileError, match=rf"my labels\.txt:{line}: .*{what}"):
        parse_class_id_map(p)


def test_empty_missing_and_binary_files(tmp_path):
    with pytest.raises(LabelFileError, match="no labels"):
        parse_class_id_map(_write(tmp_path, "\n\n"))
    with pytest.raises(LabelFileError, match="not found"):
        parse_class_id_map(tmp_path / "absent.txt")
    with pytest.raises(LabelFileError, match="UTF-8"):
        parse_class_id_map(_write(tmp_path, b"0 \xff\xfe\n", "bin.txt"))


def test_errors_are_domain_errors():
    assert issubclass(LabelFileError, InvalidModelFileError)
    assert issubclass(LabelFileError, LcnetOVError)


def test_load_labels_sources(tmp_path):
    p = _write(tmp_path, "1 dog\n0 cat\n")
    assert load_labels(p) == ("cat", "dog")
    assert load_labels(str(p)) == ("cat", "dog")
    assert load_labels(["a", "b"]) == ("a", "b")
    assert load_labels(None, class_id_map_file=p) == ("cat", "dog")
    with pytest.raises(LabelFileError, match="not a label file"):
        load_labels("imagenet21k")
    with pytest.raises(ValueError):
        load_labels(None)
    with pytest.raises(TypeError):
        load_labels([1, 2])  # type: ignore[list-item]


def test_gaps_in_ids_rejected(tmp_path):
    p = _write(tmp_path, "0 cat\n2 dog\n")
    assert parse_class_id_map(p) == {0: "cat", 2: "dog"}
    with pytest.raises(LabelFileError, match="missing 1"):
        load_labels(p)


def test_class_id_map_overrides_spec_and_count_checked(tmp_path):
    spec = get_spec("text_image_orientation")
    p = _write(tmp_path, "0 up\n1 right\n2 down\n3 left\n")
    assert load_labels(spec, class_id_map_file=p) == ("up", "right", "down", "left")
    short = _write(tmp_path, "0 up\n1 right\n", "short.txt")
    with pytest.raises(LabelFileError, match=r"4 classes.*short\.txt.*2 labels"):
        load_labels(spec, class_id_map_file=short)
    wrong = dataclasses.replace(spec, labels=("a", "b"))
    with pytest.raises(LabelFileError, match="4 classes"):
        load_labels(wrong)


# ---- Post-processing: top-k and the PaddleClas line format ---------------------------------


def test_topk_order_and_values_untouched():
    probs = np.array([[0.1, 0.6, 0.05, 0.25], [0.7, 0.1, 0.1, 0.1]], dtype=np.float32)
    preds = topk(probs, k=2)
    assert [p.class_ids for p in preds] == [(1, 3), (0, 1)]
    # probabilities are used as-is (no second softmax)
    assert preds[0].scores == (float(probs[0, 1]), float(probs[0, 3]))
    assert preds[0].label_names == () and preds[0].filename is None


def test_topk_ties_lower_id_first():
    probs = np.array([[0.2, 0.4, 0.4, 0.0, 0.0]])
    assert topk(probs, k=5)[0].class_ids == (1, 2, 0, 3, 4)
    flat = np.full((1, 1000), 0.001)
    assert topk(flat, k=5)[0].class_ids == (0, 1, 2, 3, 4)


def test_topk_ids_equal_the_full_stable_sort(monkeypatch):
    """The partial selection picks exactly the full stable sort's first k, ties included, and
    it is what runs (np.partition) on finite rows; a row with NaN/inf is sorted whole."""
    from lcnet_ov.postprocess import topk_ids

    partitions = []
    partition = np.partition
    monkeypatch.setattr(
        np, "partition", lambda *a, **kw: partitions.append(1) or partition(*a, **kw)
    )
    rng = np.random.default_rng(7)
    for classes, k in [(1000, 5), (1000, 1), (1000, 100), (80, 5), (26, 5), (4, 5)]:
        for levels in (None, 3, 20):  # continuous scores, and heavily tied ones
            x = rng.random((16, classes)).astype(np.float32)
            if levels:
                x = np.round(x * levels) / levels
            x[3] = 0.0
            x[4, ::2] = -0.0  # signed zeros tie with zeros, as in the full sort
            with_nan = x.copy()
            with_nan[5, classes // 2] = np.nan  # NaN ranks last, in its own row only
            with_nan[6, 0] = np.inf
            for scores in (x, with_nan):
                expect = np.argsort(-scores.astype(np.float64), axis=1, kind="stable")[:, :k]
                assert np.array_equal(topk_ids(scores, k), expect), (classes, k, levels)
    assert len(partitions) == 4 * 3 * 2  # all but the 26- and 4-class cases, both matrices


def test_topk_clips_k_and_accepts_vector():
    (pred,) = topk(np.array([0.3, 0.7]), k=5)
    assert pred.class_ids == (1, 0)
    with pytest.raises(ValueError):
        topk(np.array([[0.3, 0.7]]), k=0)


def test_topk_labels_and_filenames():
    probs = np.array([[0.1, 0.9], [0.8, 0.2]])
    preds = topk(probs, k=1, labels=("cat", "dog"), filenames=["a.jpg", "b.jpg"])
    assert [(p.label_name, p.filename, p.class_id) for p in preds] == [
        ("dog", "a.jpg", 1),
        ("cat", "b.jpg", 0),
    ]
    with pytest.raises(ValueError):
        topk(probs, labels=("only one",))
    with pytest.raises(ValueError):
        topk(probs, filenames=["a.jpg"])


def test_topk_rejects_nan():
    with pytest.raises(ValueError, match=r"b\.jpg"):
        topk(np.array([[0.5, 0.5], [np.nan, 1.0]]), filenames=["a.jpg", "b.jpg"])


def test_prediction_format_matches_paddleclas_line():
    pred = Prediction(
        class_ids=(8, 7, 86, 81, 85),
        scores=(0.9134712, 0.0377895, 0.0036013, 0.0011749, 0.0011201),
        label_names=("hen", "cock", "partridge", "ptarmigan", "quail"),
        filename="docs/images/whl_demo.jpg",
    )
    assert pred.format() == (
        "class_ids: [8, 7, 86, 81, 85], scores: [0.91347, 0.03779, 0.0036, 0.00117, 0.00112], "
        "label_names: ['hen', 'cock', 'partridge', 'ptarmigan', 'quail'], "
        "filename: docs/images/whl_demo.jpg"
    )
    assert str(pred) == pred.format()
    assert pred.to_dict() == {
        "class_ids": [8, 7, 86, 81, 85],
        "scores": [0.91347, 0.03779, 0.0036, 0.00117, 0.00112],
        "label_names": ["hen", "cock", "partridge", "ptarmigan", "quail"],
        "filename": "docs/images/whl_demo.jpg",
    }
    assert pred.to_dict(decimals=None)["scores"][0] == 0.9134712


def test_prediction_format_without_filename_or_labels():
    pred = Prediction(class_ids=(2,), scores=(0.5,))
    assert pred.format() == "class_ids: [2], scores: [0.5], label_names: []"
    assert "filename" not in pred.to_dict() and pred.label_name is None
    with pytest.raises(AttributeError):
        pred.scores = (1.0,)  # type: ignore[misc]


def test_softmax_and_is_probability():
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]], dtype=np.float32)
    p = softmax(logits)
    assert p.dtype == np.float32 and np.all(np.isfinite(p))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(softmax(logits[:1] + 50), p[:1], atol=1e-6)
    assert np.allclose(p[1], [0.5, 0.5, 0.0])
    assert is_probability(p)
    assert not is_probability(logits)
    assert not is_probability(np.array([[0.5, 0.6]]))
    assert not is_probability(np.array([[1.2, -0.2]]))
    assert not is_probability(np.array([[np.nan, 1.0]]))
    assert is_probability(np.array([0.2, 0.3, 0.5004]))
    assert np.allclose(softmax([0, 0]), [0.5, 0.5])
