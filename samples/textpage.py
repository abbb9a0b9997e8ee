"""Rendered pages of text for the samples: real inputs for the text-orientation model that need
no download. ``page(seed, orientation)`` turns the page by 0/90/180/270 degrees clockwise,
matching the model's labels ``"0"``, ``"90"``, ``"180"``, ``"270"``."""

from __future__ import annotations

import cv2
import numpy as np

ORIENTATIONS = ("0", "90", "180", "270")
_ROTATE = (None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
_WORDS = "invoice total amount date page report order customer address phone summary".split()


def page(seed: int, orientation: int = 0) -> np.ndarray:
    """A BGR page of a few lines of text, turned by ``ORIENTATIONS[orientation]`` degrees."""
    rng = np.random.default_rng(seed)
    img = np.full((360, 480, 3), 245, np.uint8)
    font = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX)[seed % 3]
    for row in range(8):
        words = " ".join(rng.choice(_WORDS, size=5))
        cv2.putText(img, words, (15, 40 + 40 * row), font, 0.8, (20, 20, 20), 2, cv2.LINE_AA)
    turn = _ROTATE[orientation % 4]
    return img if turn is None else cv2.rotate(img, turn)
