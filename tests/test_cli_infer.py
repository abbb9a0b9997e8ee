"""``lcnet-ov infer`` end to end with the real text-orientation model: PaddleClas output lines,
JSON lines, broken files reported one per line on stderr (no traceback, no OpenCV noise) with
exit code 1, and clean one-line errors for models that cannot be had offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov.cli import main
from lcnet_ov.runtime.classifier import Classifier
from lcnet_ov.testing import text_orientation_set

MODEL = ["--model", "text_image_orientation"]
LINE = re.compile(
    r"^class_ids: \[(\d+(, )?)+\], scores: \[[\d.e-]+(, [\d.e-]+)*\], "
    r"label_names: \['[^']+'(, '[^']+')*\], filename: (?P<file>.+)$"
)


# the zoo IR converted up front (conftest), so subprocesses and CLI runs see no progress
pytestmark = pytest.mark.usefixtures("orientation_xml")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, list[int]]:
    """Five rotated pages (labels known) and four broken files, in one folder."""
    root = tmp_path_factory.mktemp("infer")
    images, labels = text_orientation_set(5, seed=21)
    for i, img in enumerate(images):
        cv2.imwrite(str(root / f"p{i}.{'jpg' if i % 2 else 'png'}"), img)
    png = (root / "p0.png").read_bytes()
    (root / "p1_truncated.png").write_bytes(png[: len(png) // 2])  # OpenCV would log a WARN
    (root / "p2_empty.jpg").write_bytes(b"")
    (root / "p3_text.jpg").write_text("hello")
    (root / "p4_huge.png").write_bytes(_huge_png_header())
    return root, labels.tolist()


def _huge_png_header() -> bytes:
    """A valid PNG signature and IHDR claiming 40000×40000: refused before decoding."""
    _, buf = cv2.imencode(".png", np.zeros((2, 2, 3), np.uint8))
    data = bytearray(buf.tobytes())
    data[16:24] = (40000).to_bytes(4, "big") * 2
    return bytes(data)


def test_folder_with_broken_files(folder, capfd):
    root, labels = folder
    assert main(["infer", *MODEL, str(root)]) == 1
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert len(lines) == 5 and all(LINE.match(line) for line in lines)
    assert [LINE.match(line)["file"] for line in lines] == [
        str(root / f"p{i}.{'jpg' if i % 2 else 'png'}") for i in range(5)
    ]
    assert [int(line.split("[")[1].split(",")[0]) for line in lines] == labels
    # libpng prints its own "libpng error: ..." line (a codec's fprintf, not OpenCV's logging)
    errors = [line for line in err.splitlines() if not line.startswith("libpng error:")]
    assert errors == [
        f"error: {root / 'p1_truncated.png'}: cannot decode image "
        "(corrupt or unsupported PNG data)",
        f"error: {root / 'p2_empty.jpg'}: empty file, not an image",
        f"error: {root / 'p3_text.jpg'}: cannot decode image (not a supported image)",
        errors[3],
        "Error: 4 of 9 inputs could not be classified",
    ]
    assert errors[3].startswith(f"error: {root / 'p4_huge.png'}: image is 40000x40000")
    assert "Traceback" not in err and "WARN" not in err  # OpenCV's own logging is silenced


def test_json_lines_topk_and_batching(folder, orientation_xml, capfd):
    root, labels = folder
    args = ["infer", *MODEL, "--json", "-k", "2", "--batch-size", "3", "--threads", "1"]
    assert main([*args, str(root / "p*.png"), str(root / "p1.jpg")]) == 1  # p1_truncated.png
    out, err = capfd.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["filename"]).name for r in rows] == ["p0.png", "p2.png", "p4.png", "p1.jpg"]
    assert [r["class_ids"][0] for r in rows] == [labels[0], labels[2], labels[4], labels[1]]
    assert all(len(r["class_ids"]) == len(r["scores"]) == len(r["label_names"]) == 2 for r in rows)
    failures = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(failures) == 2  # the truncated and the 40000×40000 PNG
    assert main([*args, str(root / "p2.png")]) == 0
    row = json.loads(capfd.readouterr().out)
    with Classifier(orientation_xml, topk=2) as clf:
        assert row == clf(root / "p2.png").to_dict() | {"filename": str(root / "p2.png")}


def test_fold_preprocessing_flag_gives_the_same_answers(folder, capfd):
    root, labels = folder
    args = ["infer", *MODEL, "--json", str(root / "p?.*")]
    assert main(args) == 0
    exact = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert main([*args, "--fold-preprocessing"]) == 0
    folded = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [r["class_ids"] for r in folded] == [r["class_ids"] for r in exact]
    assert [r["class_ids"][0] for r in folded] == labels
    assert np.abs(np.array([r["scores"] for r in folded]) - [r["scores"] for r in exact]).max() <= (
        1e-5
    )


def test_labels_file_and_ir_path(folder, orientation_xml, capfd, tmp_path):
    root, labels = folder
    names = tmp_path / "labels.txt"
    names.write_text("0 upright\n1 right\n2 upside down\n3 left\n")
    args = ["infer", "--model", str(orientation_xml), "--class-id-map-file", str(names), "-k", "1"]
    assert main([*args, "--infer-precision", "bf16", str(root / "p0.png")]) == 0
    out = capfd.readouterr().out
    expected = ("upright", "right", "upside down", "left")[labels[0]]
    assert f"label_names: ['{expected}']" in out


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (  # the default model, offline: says how to get it
            ["infer", "x.jpg"],
            ["PPLCNet_x1_0: not in the cache and offline mode is on", "models download"],
        ),
        (["infer", "--model", "PPLCNet_x9", "x.jpg"], ["unknown model 'PPLCNet_x9'"]),
        (["infer", *MODEL, "--class-id-map-file", "/no/labels.txt", "x.jpg"], ["not found"]),
        (["infer", *MODEL, "--device", "NOPE", "x.jpg"], ["'NOPE'", "not registered"]),
    ],
)
def test_model_problems_are_one_clean_line(args, messages, capfd):
    assert main(args) == 1
    out, err = capfd.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("Error: ") and all(m in err for m in messages)


def test_only_missing_inputs(capfd, tmp_path):
    assert main(["infer", *MODEL, str(tmp_path / "nope.jpg"), str(tmp_path / "*.png")]) == 1
    err = capfd.readouterr().err.splitlines()
    assert err == [
        f"error: {tmp_path / 'nope.jpg'}: no such file or folder",
        f"error: {tmp_path / '*.png'}: no image files match this pattern",
        "Error: 2 of 2 inputs could not be classified",
    ]


def test_bad_option_values_are_usage_errors(capfd):
    assert main(["infer", *MODEL, "--infer-precision", "int4", "x.jpg"]) == 2
    assert "Invalid value for '--infer-precision'" in capfd.readouterr().err
    assert main(["infer", *MODEL, "--topk", "0", "x.jpg"]) == 2


def test_a_folder_runs_the_async_pipeline_with_exact_preprocessing(
    folder, orientation_xml, capfd, monkeypatch
):
    """Folders go through AsyncClassifier.map (decode overlapping inference), and the answers
    are those of the exact PaddleClas path: same scores as the synchronous Classifier's."""
    from lcnet_ov.runtime.async_classifier import AsyncClassifier

    mapped: list[int] = []
    real_map = AsyncClassifier.map

    def spy(self, inputs, **kw):
        mapped.append(self.max_batch)
        return real_map(self, inputs, **kw)

    monkeypatch.setattr(AsyncClassifier, "map", spy)
    root, _ = folder
    assert main(["infer", *MODEL, "--json", "-b", "4", str(root)]) == 1
    rows = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert mapped == [4] and len(rows) == 5
    with Classifier(orientation_xml, topk=5) as clf:
        exact = [r.to_dict() for r in clf.predict([root / Path(r["filename"]).name for r in rows])]
    for row, want in zip(rows, exact, strict=True):
        assert row["class_ids"] == want["class_ids"]
        assert row["scores"] == pytest.approx(want["scores"], abs=1e-6)
    assert main(["infer", *MODEL, str(root / "p0.png")]) == 0  # one file: the sync Classifier
    capfd.readouterr()
    assert mapped == [4]
