"""Calibration/evaluation datasets: layouts, class-balanced subsets, exact crops, broken files.

No OpenVINO or NNCF here: everything is decoding, list parsing and numpy.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov.inputs.datasets import (
    CALIBRATION_LISTS,
    DatasetError,
    Sample,
    balanced_order,
    load_crops,
    model_input,
    open_image_set,
    read_list_file,
)
from lcnet_ov.inputs.decode import decode_image
from lcnet_ov.inputs.preprocess import normalize, preprocess
from lcnet_ov.zoo import Preprocess

PP = Preprocess()


def _jpeg(path: Path, h: int = 60, w: int = 80, value: int = 128, gray: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    img = rng.integers(0, 256, (h, w) if gray else (h, w, 3), dtype=np.uint8)
    cv2.imencode(path.suffix, img)[1].tofile(str(path))
    return path


def test_list_file_like_paddleclas_with_spaces_blank_lines_and_unlabeled(tmp_path):
    (tmp_path / "val_list.txt").write_text(
        "val/a.jpg 3\n\nval/my photo.png\t7\nval/unlabeled.jpg\n  val/c.jpg 0  \n"
    )
    samples = read_list_file(tmp_path / "val_list.txt")
    assert [(s.path.relative_to(tmp_path).as_posix(), s.label) for s in samples] == [
        ("val/a.jpg", 3),
        ("val/my photo.png", 7),
        ("val/unlabeled.jpg", None),
        ("val/c.jpg", 0),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a.jpg 1\nb.jpg 0,1,0\n", ":2: expected 'relative/path class_id'"),
        ("a.jpg -1\n", ":1: negative class id -1"),
        ("\n\n", "names no images"),
    ],
)
def test_malformed_list_files_name_the_line(tmp_path, content, message):
    (tmp_path / "val_list.txt").write_text(content)
    with pytest.raises(DatasetError, match=message):
        open_image_set(tmp_path)


def test_calibration_prefers_train_list_evaluation_prefers_val_list(tmp_path):
    _jpeg(tmp_path / "train" / "t.jpg")
    _jpeg(tmp_path / "val" / "v.jpg")
    (tmp_path / "train_list.txt").write_text("train/t.jpg 1\n")
    (tmp_path / "val_list.txt").write_text("val/v.jpg 2\n")
    assert open_image_set(tmp_path).source.name == "val_list.txt"
    calib = open_image_set(tmp_path, prefer=CALIBRATION_LISTS)
    assert calib.source.name == "train_list.txt" and calib.samples[0].label == 1
    explicit = open_image_set(tmp_path, list_file="val_list.txt", prefer=CALIBRATION_LISTS)
    assert explicit.samples == (Sample(tmp_path / "val" / "v.jpg", 2),)
    direct = open_image_set(tmp_path / "train_list.txt")
    assert direct.layout == "list" and direct.root == tmp_path
    with pytest.raises(DatasetError, match="list file not found"):
        open_image_set(tmp_path, list_file="nope.txt")


def test_image_folder_ids_follow_sorted_folder_names(tmp_path):
    for cls, n in (("zebra", 2), ("apple", 1), ("mango", 3)):
        for i in range(n):
            _jpeg(tmp_path / cls / f"{i}.jpg", value=i)
    _jpeg(tmp_path / ".hidden" / "x.jpg")  # hidden folders are not classes
    (tmp_path / "empty").mkdir()  # folders without images are not classes
    _jpeg(tmp_path / "mango" / "deeper" / "nested.png")
    (tmp_path / "zebra" / "notes.txt").write_text("not an image")
    ds = open_image_set(tmp_path)
    assert ds.layout == "folders" and ds.class_names == ("apple", "mango", "zebra")
    counts = Counter(s.label for s in ds.samples)
    assert counts == {0: 1, 1: 4, 2: 2}
    assert ds.labeled and ds.classes == (0, 1, 2)


def test_flat_folder_is_unlabeled_and_empty_folder_is_an_error(tmp_path):
    for i in range(3):
        _jpeg(tmp_path / "flat" / f"img{i}.JPG", value=i)
    ds = open_image_set(tmp_path / "flat")
    assert ds.layout == "flat" and len(ds) == 3 and not ds.labeled
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        open_image_set(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="no such folder"):
        open_image_set(tmp_path / "missing")


def _samples(counts: dict[int, int]) -> list[Sample]:
    return [Sample(Path(f"c{c}/{i}.jpg"), c) for c, n in counts.items() for i in range(n)]


def test_balanced_order_round_robins_classes_deterministically():
    sizes = {0: 50, 1: 5, 2: 20, 3: 1}
    samples = _samples(sizes)
    order = balanced_order(samples, seed=3)
    assert sorted(order, key=lambda s: s.name) == sorted(samples, key=lambda s: s.name)
    assert order == balanced_order(samples, seed=3)
    assert order != balanced_order(samples, seed=4)
    assert sorted(s.label for s in order[:4]) == [0, 1, 2, 3]  # one of each class first
    # in every prefix, a class trails another by more than one image only once it ran out
    for k in range(1, len(order) + 1):
        counts = Counter(s.label for s in order[:k])
        for a in sizes:
            for b in sizes:
                if counts[a] < counts[b] - 1:
                    assert counts[a] == sizes[a], (k, counts)


def test_balanced_subset_of_imagenet_sized_sets_covers_distinct_classes():
    samples = _samples({c: 3 for c in range(1000)})
    picked = balanced_order(samples, seed=0)[:300]
    assert len({s.label for s in picked}) == 300  # a random draw would repeat ~40 classes
    four = balanced_order(_samples({0: 500, 1: 500, 2: 500, 3: 500}), seed=1)[:300]
    assert Counter(s.label for s in four) == {0: 75, 1: 75, 2: 75, 3: 75}
    flat = [Sample(Path(f"{i}.jpg"), None) for i in range(10)]
    assert sorted(balanced_order(flat, 5), key=lambda s: s.name) == flat


def test_crops_normalize_to_exactly_the_inference_tensor(tmp_path):
    files = [
        _jpeg(tmp_path / "a.jpg", 375, 500, 1),
        _jpeg(tmp_path / "b.png", 257, 1023, 2),
        _jpeg(tmp_path / "c.png", 64, 48, 3, gray=True),
        _jpeg(tmp_path / "d.bmp", 224, 224, 4),
    ]
    pp = Preprocess(resize_short=256, crop_size=224)
    loaded = load_crops([Sample(f, i) for i, f in enumerate(files)], pp)
    assert loaded.crops.shape == (4, 224, 224, 3) and loaded.crops.dtype == np.uint8
    x = normalize(loaded.crops, pp)
    for i, f in enumerate(files):
        np.testing.assert_array_equal(x[i], preprocess(decode_image(f), pp))
    assert loaded.labels.tolist() == [0, 1, 2, 3]
    raw = model_input(loaded.crops, pp, embedded_preprocessing=True)
    assert raw.dtype == np.uint8 and raw.shape == (4, 224, 224, 3)


def test_broken_files_are_skipped_named_and_replaced(tmp_path):
    good = [_jpeg(tmp_path / f"g{i}.jpg", value=i) for i in range(6)]
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good[0].read_bytes()[:40])
    text = tmp_path / "text.jpg"
    text.write_text("definitely not a JPEG")
    strip = _jpeg(tmp_path / "strip.png", 2, 400)  # 200:1 aspect: refused by the size guard
    missing = tmp_path / "missing.jpg"
    bad = [truncated, text, strip, missing]
    order = [Sample(p, 0) for p in bad] + [Sample(p, 0) for p in good]
    loaded = load_crops(order, PP, want=5)
    assert len(loaded) == 5
    assert [Path(s.name) for s in loaded.skipped] == bad
    reasons = {Path(s.name).name: s.reason for s in loaded.skipped}
    assert "cannot" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert "not a supported image" in reasons["text.jpg"]
    assert "aspect" in reasons["strip.png"]
    assert "cannot read" in reasons["missing.jpg"]
    assert loaded.names == [str(p) for p in good[:5]]
    everything = load_crops(order, PP)
    assert len(everything) == 6 and len(everything.skipped) == 4


def test_subset_and_describe(tmp_path):
    for c in range(4):
        for i in range(5):
            _jpeg(tmp_path / f"class{c}" / f"{i}.jpg", value=10 * c + i)
    ds = open_image_set(tmp_path)
    sub = ds.subset(8, seed=2)
    assert Counter(s.label for s in sub.samples) == {0: 2, 1: 2, 2: 2, 3: 2}
    assert sub.describe() == {
        "source": str(tmp_path),
        "layout": "folders",
        "images": 8,
        "classes": 4,
        "labeled": True,
    }
    with pytest.raises(DatasetError, match="subset size"):
        ds.subset(0)


def test_folders_pick_images_by_the_same_suffixes_as_inputs(tmp_path):
    """One suffix list: a dataset folder and an ``infer`` folder see the same files."""
    from lcnet_ov.inputs.files import list_images

    img = np.full((8, 8, 3), 128, np.uint8)
    for name in ("a.jpe", "b.JPG", "c.pnm", "d.jp2"):
        ok, buf = cv2.imencode(".png" if name.endswith((".jpe", ".JPG")) else ".ppm", img)
        assert ok
        buf.tofile(str(tmp_path / name))
    (tmp_path / "notes.txt").write_text("not an image")
    image_set = open_image_set(tmp_path)
    assert image_set.layout == "flat"
    assert sorted(s.path for s in image_set.samples) == list_images(tmp_path)
    assert [p.name for p in list_images(tmp_path)] == ["a.jpe", "b.JPG", "c.pnm", "d.jp2"]
