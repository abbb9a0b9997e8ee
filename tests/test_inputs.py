"""``iter_inputs``/``list_images`` on a folder tree made here (no ../shared needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lcnet_ov.inputs.files import iter_inputs, list_images


def _tree(root: Path) -> list[Path]:
    """Images at three depths, in names that sort differently from creation order, plus files
    and folders that are not images."""
    made = []
    for rel in ("b.png", "a/z.jpg", "a/deeper/c.JPEG", "c/x.bmp", "a/m.webp"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), np.full((4, 5, 3), len(made), np.uint8)), rel
        made.append(path)
    (root / "notes.txt").write_text("not an image")
    (root / "a" / "labels.json").write_text("{}")
    (root / "empty.jpg").mkdir()  # a folder with an image suffix is not a file
    return made


def test_recursive_expansion_lists_every_image_of_the_tree_in_path_order(tmp_path):
    made = _tree(tmp_path)
    expected = sorted(made)
    assert list_images(tmp_path, recursive=True) == expected
    assert list_images(tmp_path) == [tmp_path / "b.png"]  # one level, like PaddleClas
    items = list(iter_inputs(str(tmp_path), recursive=True))
    assert [i.error for i in items] == [None] * len(expected)
    assert [Path(i.source) for i in items] == expected
    # names keep the folder as the caller spelled it
    assert [i.filename for i in items] == [str(p) for p in expected]
    # mixed with an explicit file and an array, order is kept entry by entry
    mixed = list(iter_inputs([str(tmp_path / "c"), np.zeros((3, 3, 3), np.uint8)], recursive=True))
    assert [i.name for i in mixed] == [str(tmp_path / "c" / "x.bmp"), "<array 0>"]


def test_recursive_over_a_tree_without_images_is_one_error(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "readme.md").write_text("x")
    (item,) = iter_inputs(tmp_path, recursive=True)
    assert item.source is None and "no image files" in str(item.error)


def test_relative_folder_names_are_kept_as_given(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    names = [i.filename for i in iter_inputs("a", recursive=True)]
    assert names == [
        str(Path("a", "deeper", "c.JPEG")),
        str(Path("a", "m.webp")),
        str(Path("a", "z.jpg")),
    ]
