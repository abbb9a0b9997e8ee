"""``eval`` per kind of model: multi-label (mAP, per-label accuracy) and binary threshold models.

The IRs are small real OpenVINO graphs (conv → global pool → fc → sigmoid/softmax) whose
``rt_info`` carries lcnet-ov metadata written by :func:`write_metadata` with the post-processing
the converter takes from the model's own config: read here by
:func:`~lcnet_ov.inputs.model_config.read_model_config` from a PaddleX 3 ``inference.yml`` or a
PaddleClas PULC deploy yaml (the packaged one for person_attribute), activation from the graph.
Every number is checked against an independent computation: each file preprocessed and
inferred on its own, the metrics from scikit-learn or plain numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov import zoo
from lcnet_ov.cli import main
from lcnet_ov.errors import DatasetError
from lcnet_ov.inputs.datasets import open_image_set, read_list_file
from lcnet_ov.inputs.model_config import read_model_config
from lcnet_ov.inputs.preprocess import preprocess_image
from lcnet_ov.postprocess import Postprocess
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.runtime.evaluation import evaluate
from lcnet_ov.runtime.label_metrics import average_precision
from lcnet_ov.runtime.metadata import (
    ModelMetadata,
    graph_activation,
    read_metadata,
    write_metadata,
)
from lcnet_ov.zoo import Preprocess

PP = Preprocess(resize_short=32, crop_size=32)
N_IMAGES = 40
LABELS = tuple(f"attr_{i}" for i in range(6))


def _graph(classes: int, head: str, seed: int):
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(seed)
    x = ops.parameter([-1, 3, 32, 32], np.float32, name="x")
    w = rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32)
    y = ops.relu(ops.convolution(x, ops.constant(w), [1, 1], [1, 1], [1, 1], [1, 1]))
    y = ops.reduce_mean(y, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    fc = rng.normal(0, 2.0, (8, classes)).astype(np.float32)
    y = ops.add(ops.matmul(y, ops.constant(fc), False, False), ops.constant(-y_bias(classes)))
    y = ops.sigmoid(y) if head == "sigmoid" else ops.softmax(y, -1)
    return ov.Model([y], [x], "tiny")


def y_bias(classes: int) -> np.ndarray:
    return np.linspace(-0.5, 0.5, classes).astype(np.float32)


_PADDLEX_YML = """Global:
  model_name: {name}
PreProcess:
  transform_ops:
  - ResizeImage:
      size: [32, 32]
  - NormalizeImage:
      scale: 0.00392156862745098
      mean: [0.485, 0.456, 0.406]
      std: [0.229, 0.224, 0.225]
      order: ''
      channel_num: 3
  - ToCHWImage: null
PostProcess:
  {post}
