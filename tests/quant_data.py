"""Labeled text-orientation datasets on disk for the quantization and evaluation tests.

Ideas from ``textimages.py``, with more variety so the real PP-LCNet text-orientation model is
not at 100 % and INT8 errors have somewhere to show: 8 Hershey fonts (italic too), 1 to 16
lines, 0.4×–1.3× text, low-contrast ink, tinted and unevenly lit paper, skew up to ±7°, blur,
sensor noise and JPEG artifacts (files are written as JPEGs of random quality).

Speed matters (the tests render several hundred images): pages are drawn in uint8 with one
float32 pass for lighting and noise, and noise is a random window of a Gaussian bank made once,
instead of float64 normals per page (which made ``textimages`` 30 ms per image).
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
    cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC,
    cv2.FONT_HERSHEY_COMPLEX | cv2.FONT_ITALIC,
)
WORDS = (
    "the quick brown fox jumps over lazy dog invoice total amount date page report section "
    "model inference latency throughput openvino paddle image text number customer order "
    "shipping address phone email summary table figure result Paid Due INVOICE No. Qty "
    "Price 2024 12.50 1,280.00 #4471 Street City Total: Subtotal VAT Notes signature"
).split()
# label i: page rotated by 90·i degrees clockwise (0, 90, 180, 270), as the model's labels
ROTATIONS = (None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
ANGLES = ("0", "90", "180", "270")


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Unit Gaussian noise, generated once; pages take random windows of it.

    Fresh normals per page were the slowest step of rendering (5 ms a page).
    """
    bank = np.empty((448, 800, 3), np.float32)  # ≥ the largest page (440 × 792)
    cv2.setRNGSeed(20210930)
    cv2.randn(bank, 0.0, 1.0)
    return bank


def render_page(rng: np.random.Generator) -> np.ndarray:
    """One upright page of text, BGR uint8.

    Drawing, skew and blur run on uint8; lighting and noise share a single float32 pass.
    """
    h = int(rng.integers(220, 440))
    w = int(h * rng.uniform(0.7, 1.8))
    paper = rng.integers(170, 256, 3)
    img = np.full((h, w, 3), paper.astype(np.uint8), np.uint8)
    font = FONTS[int(rng.integers(len(FONTS)))]
    scale = float(rng.uniform(0.4, 1.3))
    thick = int(rng.integers(1, 3))
    contrast = rng.uniform(0.35, 1.0)
    ink = tuple(int(c) for c in paper * (1 - contrast) + rng.integers(0, 60, 3) * contrast)
    lines = int(rng.integers(1, 17))
    y = int(rng.integers(20, 60))
    x0 = int(rng.integers(5, 40))
    for _ in range(lines):
        if y > h - 10:
            break
        words = (WORDS[j] for j in rng.integers(0, len(WORDS), int(rng.integers(2, 10))))
        indent = x0 + (int(rng.integers(0, 80)) if rng.random() < 0.2 else 0)
        cv2.putText(img, " ".join(words), (indent, y), font, scale, ink, thick, cv2.LINE_AA)
        y += int(30 * scale + rng.integers(6, 26))
    angle = float(rng.uniform(-7, 7))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    border = tuple(int(c) for c in paper)
    img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5, 7]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    lit = rng.random() < 0.5  # uneven lighting: a linear ramp across the page
    sigma = float(rng.uniform(0, 16))
    if not lit and sigma <= 1:
        return img
    f = img.astype(np.float32)
    if lit:
        ramp = np.linspace(rng.uniform(0.75, 1.0), 1.0, w, dtype=np.float32)
        f *= (ramp if rng.random() < 0.5 else ramp[::-1])[None, :, None]
    if sigma > 1:
        bank = _noise_bank()
        y0 = int(rng.integers(0, bank.shape[0] - h + 1))
        x0 = int(rng.integers(0, bank.shape[1] - w + 1))
        f = cv2.scaleAdd(bank[y0 : y0 + h, x0 : x0 + w], sigma, f)
    np.clip(f, 0, 255, out=f)
    return f.astype(np.uint8)


def orientation_images(n: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """``n`` rotated pages with labels cycling 0..3 (balanced), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = i % 4
        page = render_page(rng)
        rot = ROTATIONS[label]
        images.append(page if rot is None else cv2.rotate(page, rot))
        labels.append(label)
    return images, labels


def write_dataset(
    root: Path, n: int, seed: int, *, layout: str = "list", list_name: str = "val_list.txt"
) -> Path:
    """Write ``n`` JPEGs (quality 35–95) as a PaddleClas list dataset or an ImageFolder.

    ImageFolder sub-folders are named ``c0_0deg`` … ``c3_270deg`` so their *sorted* order is
    the model's class order (plain ``0 90 180 270`` would sort as 0, 180, 270, 90).
    """
    rng = np.random.default_rng(seed + 1_000_003)
    images, labels = orientation_images(n, seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        quality = int(rng.integers(35, 96))
        if layout == "folders":
            rel = Path(f"c{label}_{ANGLES[label]}deg") / f"page_{i:05d}.jpg"
        else:
            rel = Path("images") / f"page_{i:05d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        buf.tofile(str(root / rel))
        lines.append(f"{rel.as_posix()} {label}")
    if layout == "list":
        (root / list_name).write_text("\n".join(lines) + "\n")
    return root


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
        from lcnet_ov.conversion import convert

        out = factory.mktemp("orientation-ir") / "fp32" / "model.xml"
        _CACHE[key] = convert(onnx_path, out, model="text_image_orientation").xml
    return _CACHE[key]


def int8_home(factory: pytest.TempPathFactory) -> Path:
    """A model cache for the tests that write INT8 IRs into the zoo cache.

    Kept apart from the session's shared ``LCNET_OV_HOME`` so other test files never find an
    INT8 model they did not make (``resolve_ir(name, "int8")`` would succeed there).
    """
    return factory.getbasetemp() / "lcnet-home-int8"
