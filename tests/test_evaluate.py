"""Top-1/top-5 evaluation with OpenVINO, checked against an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from quant_data import cached_dataset

from lcnet_ov.errors import DatasetError, InvalidModelFileError
from lcnet_ov.inputs.datasets import open_image_set
from lcnet_ov.inputs.preprocess import preprocess_image
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.runtime.evaluation import evaluate
from lcnet_ov.runtime.metadata import read_metadata


@pytest.fixture(scope="module")
def ir(orientation_xml) -> Path:
    return orientation_xml  # the session's conversion, copied into this module's cache


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    return cached_dataset(tmp_path_factory, 120, 21)


def _reference_outputs(xml: Path, files: list[Path]) -> np.ndarray:
    """Outputs the slow, obvious way: one file at a time through the public preprocessing."""

    pp = read_metadata(xml).preprocess
    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.concatenate([compiled(preprocess_image(f, pp)[None])[0] for f in files])


@pytest.mark.slow
def test_top1_matches_an_independent_computation(ir, pages):
    result = evaluate(ir, pages, batch_size=16, progress=False)
    samples = open_image_set(pages).samples
    ref = _reference_outputs(ir, [s.path for s in samples])
    labels = np.array([s.label for s in samples])
    (score,) = result.scores
    assert result.images == score.images == 120 and result.skipped == ()
    assert score.top1 == float(np.mean(ref.argmax(1) == labels))
    assert score.top5 is None  # 4 classes: top-5 would be 100 % by construction
    assert score.inference_precision == "f32" and score.precision == "fp32"
    assert result.agreement == (1.0,) and result.delta_top1(0) == 0.0


@pytest.mark.slow
def test_image_folder_and_list_layouts_score_the_same(ir, tmp_path_factory, pages):
    folders = cached_dataset(tmp_path_factory, 120, 21, layout="folders")
    ds = open_image_set(folders)
    assert ds.layout == "folders" and ds.class_names == (
        "c0_0deg",
        "c1_90deg",
        "c2_180deg",
        "c3_270deg",
    )
    a = evaluate(ir, pages, progress=False).scores[0]
    b = evaluate(ir, folders, progress=False).scores[0]
    assert (a.top1, a.images) == (b.top1, b.images)


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_broken_files_are_named_and_count_for_nothing(ir, pages, tmp_path):
    lines = (pages / "val_list.txt").read_text().splitlines()[:40]
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "val_list.txt").write_text(
        "\n".join(f"{pages / ln.split()[0]} {ln.split()[1]}" for ln in lines)
        + f"\n{tmp_path / 'bad.jpg'} 0\n{tmp_path / 'missing.png'} 1\n"
    )
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "val_list.txt").write_text(
        "\n".join(f"{pages / ln.split()[0]} {ln.split()[1]}" for ln in lines) + "\n"
    )
    with_bad = evaluate(ir, tmp_path, progress=False)
    only_good = evaluate(ir, tmp_path / "good", progress=False)
    assert with_bad.images == only_good.images == 40
    assert with_bad.scores[0].top1 == only_good.scores[0].top1
    assert [Path(s.name).name for s in with_bad.skipped] == ["bad.jpg", "missing.png"]
    assert with_bad.to_dict()["skipped"][1]["reason"].startswith("cannot read")


@pytest.mark.slow
def test_static_batch_and_embedded_preprocessing_irs_agree_with_plain(
    ir, pages, rapid_onnx, tmp_path
):
    """A fixed-batch IR gets a padded tail; a u8 IR gets raw crops. Same predictions."""
    from lcnet_ov.export.conversion import ConvertOptions, convert

    static = convert(
        rapid_onnx,
        tmp_path / "b4.xml",
        model="text_image_orientation",
        options=ConvertOptions(batch_size=4),
    ).xml
    u8 = convert(
        rapid_onnx,
        tmp_path / "u8.xml",
        model="text_image_orientation",
        options=ConvertOptions(embed_preprocessing=True),
    ).xml
    result = evaluate(
        ir, pages, precision=("fp32", static, u8), batch_size=10, limit=37, progress=False
    )
    assert result.images == 37  # 37 = 9 batches of 4 plus one padded image
    top1 = {s.top1 for s in result.scores}
    assert len(top1) == 1 and result.agreement == (1.0, 1.0, 1.0)
    assert [s.label for s in result.scores] == ["fp32", "b4.xml", "u8.xml"]


@pytest.mark.slow
def test_top5_on_a_1000_class_model(paddle_models, pages, tmp_path):
    """Labels are chosen as the FP32 model's rank-r class, so top-1/top-5 are known."""
    from lcnet_ov.export.conversion import convert

    xml = convert(paddle_models.inference_dir(0.25, seed=5), tmp_path / "m.xml").xml
    samples = open_image_set(pages).samples[:56]
    ref = _reference_outputs(xml, [s.path for s in samples])
    order = np.argsort(-ref, axis=1)
    labels = []
    for i, row in enumerate(ref):
        r = i % 7
        ranked = row[order[i]]
        clear = all(abs(ranked[j] - ranked[j + 1]) > 1e-4 for j in range(max(r - 1, 0), r + 1))
        labels.append(int(order[i][r if clear else 0]))
    data = tmp_path / "data"
    data.mkdir()
    (data / "val_list.txt").write_text(
        "".join(f"{s.path} {label}\n" for s, label in zip(samples, labels, strict=True))
    )
    ranks = [list(order[i]).index(label) for i, label in enumerate(labels)]
    (score,) = evaluate(xml, data, progress=False).scores
    assert score.top1 == pytest.approx(np.mean([r == 0 for r in ranks]))
    assert score.top5 == pytest.approx(np.mean([r < 5 for r in ranks]))
    assert score.top1 < score.top5 < 1.0


def test_unusable_requests_raise_typed_errors(ir, pages, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    first = sorted((pages / "images").iterdir())[0]
    (flat / "a.jpg").write_bytes(first.read_bytes())
    with pytest.raises(DatasetError, match="accuracy needs labels"):
        evaluate(ir, flat, progress=False)
    (tmp_path / "val_list.txt").write_text(f"{first} 7\n")
    with pytest.raises(DatasetError, match="class id 7 but the model has 4 classes"):
        evaluate(ir, tmp_path, progress=False)
    with pytest.raises(InvalidModelFileError, match="not a precision"):
        evaluate(ir, pages, precision=("fp64",), progress=False)
    with pytest.raises(InvalidModelFileError, match="lcnet-ov quantize"):
        evaluate(ir, pages, precision=("fp32", "int8"), progress=False)
    with pytest.raises(DatasetError, match="batch size"):
        evaluate(ir, pages, batch_size=0, progress=False)


def test_device_default_precision_is_reported(ir, pages):
    (score,) = evaluate(ir, pages, inference_precision=None, limit=8, progress=False).scores

    # what the CPU plugin picks when nothing is asked for (bf16 on AVX512-BF16/AMX, else f32)
    default = shared_core().compile_model(str(ir), "CPU").get_property("INFERENCE_PRECISION_HINT")
    assert score.inference_precision == default.to_string()
