"""Scores for the models that are not top-k classifiers: multi-label and binary threshold.

Pure numpy on the model's outputs as they come out of the graph (sigmoid probabilities for
multi-label and attribute models, softmax for PULC's binary models): nothing is re-activated.

* **mAP**: mean over labels of average precision, the area under each label's
  precision-recall curve as scikit-learn's ``average_precision_score`` computes it (steps at
  every distinct score, ties counted together). Labels without a positive image have no AP and
  are left out of the mean (their AP is reported as ``None``).
* **per-label accuracy**: share of images whose thresholded decision for the label
  (``score > threshold``, strict, like PaddleX's ``MultiLabelThreshOutput``) equals the ground
  truth; the mean over labels is PaddleClas' label-based accuracy.
* **binary accuracy**: PULC's ``ThreshOutput`` says class 1 when ``p1 >= threshold`` (exactly at
  the threshold is class 1), else class 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float | None:
    """AP of one label: ``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds."""
    y = np.asarray(targets).astype(bool)
    positives = int(y.sum())
    if positives == 0:
        return None
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # the last index of each run of equal scores: a threshold admits ties together
    ends = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[ends]
    precision = tp / (ends + 1)
    recall = tp / positives
    steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(steps * precision))


def thresholds_for(threshold: float | Sequence[float] | None, num_labels: int) -> np.ndarray:
    """Per-label thresholds from the model's config (one float for all, or one per label)."""
    if threshold is None:
        threshold = 0.5
    if isinstance(threshold, (int, float)):
        return np.full(num_labels, float(threshold))
    values = np.asarray([float(t) for t in threshold], dtype=np.float64)
    if values.shape != (num_labels,):
        raise ValueError(f"{len(values)} thresholds for {num_labels} labels")
    return values


def multilabel_decisions(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """0/1 per image and label: ``score > threshold`` (strict, as PaddleX decides)."""
    return (np.asarray(probs) > thresholds[None, :]).astype(np.int8)


def multilabel_scores(
    probs: np.ndarray, targets: np.ndarray, thresholds: np.ndarray
) -> tuple[float | None, float, list[float | None], list[float]]:
    """``(mAP, mean label accuracy, AP per label, accuracy per label)``."""
    t = np.asarray(targets).astype(np.int8)
    aps = [average_precision(probs[:, j], t[:, j]) for j in range(t.shape[1])]
    known = [a for a in aps if a is not None]
    acc = (multilabel_decisions(probs, thresholds) == t).mean(axis=0)
    return (
        float(np.mean(known)) if known else None,
        float(acc.mean()),
        aps,
        [float(a) for a in acc],
    )


def binary_decisions(probs: np.ndarray, threshold: float) -> np.ndarray:
    """PULC ``ThreshOutput`` on a 2-class output: 1 where ``p1 >= threshold``."""
    return (np.asarray(probs)[:, 1] >= float(threshold)).astype(np.int64)
