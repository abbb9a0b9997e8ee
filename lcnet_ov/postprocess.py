"""Post-processing: model outputs to :class:`~lcnet_ov.results.Prediction` (softmax, top-k).

numpy only, so verification, evaluation and both classifiers rank classes the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import Prediction


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax for callers holding logits (official exports don't need it)."""
    x = np.asarray(logits)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def is_probability(x: np.ndarray, atol: float = 1e-3) -> bool:
    """True when every row (last axis) is finite, non-negative and sums to 1 within ``atol``.

    Used to tell a model that already ends in Softmax from one that emits logits, so softmax is
    never applied twice.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0 or a.ndim == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        return False
    return bool(np.all(np.abs(a.sum(axis=-1) - 1.0) <= atol))


def topk_ids(scores: np.ndarray, k: int) -> np.ndarray:
    """Class ids of the ``k`` best scores per row of ``[N, C]``, best first (``k`` clipped to C).

    Ties rank the lower class id first (stable sort on float64), so every caller (top-k
    predictions, evaluation, verification) orders classes the same way.
    """
    p = np.asarray(scores)
    return np.argsort(-p.astype(np.float64), axis=1, kind="stable")[:, : min(k, p.shape[1])]


def topk(
    probs: np.ndarray,
    k: int = 5,
    labels: Sequence[str] | None = None,
    filenames: Sequence[str | None] | None = None,
) -> list[Prediction]:
    """Top-``k`` per row of ``probs`` ``[N, C]`` (a 1-D vector counts as one row).

    Scores are used as given: PaddleClas exports already end in Softmax. Ties rank the lower
    class id first (stable sort), so results are deterministic; ``k`` is clipped to ``C``.
    """
    p = np.asarray(probs)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"topk expects scores shaped [N, C] with C > 0, got {p.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n, c = p.shape
    if labels is not None and len(labels) != c:
        raise ValueError(f"{len(labels)} labels for a model with {c} outputs")
    if filenames is not None and len(filenames) != n:
        raise ValueError(f"{len(filenames)} filenames for {n} results")
    if not np.all(np.isfinite(p)):
        rows = np.nonzero(~np.all(np.isfinite(p), axis=1))[0].tolist()
        which = [filenames[r] for r in rows] if filenames is not None else rows
        raise ValueError(f"non-finite scores (NaN/inf) in results for {which}")
    order = topk_ids(p, k)
    return [
        Prediction(
            class_ids=tuple(int(i) for i in ids),
            scores=tuple(float(p[r, i]) for i in ids),
            label_names=tuple(labels[i] for i in ids) if labels is not None else (),
            filename=filenames[r] if filenames is not None else None,
        )
        for r, ids in enumerate(order)
    ]
