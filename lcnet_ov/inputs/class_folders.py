"""Which class id a folder-per-class dataset's sub-folder stands for.

An ImageFolder numbers classes by *sorted* folder name, the torchvision convention. That is
right for ImageNet (sorted WordNet ids are the class ids) and silently wrong for a model whose
labels are names: the text-orientation model's labels are ``0, 90, 180, 270`` while sorted
folders come out ``0, 180, 270, 90``, which scored a silent 25 % top-1. So, in this order:

* folder names that are all label names of the model map **by name**;
* folder names that are all class ids (``0 .. C-1``) map **by id**;
* anything else keeps the sorted order, and the mapping is spelled out in a note the CLI
  prints, so a wrong guess is visible instead of silent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

#: how many folder → class pairs a note spells out
SHOW_PAIRS = 8


@dataclasses.dataclass(frozen=True)
class ClassMapping:
    """``how`` is "by label name", "by class id" or "by sorted folder name"."""

    how: str
    #: class id of each ``ImageSet.class_names`` entry
    ids: tuple[int, ...]
    #: a sentence for the user when the mapping was a guess (sorted order), else None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"class_mapping": self.how, "class_ids": list(self.ids)}


def map_class_folders(folders: Sequence[str], labels: Sequence[str]) -> ClassMapping:
    """How ``folders`` (sorted sub-folder names) map onto a model with ``labels``."""
    index = {str(label): i for i, label in enumerate(labels)}
    if folders and all(name in index for name in folders):
        return ClassMapping("by label name", tuple(index[n] for n in folders), None)
    if folders and all(n.isdigit() and int(n) < len(labels) for n in folders):
        return ClassMapping("by class id", tuple(int(n) for n in folders), None)
    ids = tuple(range(len(folders)))
    pairs = ", ".join(
        f"{name}→{i}" + (f" ({labels[i]})" if i < len(labels) else "")
        for name, i in list(zip(folders, ids, strict=True))[:SHOW_PAIRS]
    )
    more = f", … ({len(folders)} folders)" if len(folders) > SHOW_PAIRS else ""
    sample = ", ".join(map(str, labels[:4])) + (", …" if len(labels) > 4 else "")
    note = (
        f"class folders are neither the model's label names ({sample}) nor class ids "
        f"0..{len(labels) - 1}; mapped in sorted order: {pairs}{more}. Rename the folders to "
        "label names or ids, or use a list file, if that is not what they mean"
    )
    return ClassMapping("by sorted folder name", ids, note)


def apply_class_folders(image_set: Any, labels: Sequence[str]) -> tuple[Any, ClassMapping | None]:
    """``image_set`` relabelled by :func:`map_class_folders` (unchanged unless it is a
    folder-per-class set), and the mapping used."""
    if image_set.layout != "folders" or not image_set.class_names:
        return image_set, None
    mapping = map_class_folders(image_set.class_names, labels)
    samples = tuple(
        dataclasses.replace(s, label=mapping.ids[s.label]) if s.label is not None else s
        for s in image_set.samples
    )
    return dataclasses.replace(image_set, samples=samples), mapping
