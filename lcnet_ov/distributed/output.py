"""The Ray job's output: one Parquet or JSONL file of rows, checked before the job starts and
written atomically when it ends (a failed job leaves no half-written file).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._util import atomic_path
from ..errors import OutputFileError
from ..results import FailedPrediction

OUTPUT_FORMATS = (".parquet", ".jsonl")


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("filename", pa.string()),
            # video files: the frame's index (every frame read counts) and stream time; images: null
            ("frame", pa.int64()),
            ("time_s", pa.float64()),
            ("class_ids", pa.list_(pa.int64())),
            ("scores", pa.list_(pa.float64())),  # float32 model scores, exactly
            ("label_names", pa.list_(pa.string())),
            # attribute models only: PaddleClas' decoded result as JSON ({"attributes", "output"})
            ("attributes", pa.string()),
            ("error", pa.string()),
        ]
    )


def _attributes(result: Any) -> str | None:
    attrs = getattr(result, "attributes", None)
    return None if attrs is None else json.dumps(attrs, ensure_ascii=False)


def _rows_table(
    results: Sequence[Any],
    frames: Sequence[int] | None = None,
    times: Sequence[float] | None = None,
) -> Any:
    """Predictions / FailedPredictions → one Arrow table in the output schema; ``frames`` /
    ``times`` per result for video frames (-1 / NaN: an image, or a video that never opened)."""
    import pyarrow as pa

    failed = [isinstance(r, FailedPrediction) for r in results]
    if frames is None or times is None:
        frame_col: list[int | None] = [None] * len(results)
        time_col: list[float | None] = [None] * len(results)
    else:
        frame_col = [int(f) if f >= 0 else None for f in frames]
        time_col = [float(t) if f >= 0 else None for f, t in zip(frames, times, strict=True)]
    columns = {
        "filename": [r.filename for r in results],
        "frame": frame_col,
        "time_s": time_col,
        "class_ids": [list(r.class_ids) for r in results],
        "scores": [[float(s) for s in r.scores] for r in results],
        "label_names": [list(r.label_names) for r in results],
        "attributes": [_attributes(r) for r in results],
        "error": [r.reason if f else None for r, f in zip(results, failed, strict=True)],
    }
    return pa.Table.from_pydict(columns, schema=_schema())


@dataclass(frozen=True)
class JobSummary:
    """What a finished job did: rows written, rows with an error, wall seconds."""

    images: int
    failed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.images} images, {self.failed} failed, {self.seconds:.1f} s, "
            f"{self.rate:.1f} images/s"
        )


def check_output(path: str | os.PathLike, *, force: bool = False) -> Path:
    """``path`` if a ``.parquet``/``.jsonl`` file can be created there; else OutputFileError.

    Checked before any cluster work so a typo costs seconds, not a job. An existing file is
    replaced only with ``force`` (``--force``), as every other command's outputs.
    """
    out = Path(path)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise OutputFileError(f"{out}: output must end in {' or '.join(OUTPUT_FORMATS)}")
    if out.is_dir():
        raise OutputFileError(f"{out}: is a folder, expected a file name")
    if out.exists() and not force:
        raise OutputFileError(f"{out} exists; pass --force to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputFileError(f"{out}: folder {parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise OutputFileError(f"{out}: cannot write in {parent} ({exc.strerror or exc})") from exc
    return out


def write_results(
    dataset: Any,
    output: str | os.PathLike,
    *,
    on_rows: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> JobSummary:
    """Run ``dataset`` and stream its rows into ONE ``.parquet`` or ``.jsonl`` file.

    Rows arrive on the driver as Ray finishes them (unordered) and go to a temp file beside
    ``output``, renamed into place at the end: an interrupted or failed job leaves no half
    file. ``on_rows(images, failed)`` is called after each block, for progress displays.
    """
    import pyarrow.parquet as pq

    out = check_output(output, force=force)
    images = failed = 0
    start = time.perf_counter()
    # the umask's mode, fsynced, renamed into place only when every row is in
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".parquet":
            writer: Any = pq.ParquetWriter(tmp, _schema())
            write = writer.write_table
        else:
            writer = tmp.open("w", encoding="utf-8")

            def write(table: Any) -> None:
                for row in table.to_pylist():
                    writer.write(json.dumps(row, ensure_ascii=False) + "\n")

        with contextlib.closing(writer):
            for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
                table = table.select(_schema().names).cast(_schema())
                write(table)
                images += table.num_rows
                failed += table.num_rows - table["error"].null_count
                if on_rows is not None:
                    on_rows(images, failed)
    return JobSummary(images, failed, time.perf_counter() - start)