"""


def _config(tmp: Path, name: str, post: str) -> Postprocess:
    """The post-processing a PaddleX 3 ``inference.yml`` / PULC yaml with ``post`` gives."""
    if post.endswith(".yaml"):
        return read_model_config(post).postprocess
    yml = tmp / f"{name}.yml"
    yml.write_text(_PADDLEX_YML.format(name=name, post=post), encoding="utf-8")
    return read_model_config(yml).postprocess


def _save(
    tmp: Path, name: str, classes: int, head: str, post: str, fp16: bool = False, seed: int = 3
) -> Path:
    import dataclasses

    import openvino as ov

    model = _graph(classes, head, seed=seed)
    labels = {len(LABELS): LABELS, 2: ("nobody", "someone")}.get(classes)
    labels = labels or zoo.get_spec("person_attribute").labels
    pp = dataclasses.replace(_config(tmp, name, post), activation=graph_activation(model))
    meta = ModelMetadata(
        name=name,
        labels=labels,
        postprocess=pp,
        preprocess=PP,
        precision="fp16" if fp16 else "fp32",
        outputs_probabilities=head == "softmax",
    )
    write_metadata(model, meta)
    xml = tmp / f"{name}_{'fp16' if fp16 else 'fp32'}.xml"
    ov.save_model(model, str(xml), compress_to_fp16=fp16)
    return xml


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("kinds")
    rng = np.random.default_rng(7)
    files = []
    for i in range(N_IMAGES):
        small = rng.integers(0, 256, (4, 4, 3), np.uint8)
        img = cv2.resize(small, (40 + i % 7, 36), interpolation=cv2.INTER_CUBIC)
        path = root / f"img_{i:02d}.png"
        cv2.imwrite(str(path), img)
        files.append(path)
    return root, files


@pytest.fixture(scope="module")
def multilabel(images, tmp_path_factory) -> tuple[Path, Path, Path, np.ndarray]:
    """Two precisions of a 6-label sigmoid model and a PaddleClas multi-label list."""
    root, files = images
    tmp = tmp_path_factory.mktemp("ml-ir")
    post = f"MultiLabelThreshOutput: {{threshold: 0.5, label_list: {list(LABELS)}}}"
    fp32 = _save(tmp, "ml", len(LABELS), "sigmoid", post)
    fp16 = _save(tmp, "ml", len(LABELS), "sigmoid", post, fp16=True)
    rng = np.random.default_rng(11)
    targets = rng.integers(0, 2, (N_IMAGES, len(LABELS)))
    targets[:, 5] = 0  # a label nobody has: no AP, left out of the mean
    lines = [f"{f.name}\t{','.join(map(str, t))}" for f, t in zip(files, targets, strict=True)]
    listing = root / "multilabel_list.txt"
    listing.write_text("\n".join(lines) + "\n")
    return fp32, fp16, listing, targets


def _outputs(xml: Path, files: list[Path]) -> np.ndarray:
    pp = read_metadata(xml).preprocess
    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.concatenate([compiled(preprocess_image(f, pp)[None])[0] for f in files])


def test_multilabel_list_is_read_as_paddleclas_writes_it(multilabel) -> None:
    _, _, listing, targets = multilabel
    samples = read_list_file(listing)
    assert [s.targets for s in samples] == [tuple(t) for t in targets.tolist()]
    assert all(s.label is None for s in samples)
    ds = open_image_set(listing)
    assert ds.multilabel and not ds.labeled
    assert ds.describe()["multilabel"] and ds.describe()["labels"] == len(LABELS)


def test_malformed_multilabel_lists_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "l.txt"
    bad.write_text("a.png\t0,1,2\n")
    with pytest.raises(DatasetError, match="0 or 1"):
        read_list_file(bad)
    bad.write_text("a.png\t0,1,0\nb.png\t0,1\n")
    with pytest.raises(DatasetError, match=r":2: expected .*with 3 values"):
        read_list_file(bad)
    bad.write_text("a.png\t0,1,0\nb.png 2\n")
    with pytest.raises(DatasetError, match=r":2: expected .*with 3 values"):
        read_list_file(bad)


@pytest.mark.slow  # importing scikit-learn alone takes seconds
def test_average_precision_equals_scikit_learn() -> None:
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 2, 50)
        s = np.round(rng.random(50), 1)  # many ties
        if y.sum():
            assert average_precision(s, y) == pytest.approx(average_precision_score(y, s))
    assert average_precision(np.ones(3), np.zeros(3)) is None


def test_multilabel_eval_reports_map_and_per_label_accuracy(images, multilabel) -> None:
    _, files = images
    fp32, fp16, listing, targets = multilabel
    result = evaluate(fp32, listing, precision=[str(fp32), str(fp16)], batch_size=8, progress=False)
    assert result.kind == "multilabel" and result.threshold == 0.5
    assert result.images == N_IMAGES
    ref = _outputs(fp32, files)
    aps = [average_precision(ref[:, j], targets[:, j]) for j in range(5)]
    acc = ((ref > 0.5) == targets).mean(axis=0)
    base = result.scores[0]
    assert base.top1 is None and base.top5 is None
    assert base.map == pytest.approx(np.mean(aps), abs=1e-6)
    assert base.accuracy == pytest.approx(acc.mean())
    assert [p["accuracy"] for p in base.per_label] == pytest.approx(acc.tolist())
    assert [p["ap"] for p in base.per_label[:5]] == pytest.approx(aps, abs=1e-6)
    assert base.per_label[5] == {"label": "attr_5", "positives": 0, "ap": None,
                                 "accuracy": pytest.approx(acc[5])}  # fmt: skip
    assert 0 < base.accuracy < 1 and 0 < base.map < 1  # neither trivially right nor wrong
    # the second column is the same model in fp16 weights: close, and compared with Δ
    other = result.scores[1]
    assert other.precision == "fp16" and other.map == pytest.approx(base.map, abs=0.02)
    assert result.delta(1, "map") == pytest.approx(other.map - base.map)
    assert result.agreement[0] == 1.0 and result.agreement[1] > 0.9


def test_multilabel_eval_refuses_single_label_data(images, multilabel, tmp_path) -> None:
    _, files = images
    fp32, _, _, _ = multilabel
    single = tmp_path / "val_list.txt"
    single.write_text("".join(f"{f} {i % 2}\n" for i, f in enumerate(files)))
    with pytest.raises(DatasetError, match="multi-label list"):
        evaluate(fp32, single, progress=False)
    narrow = tmp_path / "narrow.txt"
    narrow.write_text("".join(f"{f}\t0,1\n" for f in files))
    with pytest.raises(DatasetError, match="2 values per line but the model has 6 labels"):
        evaluate(fp32, narrow, progress=False)


def test_binary_model_is_scored_at_its_threshold(images, tmp_path) -> None:
    _, files = images
    post = "ThreshOutput: {threshold: 0.7, label_0: nobody, label_1: someone}"
    xml = _save(tmp_path, "binary", 2, "softmax", post)
    p1 = _outputs(xml, files)[:, 1]
    # labels chosen so the 0.7 threshold and argmax (0.5) disagree on the score
    labels = (p1 >= 0.6).astype(int)
    listing = tmp_path / "val_list.txt"
    listing.write_text("".join(f"{f} {y}\n" for f, y in zip(files, labels, strict=True)))
    at_thr = float(np.mean((p1 >= 0.7) == labels))
    argmax = float(np.mean((p1 > 0.5) == labels))
    assert at_thr != argmax
    result = evaluate(xml, listing, progress=False)
    assert result.kind == "threshold" and result.threshold == 0.7
    (score,) = result.scores
    assert score.accuracy == pytest.approx(at_thr)
    assert score.top1 == pytest.approx(argmax)  # top-1 is still reported beside it


def test_attribute_model_is_scored_with_its_decoders_thresholds(images, tmp_path) -> None:
    """PULC person_attribute (the packaged deploy yaml): per-label accuracy of the 0/1 vector
    PersonAttribute answers, i.e. 0.5 but Glasses at 0.3 and HoldObjectsInFront at 0.6."""
    root, files = images
    yaml = str(zoo.get_spec("person_attribute").config_file)
    xml = _save(tmp_path, "pa", 26, "sigmoid", yaml, seed=4)  # Glasses scores around 0.3
    ref = _outputs(xml, files)
    rng = np.random.default_rng(5)
    targets = rng.integers(0, 2, (N_IMAGES, 26))
    targets[:, 1] = 1  # wearing glasses: the decoder's 0.3 and a plain 0.5 score differently
    listing = root / "attr_list.txt"
    lines = [f"{f.name}\t{','.join(map(str, t))}" for f, t in zip(files, targets, strict=True)]
    listing.write_text("\n".join(lines) + "\n")
    thr = np.full(26, 0.5)
    thr[1], thr[18] = 0.3, 0.6
    acc = ((ref > thr) == targets).mean(axis=0)
    assert acc[1] != ((ref[:, 1] > 0.5) == targets[:, 1]).mean()  # the test can tell them apart
    result = evaluate(xml, listing, progress=False)
    assert result.kind == "person_attribute" and result.threshold == pytest.approx(thr.tolist())
    (score,) = result.scores
    assert [p["accuracy"] for p in score.per_label] == pytest.approx(acc.tolist())
    assert score.accuracy == pytest.approx(acc.mean())


def test_single_label_model_refuses_a_multilabel_list(images, multilabel, tmp_path) -> None:
    _, _, listing, _ = multilabel
    post = "Topk: {topk: 1, label_list: [nobody, someone]}"
    xml = _save(tmp_path, "topk", 2, "softmax", post)
    with pytest.raises(DatasetError, match="single-label"):
        evaluate(xml, listing, progress=False)


def test_cli_eval_multilabel_table_and_json(multilabel, capsys) -> None:
    fp32, fp16, listing, _ = multilabel
    argv = ["eval", "-p", str(fp32), "-p", str(fp16), "-d", str(listing), "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "6 labels, multi-label (multilabel), threshold 0.5" in out
    assert "mAP %" in out and "Label acc %" in out and "ΔmAP" in out
    assert "Positives" in out and "AP % ml_fp32.xml" in out and "Acc % ml_fp16.xml" in out
    assert sum(line.startswith("attr_") for line in out.splitlines()) == len(LABELS)
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "multilabel" and len(data["scores"]) == 2
    assert {"map", "accuracy", "per_label", "delta_map"} <= set(data["scores"][1])


@pytest.mark.slow
def test_int8_of_a_multilabel_model_calibrates_on_its_list_and_is_compared(
    multilabel, tmp_path, capsys
) -> None:
    """quantize reads the multi-label list as calibration images (targets unused) with the
    model's own preprocessing; eval then puts FP32 and INT8 side by side."""
    from lcnet_ov.export.quantization import quantize

    fp32, _, listing, _ = multilabel
    out = tmp_path / "ml_int8.xml"
    q = quantize(fp32, listing, subset_size=32, output=out, progress=False, force=True)
    assert q.images_used == 32 and q.metadata.precision == "int8"
    assert q.metadata.preprocess == read_metadata(fp32).preprocess
    assert (
        json.loads(
            shared_core().read_model(str(out)).get_rt_info()["lcnet_ov"]["postprocess"].astype(str)
        )["kind"]
        == "multilabel"
    )  # the post-processing travels with the INT8 IR
    argv = ["eval", "-p", str(fp32), "-p", str(out), "-d", str(listing), "-q", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    fp, i8 = data["scores"]
    assert (fp["precision"], i8["precision"]) == ("fp32", "int8")
    assert abs(i8["map"] - fp["map"]) < 0.1 and i8["delta_map"] == i8["map"] - fp["map"]
