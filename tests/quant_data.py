"""Session caches of labeled text-orientation datasets and IRs for the quantization and
evaluation tests; the pages themselves come from :mod:`lcnet_ov.testing` (``VARIED`` style)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lcnet_ov.testing import write_dataset

# ---- Session caches: several test files use the same sets and IR; build each once ----------

_CACHE: dict[tuple, Path] = {}


def cached_dataset(
    factory: pytest.TempPathFactory,
    n: int,
    seed: int,
    *,
    layout: str = "list",
    list_name: str = "val_list.txt",
) -> Path:
    """:func:`write_dataset` once per pytest session for each argument set (read-only use)."""
    key = ("data", n, seed, layout, list_name)
    if key not in _CACHE:
        root = factory.mktemp(f"text-{layout}-{n}-s{seed}")
        _CACHE[key] = write_dataset(root, n, seed, layout=layout, list_name=list_name)
    return _CACHE[key]


def orientation_ir(factory: pytest.TempPathFactory, onnx_path: Path) -> Path:
    """The real text-orientation model as an FP32 IR (with metadata), converted once."""
    key = ("ir", str(onnx_path))
    if key not in _CACHE:
        from lcnet_ov.export.conversion import convert

        out = factory.mktemp("orientation-ir") / "fp32" / "model.xml"
        _CACHE[key] = convert(onnx_path, out, model="text_image_orientation").xml
    return _CACHE[key]


def int8_home(factory: pytest.TempPathFactory) -> Path:
    """A model cache for the tests that write INT8 IRs into the zoo cache.

    Kept apart from the session's shared ``LCNET_OV_HOME`` so other test files never find an
    INT8 model they did not make (``resolve_ir(name, "int8")`` would succeed there).
    """
    return factory.getbasetemp() / "lcnet-home-int8"


def orientation_int8(factory: pytest.TempPathFactory, fp32_xml: Path) -> Path:
    """An NNCF INT8 IR of the text-orientation model (20 calibration pages), quantized once."""
    key = ("int8", str(fp32_xml))
    if key not in _CACHE:
        from lcnet_ov.export.quantization import quantize

        calib = cached_dataset(factory, 300, 11, list_name="train_list.txt")
        out = factory.mktemp("orientation-int8") / "int8" / "model.xml"
        quantize(fp32_xml, calib, subset_size=20, output=out, progress=False, speed_seconds=None)
        _CACHE[key] = out
    return _CACHE[key]
