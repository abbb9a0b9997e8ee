"""Scores for the models that are not top-k classifiers: multi-label and binary threshold.

Pure numpy on the model's outputs as they come out of the graph (sigmoid probabilities for
multi-label and attribute models, softmax for PULC's binary models): nothing is re-activated.

* **mAP**: mean over labels of average precision, the area under each label's
  precision-recall curve as scikit-learn's ``average_precision_score`` computes it (steps at
  every distinct score, ties counted together). Labels without a positive image have no AP and
  are left out of the mean (their AP is reported as ``None``).
* **per-label accuracy**: share of images whose decision for the label equals the ground
  truth; the mean over labels is PaddleClas' label-based accuracy. The decisions are the
  model's own post-processing's (:meth:`~lcnet_ov.postprocess.Postprocess.decisions`: PaddleX's
  strict ``>`` or PaddleClas' ``>=``, the attribute decoders' per-attribute thresholds), so
  eval scores exactly what ``infer`` answers.
* **binary accuracy**: PULC's ``ThreshOutput`` says class 1 when ``p1 >= threshold`` (exactly at
  the threshold is class 1), else class 0 — again from the model's ``Postprocess``.
"""

from __future__ import annotations

import numpy as np

from ..postprocess import Postprocess


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


def multilabel_scores(
    probs: np.ndarray, targets: np.ndarray, decisions: np.ndarray
) -> tuple[float | None, float, list[float | None], list[float]]:
    """``(mAP, mean label accuracy, AP per label, accuracy per label)``; ``decisions`` are the
    model's own 0/1 answers (:meth:`~lcnet_ov.postprocess.Postprocess.decisions`)."""
    t = np.asarray(targets).astype(np.int8)
    aps = [average_precision(probs[:, j], t[:, j]) for j in range(t.shape[1])]
    known = [a for a in aps if a is not None]
    acc = (np.asarray(decisions) == t).mean(axis=0)
    return (
        float(np.mean(known)) if known else None,
        float(acc.mean()),
        aps,
        [float(a) for a in acc],
    )


def binary_decisions(post: Postprocess, probs: np.ndarray) -> np.ndarray:
    """The class PULC's ``ThreshOutput`` answers per row (1 where ``p1 >= threshold``), from
    the model's own :class:`~lcnet_ov.postprocess.Postprocess`."""
    return np.array([p.class_ids[0] for p in post.apply(probs, labels=["", ""])], dtype=np.int64)
