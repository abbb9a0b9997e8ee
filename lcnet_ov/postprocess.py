"""Post-processing: model outputs to :class:`~lcnet_ov.results.Prediction` (softmax, top-k,
and :class:`Postprocess`: the model's own ``PostProcess`` config: top-k, multi-label
thresholds, PULC's binary threshold and attribute decoders).

numpy only, so verification, evaluation and both classifiers rank classes the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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

    Why not one ``argsort``: a stable sort of all 1000 ImageNet classes was ~50 µs per image,
    3/4 of the pipeline's post-processing, to keep 5 of them. Rows are cut first to the
    candidates scoring at least the k-th best (found by ``np.partition``; every tie with it is
    kept) and only those are sorted, stably and in class-id order, which selects exactly the
    rows' first ``k`` of the full sort. Small class counts and large ``k`` take the full sort,
    and so does each row holding NaN or inf (NaN ranks last there, as before).
    """
    p = np.asarray(scores)
    neg = -p.astype(np.float64)
    k = min(k, p.shape[1])
    if neg.ndim != 2 or k < 1 or 8 * k >= neg.shape[1]:
        return np.argsort(neg, axis=1, kind="stable")[:, :k]
    finite = np.isfinite(neg).all(axis=1)
    safe = neg if finite.all() else np.where(finite[:, None], neg, 0.0)  # no copy when finite
    kth = np.partition(safe, k - 1, axis=1)[:, k - 1]
    out = np.empty((len(neg), k), dtype=np.intp)
    for r, row in enumerate(neg):
        if not finite[r]:
            out[r] = np.argsort(row, kind="stable")[:k]
            continue
        candidates = np.flatnonzero(row <= kth[r])  # ascending ids: the stable sort's tie order
        out[r] = candidates[np.argsort(row[candidates], kind="stable")[:k]]
    return out


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


# ---- Post-processing as the model's config says ------------------------------------------------

#: what a model's ``PostProcess`` can be (PaddleX 3 / PaddleClas deploy op in parentheses)
POSTPROCESS_KINDS = (
    "topk",  # Topk
    "multilabel",  # MultiLabelThreshOutput (PaddleX semantics: strict >, highest first)
    "threshold",  # ThreshOutput (PULC binary models)
    "person_attribute",  # PersonAttribute (PULC)
    "vehicle_attribute",  # VehicleAttribute (PULC)
)
#: what the exported graph ends with; a runtime never applies one over another
ACTIVATIONS = ("softmax", "sigmoid", "none")

#: PaddleClas' pedestrian attribute order (PULC person_attribute, PaddleX pedestrian_attribute)
PERSON_ATTRIBUTE_LABELS = (
    "Hat", "Glasses", "ShortSleeve", "LongSleeve", "UpperStride", "UpperLogo", "UpperPlaid",
    "UpperSplice", "LowerStripe", "LowerPattern", "LongCoat", "Trousers", "Shorts",
    "Skirt&Dress", "Boots", "HandBag", "ShoulderBag", "Backpack", "HoldObjectsInFront",
    "AgeLess18", "Age18-60", "AgeOver60", "Female", "Front", "Side", "Back",
)  # fmt: skip
_VEHICLE_COLORS = (
    "yellow", "orange", "green", "gray", "red", "blue", "white", "golden", "brown", "black",
)  # fmt: skip
_VEHICLE_TYPES = ("sedan", "suv", "van", "hatchback", "mpv", "pickup", "bus", "truck", "estate")
#: PaddleClas' vehicle attribute order (PULC vehicle_attribute): 10 colours then 9 types
VEHICLE_ATTRIBUTE_LABELS = _VEHICLE_COLORS + _VEHICLE_TYPES

_ATTRIBUTE_DEFAULTS: dict[str, dict[str, float]] = {
    "person_attribute": {"threshold": 0.5, "glasses_threshold": 0.3, "hold_threshold": 0.6},
    "vehicle_attribute": {"color_threshold": 0.5, "type_threshold": 0.5},
}


