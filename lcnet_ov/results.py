"""Every result type the SDK hands out, in one place.

:class:`Prediction` (a classified image, PaddleClas ``Topk`` terms), :class:`FailedPrediction`
(an input that could not be classified, standing in its place in a stream) and
:data:`Result`, either of them. Pure data (numpy only): the run side, serving, the Ray job and
the CLI all format results through these, so their JSON cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import numpy as np

from .errors import LcnetOVError


@dataclass(frozen=True)
class Prediction:
    """The result for one image, in PaddleX/PaddleClas terms, for every kind of model.

    Single-label (``Topk``): the top-k classes, best first. Multi-label
    (``MultiLabelThreshOutput``): every label over its threshold, highest score first (possibly
    none). Binary (``ThreshOutput``): the one decided class. Attribute models
    (``PersonAttribute`` / ``VehicleAttribute``): the labels whose 0/1 ``output`` is 1, highest
    first, plus :attr:`attributes`: PaddleClas' decoded result verbatim
    (``{"attributes": ..., "output": [...]}``).
    """

    class_ids: tuple[int, ...]
    scores: tuple[float, ...]  # as the model gave them; rounded only for display
    label_names: tuple[str, ...] = ()
    filename: str | None = None
    #: decoded attributes (attribute models only), as PaddleClas' post-processor returns them
    attributes: dict[str, Any] | None = field(default=None, hash=False)

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
        if self.attributes is not None:
            d["attributes"] = self.attributes
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
        if self.attributes is not None:
            line += f", attributes: {self.attributes.get('attributes', self.attributes)}"
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


@dataclass(frozen=True)
class FrameResult:
    """One classified frame of a video or live stream.

    ``frame`` is the index in the source (every frame read counts, skipped ones included),
    ``time_s`` the stream time of the frame in seconds from the first one. ``class_ids``,
    ``scores`` and ``label_names`` are as in :class:`Prediction`; with ``smooth=K`` they are the
    mean over the last K classified frames and :attr:`raw` holds the frame's own prediction.
    A frame that could not be classified (undecodable, failed inference) has :attr:`error`
    set and empty fields; its top-1 shortcuts re-raise the error, as
    :class:`FailedPrediction`'s do.
    """

    source: str
    frame: int
    time_s: float
    class_ids: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    label_names: tuple[str, ...] = ()
    error: BaseException | None = None
    raw: Prediction | None = None
    #: frames the source had read beyond this one when it was handed out (live lag)
    lag_frames: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str:
        """One line naming the source and frame (empty for a classified frame)."""
        if self.error is None:
            return ""
        text = str(self.error).strip() or type(self.error).__name__
        if not isinstance(self.error, LcnetOVError):
            text = f"{type(self.error).__name__}: {text}"
        where = f"{self.source} frame {self.frame}"
        if f"frame {self.frame}" in text:
            return text if self.source in text else f"{self.source}: {text}"
        return f"{where}: {text}"

    def _checked(self) -> None:
        if self.error is not None:
            raise self.error

    @property
    def class_id(self) -> int:
        self._checked()
        return self.class_ids[0]

    @property
    def score(self) -> float:
        self._checked()
        return self.scores[0]

    @property
    def label_name(self) -> str | None:
        self._checked()
        return self.label_names[0] if self.label_names else None

    def rounded_scores(self, decimals: int = 5) -> list[float]:
        return np.around(np.asarray(self.scores, dtype=np.float64), decimals).tolist()

    def to_dict(self, decimals: int | None = 5) -> dict[str, Any]:
        """``source``, ``frame``, ``time_s`` (ms resolution) and Prediction's fields, or
        ``error`` for a failed frame."""
        d: dict[str, Any] = {
            "source": self.source,
            "frame": self.frame,
            "time_s": round(self.time_s, 3),
        }
        if self.error is not None:
            d["error"] = self.reason
            return d
        scores = list(self.scores) if decimals is None else self.rounded_scores(decimals)
        d.update(class_ids=list(self.class_ids), scores=scores, label_names=list(self.label_names))
        return d

    def format(self) -> str:
        """Prediction's line, then ``source``, ``frame`` and ``time_s``."""
        if self.error is not None:
            return f"error: {self.reason}"
        return (
            f"class_ids: {list(self.class_ids)}, scores: {self.rounded_scores(5)}, "
            f"label_names: {list(self.label_names)}, source: {self.source}, "
            f"frame: {self.frame}, time_s: {self.time_s:.3f}"
        )

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class StreamEvent:
    """A segment of a stream with one (smoothed) top label: from the first frame that had it
    (``start_s``/``start_frame``) to the last one (``end_s``/``end_frame``), ``frames``
    classified frames whose top score averaged ``mean_score``."""

    source: str
    class_id: int
    label_name: str | None
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    frames: int
    mean_score: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self, decimals: int | None = 5) -> dict[str, Any]:
        score = self.mean_score if decimals is None else round(self.mean_score, decimals)
        return {
            "source": self.source,
            "class_id": self.class_id,
            "label_name": self.label_name,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "frames": self.frames,
            "mean_score": score,
        }

    def format(self) -> str:
        """``90 12.400 s – 31.000 s (frames 310–775, 47 classified, mean score 0.93412), ...``"""
        label = self.label_name if self.label_name is not None else f"class {self.class_id}"
        return (
            f"{label} {self.start_s:.3f} s – {self.end_s:.3f} s (frames {self.start_frame}–"
            f"{self.end_frame}, {self.frames} classified, mean score {self.mean_score:.5f}), "
            f"source: {self.source}"
        )

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class StreamStats:
    """What a stream run did: frames read from the source (skipped ones included), classified,
    failed, dropped by the live buffer because inference fell behind, reconnects, and the
    largest lag (frames the source was ahead of a result when it was handed out)."""

    source: str
    frames_read: int = 0
    classified: int = 0
    failed: int = 0
    dropped: int = 0
    reconnects: int = 0
    max_lag_frames: int = 0

    def line(self) -> str:
        return (
            f"{self.source}: {self.frames_read} frames read, {self.classified} classified, "
            f"{self.failed} failed, {self.dropped} dropped (live), {self.reconnects} reconnects, "
            f"max lag {self.max_lag_frames} frames"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
