"""Scaffolding for tests, benchmarks and samples: seeded networks and rendered text pages.

Nothing in the library imports this module (``tests/test_layout.py`` checks): it exists so the
tests, the benchmark scripts and the samples build their inputs one way instead of three.

* :func:`seeded_network`: a PP-LCNet in Paddle with random but *healthy* weights, for
  conversion and quantization checks that need no download (Paddle is the ``convert`` extra).
* :func:`render_page` / :func:`text_orientation_set` / :func:`write_dataset`: labeled pages of
  text for the real text-orientation model (labels ``0..3`` = 0/90/180/270 degrees clockwise),
  in three :class:`PageStyle` presets: :data:`CLEAN` pages the model reads correctly, the
  :data:`VARIED` set (fonts, lighting, skew, noise, JPEG artifacts) on which it is not at 100 %
  so INT8 errors have somewhere to show, and the fixed :data:`SAMPLE` pages of ``samples/``.

Speed matters (tests render several hundred images): pages are drawn in uint8 with one float32
pass for lighting and noise, and noise is a random window of a Gaussian bank made once instead
of fresh normals per page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..export.verify import sample_images
from ..zoo import Preprocess

__all__ = [
    "CLEAN",
    "ORIENTATIONS",
    "SAMPLE",
    "VARIED",
    "PageStyle",
    "page",
    "render_page",
    "sample_images",
    "seeded_network",
    "text_orientation_set",
    "write_dataset",
]

#: the text-orientation model's labels: label ``i`` is a page turned ``90·i`` degrees clockwise
ORIENTATIONS = ("0", "90", "180", "270")
ROTATIONS = (None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
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


# ---- Seeded networks ----------------------------------------------------------------------------


def seeded_network(scale: float, num_classes: int = 1000, seed: int = 0) -> Any:
    """A PP-LCNet in eval mode whose weights and BN statistics are random but fixed by ``seed``.

    Fresh layers are useless for verification: BN's running mean 0 / variance 1 does not match
    the conv outputs, activations vanish after a few blocks and every class scores 1/C, which
    would hide any conversion bug. So BN's affine parameters are randomised and the running
    statistics set from one forward pass over synthetic images (momentum 0), giving healthy
    activations and peaked, input-dependent probabilities.
    """
    from ..export import paddle_arch
    from ..inputs.preprocess import normalize

    paddle = paddle_arch.paddle
    paddle.seed(seed)
    net = paddle_arch.build(scale, num_classes)
    rng = np.random.default_rng(seed)
    bns = [m for m in net.sublayers() if isinstance(m, paddle.nn.BatchNorm2D)]
    for bn in bns:
        c = bn.weight.shape[0]
        bn.weight.set_value(rng.uniform(0.75, 1.25, c).astype("float32"))
        bn.bias.set_value(rng.normal(0.0, 0.25, c).astype("float32"))
        bn._momentum = 0.0
    # a wider classifier than Xavier's so probabilities are peaked, not ~1/C everywhere
    fan_in = net.fc.weight.shape[0]
    w = rng.normal(0.0, 1.5 / np.sqrt(fan_in), net.fc.weight.shape).astype("float32")
    net.fc.weight.set_value(w)
    x = normalize(sample_images(8, 224, seed=seed + 1), Preprocess())
    net.train()
    with paddle.no_grad():
        net(paddle.to_tensor(x))
    for bn in bns:
        bn._momentum = 0.9
        # A channel that is (nearly) constant on the calibration images gets a variance near 0
        # and would amplify float rounding ~300x; trained nets don't look like that.
        var = bn._variance.numpy()
        bn._variance.set_value(np.maximum(var, 0.05 * float(var.mean())).astype("float32"))
    net.eval()
    return net


# ---- Rendered pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageStyle:
    """Ranges a page is drawn from; ``(lo, hi)`` pairs are half-open as in numpy's RNG."""

    height: tuple[int, int] = (220, 440)
    #: width / height
    aspect: tuple[float, float] = (0.7, 1.8)
    #: per-channel paper colour (tinted when the channels differ)
    paper: tuple[int, int] = (170, 256)
    fonts: tuple[int, ...] = FONTS
    text_scale: tuple[float, float] = (0.4, 1.3)
    thickness: tuple[int, int] = (1, 3)
    #: 1 = dark ink, towards 0 = ink close to the paper
    contrast: tuple[float, float] = (0.35, 1.0)
    lines: tuple[int, int] = (1, 17)
    #: largest skew in degrees either way
    skew: float = 7.0
    #: Gaussian blur kernels, one of them applied to half the pages; () for none
    blur: tuple[int, ...] = (3, 5, 7)
    #: largest sensor-noise sigma (grey levels)
    noise: float = 16.0
    #: a linear lighting ramp across half the pages
    uneven_light: bool = True