@dataclass(frozen=True)
class Postprocess:
    """How a model's outputs become :class:`~lcnet_ov.results.Prediction` s.

    Read from the model's own config (:mod:`lcnet_ov.inputs.model_config`) and stored in the
    IR's rt_info, so every runtime answers as PaddleX / PaddleClas do for that model.
    ``activation`` is what the exported graph itself ends with: post-processors never add one
    (PaddleClas puts Softmax or Sigmoid into the export), so multi-label scores are never
    softmaxed.
    """

    kind: str = "topk"
    #: ``topk``: how many classes (clipped to the class count)
    topk: int | None = 5
    #: ``multilabel``: one float or one per class; ``threshold``: the binary threshold
    threshold: float | tuple[float, ...] | None = None
    #: the config's ``label_list`` (``threshold``: ``(label_0, label_1)``)
    labels: tuple[str, ...] | None = None
    activation: str = "softmax"
    #: attribute decoders' own thresholds; ``threshold`` kind: ``default_label_index``
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in POSTPROCESS_KINDS:
            raise ValueError(f"unknown post-processing kind {self.kind!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if self.kind == "topk" and (self.topk is None or self.topk < 1):
            raise ValueError(f"topk must be >= 1, got {self.topk}")

    @classmethod
    def default(cls) -> Postprocess:
        """What IRs converted before configs were read get: top-5 over softmax probabilities."""
        return cls()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("threshold", "labels"):
            if isinstance(d[key], tuple):
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Postprocess:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if isinstance(kw.get("threshold"), list):
            kw["threshold"] = tuple(float(t) for t in kw["threshold"])
        elif kw.get("threshold") is not None:
            kw["threshold"] = float(kw["threshold"])
        if kw.get("labels") is not None:
            kw["labels"] = tuple(str(x) for x in kw["labels"])
        kw["params"] = dict(kw.get("params") or {})
        return cls(**kw)

    @property
    def ranks_all_classes(self) -> bool:
        """Whether a prediction lists classes by rank (top-k), so a ``k`` override applies."""
        return self.kind == "topk"

    def apply(
        self,
        probs: np.ndarray,
        filenames: Sequence[str | None] | None = None,
        *,
        labels: Sequence[str] | None = None,
        k: int | None = None,
    ) -> list[Prediction]:
        """Outputs ``[N, C]`` (as the graph gives them) → one :class:`Prediction` per row.

        ``labels`` overrides the config's (a user's class-id map); ``k`` overrides ``topk``
        for the ``topk`` kind only (the other kinds select by threshold, not rank).
        """
        p = np.asarray(probs)
        if p.ndim == 1:
            p = p[None, :]
        names = tuple(labels) if labels is not None else self.labels
        if self.kind == "topk":
            return topk(p, k or self.topk or 5, names, filenames)
        if p.ndim != 2 or p.shape[1] == 0:
            raise ValueError(f"post-processing expects scores shaped [N, C], got {p.shape}")
        if names is not None and len(names) != p.shape[1] and self.kind != "threshold":
            raise ValueError(f"{len(names)} labels for a model with {p.shape[1]} outputs")
        fn = filenames if filenames is not None else [None] * len(p)
        if len(fn) != len(p):
            raise ValueError(f"{len(fn)} filenames for {len(p)} results")
        decode = {
            "multilabel": self._multilabel,
            "threshold": self._threshold,
            "person_attribute": self._person_attribute,
            "vehicle_attribute": self._vehicle_attribute,
        }[self.kind]
        return [decode(row, names, f) for row, f in zip(p, fn, strict=True)]

    def decisions(self, probs: np.ndarray) -> np.ndarray:
        """0/1 per row and class ``[N, C]``: the classes :meth:`apply` selects, taken from
        :meth:`apply` itself so evaluation scores exactly what ``infer`` answers (strict or
        at-or-above, the scores' own precision, the attribute decoders' own thresholds)."""
        p = np.asarray(probs)
        p = p[None, :] if p.ndim == 1 else p
        out = np.zeros(p.shape, dtype=np.int8)
        for r, pred in enumerate(self.apply(p, labels=[""] * p.shape[1])):
            out[r, list(pred.class_ids)] = 1
        return out

    def label_thresholds(self, c: int) -> np.ndarray:
        """Per-class thresholds a multi-label or attribute model decides at (``[C]``, for
        reports): the config's, or the decoder's (PersonAttribute: 0.5 but glasses and
        holding-objects; VehicleAttribute: colour and type thresholds)."""
        if self.kind == "person_attribute":
            q = self._params()
            thr = np.full(c, 0.5)
            thr[1], thr[18] = q["glasses_threshold"], q["hold_threshold"]
            return thr
        if self.kind == "vehicle_attribute":
            q = self._params()
            return np.array([q["color_threshold"]] * 10 + [q["type_threshold"]] * (c - 10))
        return np.array(self._thresholds(c), dtype=np.float64)

    # -- the kinds ----------------------------------------------------------------------------

    def _thresholds(self, c: int) -> np.ndarray:
        t = 0.5 if self.threshold is None else self.threshold
        thr = np.asarray(t, dtype=np.float64)
        if thr.ndim == 1 and len(thr) != c:
            raise ValueError(f"{len(thr)} thresholds for a model with {c} outputs")
        return np.broadcast_to(thr, (c,))

    @staticmethod
    def _selected(row: np.ndarray, chosen: np.ndarray, names, filename) -> Prediction:
        """Labels at ``chosen`` indexes, highest score first (ties: lower index first)."""
        ids = np.nonzero(chosen)[0]
        ids = ids[np.argsort(-row[ids].astype(np.float64), kind="stable")]
        return Prediction(
            class_ids=tuple(int(i) for i in ids),
            scores=tuple(float(row[i]) for i in ids),
            label_names=tuple(names[i] for i in ids) if names is not None else (),
            filename=filename,
        )

    def _multilabel(self, row: np.ndarray, names, filename) -> Prediction:
        # PaddleX 3 MultiLabelThreshOutput: strictly above, by score descending; PaddleClas'
        # deploy one (params at_or_above / index_order): at or above, in class order
        # compared in the scores' own precision, as numpy compares a float32 row with a Python
        # float threshold in both references (0.2 is float32(0.2) there)
        x = row if np.issubdtype(row.dtype, np.floating) else row.astype(np.float64)
        thr = self._thresholds(len(row)).astype(x.dtype)
        chosen = x >= thr if self.params.get("at_or_above") else x > thr
        if not self.params.get("index_order"):
            return self._selected(row, chosen, names, filename)
        ids = np.nonzero(chosen)[0]
        return Prediction(
            class_ids=tuple(int(i) for i in ids),
            scores=tuple(float(row[i]) for i in ids),
            label_names=tuple(names[i] for i in ids) if names is not None else (),
            filename=filename,
        )

    def _threshold(self, row: np.ndarray, names, filename) -> Prediction:
        # PaddleClas ThreshOutput: binary → class 1 at or over the threshold, else class 0 with
        # score 1 - p1 (float32 arithmetic, as PaddleClas computes it)
        t = float(self.threshold if self.threshold is not None else 0.0)
        if len(row) == 2:
            p1 = row[1]
            cls, score = (0, type(p1)(1) - p1) if p1 < t else (1, p1)
        else:
            top = int(np.argsort(row, kind="stable")[::-1][0])
            cls = top if row[top] > t else int(self.params.get("default_label_index", 0))
            score = row[cls]
        label = (names[cls] if cls < len(names) else "") if names is not None else str(cls)
        return Prediction((cls,), (float(score),), (label,), filename)

    def _params(self) -> dict[str, float]:
        return {**_ATTRIBUTE_DEFAULTS[self.kind], **self.params}

    def _person_attribute(self, row: np.ndarray, names, filename) -> Prediction:
        if len(row) != 26:
            raise ValueError(f"PersonAttribute decodes 26 outputs, the model has {len(row)}")
        q = self._params()
        t, glasses_t, hold_t = q["threshold"], q["glasses_threshold"], q["hold_threshold"]
        r = row.tolist()  # Python floats, as PaddleClas compares them

        def yes(flag: bool) -> str:
            return "True" if flag else "False"

        bag_i = int(np.argmax(r[15:18]))
        upper = "Upper: " + ("LongSleeve" if r[3] > r[2] else "ShortSleeve")
        upper_names = PERSON_ATTRIBUTE_LABELS[4:8]
        upper += "".join(f" {n}" for n, v in zip(upper_names, r[4:8], strict=True) if v > t)
        lower_names = PERSON_ATTRIBUTE_LABELS[8:14]
        lower = "".join(f" {n}" for n, v in zip(lower_names, r[8:14], strict=True) if v > t)
        lower = "Lower: " + (lower or f" {lower_names[int(np.argmax(r[8:14]))]}")
        decoded = [
            "Female" if r[22] > t else "Male",
            ("AgeLess18", "Age18-60", "AgeOver60")[int(np.argmax(r[19:22]))],
            ("Front", "Side", "Back")[int(np.argmax(r[23:]))],
            "Glasses: " + yes(r[1] > glasses_t),
            "Hat: " + yes(r[0] > t),
            "HoldObjectsInFront: " + yes(r[18] > hold_t),
            ("HandBag", "ShoulderBag", "Backpack")[bag_i] if r[15 + bag_i] > t else "No bag",
            upper,
            lower,
            "Boots" if r[14] > t else "No boots",
        ]
        # the 0/1 vector uses 0.5 (not `threshold`) except glasses and hold, as PaddleClas does
        thr = [0.5] * 26
        thr[1], thr[18] = glasses_t, hold_t
        output = (np.array(r) > np.array(thr)).astype(np.int8)
        pred = self._selected(row, output == 1, names or PERSON_ATTRIBUTE_LABELS, filename)
        attrs = {"attributes": decoded, "output": output.tolist()}
        return dataclasses.replace(pred, attributes=attrs)

    def _vehicle_attribute(self, row: np.ndarray, names, filename) -> Prediction:
        if len(row) != 19:
            raise ValueError(f"VehicleAttribute decodes 19 outputs, the model has {len(row)}")
        q = self._params()
        color_t, type_t = q["color_threshold"], q["type_threshold"]
        r = row.tolist()
        ci, ti = int(np.argmax(r[:10])), int(np.argmax(r[10:]))
        color = (
            f"Color: ({_VEHICLE_COLORS[ci]}, prob: {r[ci]})"
            if r[ci] >= color_t
            else "Color unknown"
        )
        kind = (
            f"Type: ({_VEHICLE_TYPES[ti]}, prob: {r[ti + 10]})"
            if r[ti + 10] >= type_t
            else "Type unknown"
        )
        output = (np.array(r) > np.array([color_t] * 10 + [type_t] * 9)).astype(np.int8)
        pred = self._selected(row, output == 1, names or VEHICLE_ATTRIBUTE_LABELS, filename)
        attrs = {"attributes": f"{color}, {kind}", "output": output.tolist()}
        return dataclasses.replace(pred, attributes=attrs)
