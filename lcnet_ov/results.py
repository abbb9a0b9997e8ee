"""Every result type the SDK hands out, in one place.

:class:`Prediction` (a classified image, PaddleClas ``Topk`` terms), :class:`FailedPrediction`
(an input that could not be classified, standing in its place in a stream) and
:data:`Result`, either of them. Pure data (numpy only): the run side, serving, the Ray job and
the CLI all format results through these, so their JSON cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from .errors import LcnetOVError


@dataclass(frozen=True)
class Prediction:
    """Top-k result for one image, in PaddleClas ``Topk`` terms (best first)."""

    class_ids: tuple[int, ...]
    scores: tuple[float, ...]  # as the model gave them; rounded only for display
    label_names: tuple[str, ...] = ()
    filename: str | None = None

    @property  # top-1 shortcuts
    def class_id(self) -> int:
        return self.class_ids[0]

    @property
    def score(self) -> float:
        return self.scores[0]

    @property
    def label_name(self) -> str | None:
        return self.label_names[0] if self.label_names else None

    def rounded_scores(self, decimals: int = 5) -> list[float]:
        """Scores rounded with ``np.around`` as PaddleClas does (so 0.0036 prints as 0.0036)."""
        return np.around(np.asarray(self.scores, dtype=np.float64), decimals).tolist()

    def to_dict(self, decimals: int | None = 5) -> dict[str, Any]:
        """The dict the ``paddleclas`` package returns; ``decimals=None`` keeps full scores."""
        scores = list(self.scores) if decimals is None else self.rounded_scores(decimals)
        d: dict[str, Any] = {
            "class_ids": list(self.class_ids),
            "scores": scores,
            "label_names": list(self.label_names),
        }
        if self.filename is not None:
            d["filename"] = self.filename
        return d

    def format(self) -> str:
        """PaddleClas' log line: ``class_ids: [...], scores: [...], label_names: [...]``.

        ``, filename: ...`` is appended when the prediction has one.
        """
        line = (
            f"class_ids: {list(self.class_ids)}, scores: {self.rounded_scores(5)}, "
            f"label_names: {list(self.label_names)}"
        )
        if self.filename is not None:
            line += f", filename: {self.filename}"
        return line

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class FailedPrediction:
    """Stands in a result stream where an input could not be classified.

    Shaped like a :class:`Prediction` (empty ``class_ids``/``scores``/``label_names``,
    ``filename``, ``to_dict``, ``format``) so streams stay uniform; ``isinstance`` tells the two
    apart. The top-1 shortcuts re-raise :attr:`error` rather than returning a made-up value.
    """

    name: str
    error: BaseException
    filename: str | None = None
    class_ids: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    label_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, item: Any, error: BaseException) -> FailedPrediction:
        return cls(name=item.name, error=error, filename=item.filename)

    @property
    def reason(self) -> str:
        """One line naming the input: domain errors already do, others get name and type."""
        text = str(self.error).strip() or type(self.error).__name__
        if not isinstance(self.error, LcnetOVError):
            text = f"{type(self.error).__name__}: {text}"
        return text if self.name in text else f"{self.name}: {text}"

    def raise_error(self) -> NoReturn:
        raise self.error

    @property
    def class_id(self) -> int:
        self.raise_error()

    @property
    def score(self) -> float:
        self.raise_error()

    @property
    def label_name(self) -> str | None:
        self.raise_error()

    def to_dict(self, decimals: int | None = 5) -> dict[str, Any]:
        return {"filename": self.filename or self.name, "error": self.reason}

    def format(self) -> str:
        return f"error: {self.reason}"

    def __str__(self) -> str:
        return self.format()


Result = Prediction | FailedPrediction
