"""Class label lists: the packaged ImageNet-1k names and PaddleClas ``class_id_map_file`` parsing.

PaddleClas' ``Topk`` post-process reads ``class_id_map_file`` line by line, splits each line at
its *first* space (``line.partition(" ")``) and uses everything after it as the label name, so
ImageNet id 0 prints as ``'tench, Tinca tinca'``. :func:`parse_class_id_map` keeps that rule but,
unlike PaddleClas (which prints the exception and silently drops all names), fails loudly naming
the file and line, because a half-read label map mislabels every prediction.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import LabelFileError
from ..zoo import ModelSpec

#: value of ``ModelSpec.labels`` that selects the packaged list
IMAGENET1K = "imagenet1k"
IMAGENET1K_FILE = "imagenet1k_label_list.txt"

# id, one space or tab, the name (PaddleClas requires the space; a tab is accepted as well)
_LINE = re.compile(r"^\s*(-?\d+)[ \t](.*)$")


def _parse_lines(lines: Sequence[str], source: str) -> dict[int, str]:
    mapping: dict[int, str] = {}
    first_line: dict[int, int] = {}
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue  # blank lines (typically a trailing one) carry no class
        m = _LINE.match(line)
        if m is None:
            raise LabelFileError(
                f"{source}:{lineno}: expected '<class id> <label name>', got {line[:80]!r}"
            )
        class_id, name = int(m.group(1)), m.group(2).strip()
        if class_id < 0:
            raise LabelFileError(f"{source}:{lineno}: negative class id {class_id}")
        if not name:
            raise LabelFileError(f"{source}:{lineno}: class id {class_id} has no label name")
        if class_id in mapping:
            raise LabelFileError(
                f"{source}:{lineno}: class id {class_id} already defined on line "
                f"{first_line[class_id]}"
            )
        mapping[class_id] = name
        first_line[class_id] = lineno
    if not mapping:
        raise LabelFileError(f"{source}: no labels found")
    return mapping


def parse_class_id_map(path: str | os.PathLike) -> dict[int, str]:
    """Read a PaddleClas ``class_id_map_file`` (``<id> <name>`` per line) into ``{id: name}``.

    The name is the full text after the first space or tab (trimmed), as PaddleClas displays it.
    Blank lines are skipped; a UTF-8 BOM and CRLF line ends are tolerated (files edited on
    Windows). Anything else malformed raises :class:`LabelFileError` with ``file:line``.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabelFileError(f"{p}: class id map file not found") from None
    except UnicodeDecodeError as e:
        raise LabelFileError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise LabelFileError(f"{p}: cannot read class id map ({e.strerror or e})") from None
    return _parse_lines(text.splitlines(), str(p))


def _to_tuple(mapping: dict[int, str], source: str) -> tuple[str, ...]:
    """Dense ``0..N-1`` tuple: a gap would shift or drop the names of every later class."""
    n = max(mapping) + 1
    missing = [i for i in range(n) if i not in mapping]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise LabelFileError(
            f"{source}: class ids must run 0..{n - 1} without gaps; missing {shown}"
        )
    return tuple(mapping[i] for i in range(n))


@functools.lru_cache(maxsize=1)
def imagenet1k_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k names shipped with the package (PaddleClas' own list)."""
    from importlib import resources  # ~3 ms, only for the bundled ImageNet names

    res = resources.files("lcnet_ov").joinpath("data", IMAGENET1K_FILE)
    text = res.read_text(encoding="utf-8")
    source = f"lcnet_ov/data/{IMAGENET1K_FILE}"
    labels = _to_tuple(_parse_lines(text.splitlines(), source), source)
    if len(labels) != 1000:  # a broken install, not a user error; still say which file
        raise LabelFileError(f"packaged {IMAGENET1K_FILE} has {len(labels)} labels, not 1000")
    return labels


def load_labels(
    spec_or_labels: ModelSpec | str | os.PathLike | Sequence[str] | None,
    class_id_map_file: str | os.PathLike | None = None,
) -> tuple[str, ...]:
    """Label names indexed by class id.

    ``spec_or_labels`` may be a :class:`ModelSpec` (its ``labels``), ``"imagenet1k"``, a path to
    a class-id map file, or the names themselves. ``class_id_map_file``, when given, overrides
    it, as PaddleClas' ``--class_id_map_file`` overrides the config. With a spec, the count must
    equal ``spec.num_classes`` so a wrong map is caught before it mislabels results.
    """
    spec = spec_or_labels if isinstance(spec_or_labels, ModelSpec) else None
    source = spec.labels if spec is not None else spec_or_labels
    if class_id_map_file is not None:
        labels = _to_tuple(parse_class_id_map(class_id_map_file), str(class_id_map_file))
    elif source is None:
        raise ValueError("load_labels needs a spec, a label list or a class_id_map_file")
    elif isinstance(source, str) and source == IMAGENET1K:
        labels = imagenet1k_labels()
    elif isinstance(source, (str, os.PathLike)):
        if not Path(source).is_file():
            raise LabelFileError(
                f"{source}: not a label file (and not {IMAGENET1K!r}, the packaged list)"
            )
        labels = _to_tuple(parse_class_id_map(source), str(source))
    else:
        labels = tuple(source)
        bad = [x for x in labels if not isinstance(x, str)]
        if bad:
            raise TypeError(f"label names must be strings, got {bad[0]!r}")
    if spec is not None and len(labels) != spec.num_classes:
        where = class_id_map_file or "its label list"
        raise LabelFileError(
            f"{spec.name} has {spec.num_classes} classes but {where} gives {len(labels)} labels"
        )
    return labels