#: the variety the quantization and evaluation tests need (the model is not at 100 % on it)
VARIED = PageStyle()
#: pages the trained model reads correctly: dark ink, mild skew, little noise
CLEAN = PageStyle(
    height=(300, 440),
    aspect=(1.0, 1.5),
    paper=(200, 256),
    fonts=FONTS[:5],
    text_scale=(0.55, 1.1),
    contrast=(0.7, 1.0),
    lines=(4, 14),
    skew=4.0,
    blur=(3, 5),
    noise=10.0,
    uneven_light=False,
)
#: the fixed, noiseless pages of ``samples/``: 480×360, eight lines
SAMPLE = PageStyle(
    height=(360, 361),
    aspect=(4 / 3, 4 / 3),
    paper=(245, 246),
    fonts=FONTS[:1] + FONTS[2:4],
    text_scale=(0.8, 0.8),
    thickness=(2, 3),
    contrast=(0.92, 0.92),
    lines=(8, 9),
    skew=0.0,
    blur=(),
    noise=0.0,
    uneven_light=False,
)


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Unit Gaussian noise, generated once; pages take random windows of it."""
    bank = np.empty((448, 800, 3), np.float32)  # ≥ the largest page any preset draws
    cv2.setRNGSeed(20210930)
    cv2.randn(bank, 0.0, 1.0)
    return bank


def render_page(rng: np.random.Generator, style: PageStyle = VARIED) -> np.ndarray:
    """One upright page of text, BGR uint8, drawn from ``style`` with ``rng``."""
    h = int(rng.integers(*style.height))
    w = int(h * rng.uniform(*style.aspect))
    paper = rng.integers(*style.paper, 3)
    img = np.full((h, w, 3), paper.astype(np.uint8), np.uint8)
    font = style.fonts[int(rng.integers(len(style.fonts)))]
    scale = float(rng.uniform(*style.text_scale))
    thick = int(rng.integers(*style.thickness))
    contrast = rng.uniform(*style.contrast)
    ink = tuple(int(c) for c in paper * (1 - contrast) + rng.integers(0, 60, 3) * contrast)
    lines = int(rng.integers(*style.lines))
    y = int(rng.integers(20, 60))
    x0 = int(rng.integers(5, 40))
    for _ in range(lines):
        if y > h - 10:
            break
        words = (WORDS[j] for j in rng.integers(0, len(WORDS), int(rng.integers(2, 10))))
        indent = x0 + (int(rng.integers(0, 80)) if rng.random() < 0.2 else 0)
        cv2.putText(img, " ".join(words), (indent, y), font, scale, ink, thick, cv2.LINE_AA)
        y += int(30 * scale + rng.integers(6, 26))
    angle = float(rng.uniform(-style.skew, style.skew))
    if angle:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        border = tuple(int(c) for c in paper)
        img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if style.blur and rng.random() < 0.5:
        k = int(rng.choice(style.blur))
        img = cv2.GaussianBlur(img, (k, k), 0)
    lit = style.uneven_light and rng.random() < 0.5
    sigma = float(rng.uniform(0, style.noise)) if style.noise else 0.0
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


def _turn(img: np.ndarray, label: int) -> np.ndarray:
    rot = ROTATIONS[label % 4]
    return img if rot is None else cv2.rotate(img, rot)


def text_orientation_set(
    n: int, seed: int, style: PageStyle = CLEAN
) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` BGR pages and their orientation labels, cycling 0..3 (balanced), from ``seed``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    return [_turn(render_page(rng, style), int(label)) for label in labels], labels


def page(seed: int, orientation: int = 0) -> np.ndarray:
    """The sample page ``seed``, turned by ``ORIENTATIONS[orientation]`` degrees clockwise."""
    return _turn(render_page(np.random.default_rng(seed), SAMPLE), orientation)


def write_dataset(
    root: Path,
    n: int,
    seed: int,
    *,
    layout: str = "list",
    list_name: str = "val_list.txt",
    style: PageStyle = VARIED,
) -> Path:
    """Write ``n`` JPEGs (quality 35–95) as a PaddleClas list dataset or an ImageFolder.

    ImageFolder sub-folders are named ``c0_0deg`` … ``c3_270deg`` so their *sorted* order is
    the model's class order (plain ``0 90 180 270`` would sort as 0, 180, 270, 90).
    """
    rng = np.random.default_rng(seed + 1_000_003)
    images, labels = text_orientation_set(n, seed, style)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (img, label) in enumerate(zip(images, labels.tolist(), strict=True)):
        quality = int(rng.integers(35, 96))
        if layout == "folders":
            rel = Path(f"c{label}_{ORIENTATIONS[label]}deg") / f"page_{i:05d}.jpg"
        else:
            rel = Path("images") / f"page_{i:05d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError(f"OpenCV could not encode {rel} as JPEG")
        buf.tofile(str(root / rel))
        lines.append(f"{rel.as_posix()} {label}")
    if layout == "list":
        (root / list_name).write_text("\n".join(lines) + "\n")
    return root
