"""Rendered, labeled text-orientation images for tests that need real inputs for the real
PP-LCNet text-orientation model: pages of text in several OpenCV fonts, sizes and line counts,
with noise, blur and slight skew, rotated by 0/90/180/270 degrees (labels 0..3)."""

from __future__ import annotations

import cv2
import numpy as np

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)
WORDS = (
    "the quick brown fox jumps over lazy dog invoice total amount date page report "
    "section model inference latency throughput openvino paddle image text number "
    "customer order shipping address phone email summary table figure result"
).split()
# PaddleClas labels: "90" is a page turned 90° clockwise (checked against the real model)
ROTATIONS = (None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)


def render_page(rng: np.random.Generator) -> np.ndarray:
    h, w = int(rng.integers(300, 520)), int(rng.integers(360, 640))
    bg = int(rng.integers(200, 256))
    img = np.full((h, w, 3), bg, np.uint8)
    font = FONTS[int(rng.integers(len(FONTS)))]
    scale = float(rng.uniform(0.55, 1.1))
    thick = int(rng.integers(1, 3))
    ink = tuple(int(c) for c in rng.integers(0, 90, 3))
    y = int(rng.integers(25, 50))
    lines = int(rng.integers(4, 14))
    for _ in range(lines):
        words = rng.choice(WORDS, size=int(rng.integers(3, 9)))
        cv2.putText(
            img,
            " ".join(words),
            (int(rng.integers(5, 30)), y),
            font,
            scale,
            ink,
            thick,
            cv2.LINE_AA,
        )
        y += int(30 * scale + rng.integers(8, 22))
        if y > h - 10:
            break
    angle = float(rng.uniform(-4, 4))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    img = cv2.warpAffine(img, m, (w, h), borderValue=(bg, bg, bg))
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    noise = rng.normal(0, rng.uniform(0, 10), img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def text_orientation_set(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` BGR images and their orientation labels (0:0°, 1:90°, 2:180°, 3:270°)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        page = render_page(rng)
        label = i % 4
        rot = ROTATIONS[label]
        images.append(page if rot is None else cv2.rotate(page, rot))
        labels.append(label)
    return images, np.asarray(labels)
