"""Video files in the Ray job: read by Ray tasks, every sampled frame a row.

::

    from_items(videos, one block each)
        └─► map_batches(_read_video, num_cpus=READ_CPUS)    a Ray task per video: FFmpeg
              decode and sampling (inputs.video.VideoReader, as local streams), frames yielded
              a few at a time as raw BGR pixels
        └─► (union with the image reads) ─► the job's one actor pool ─► rows with frame, time_s

Why it is built this way:

* **Videos are read where the work runs, never on the driver**: the driver only lists the
  files (and checks that they are video files by the same suffixes streams use); each read
  task opens its video with OpenCV's FFmpeg, like :meth:`AsyncClassifier.stream` does, so
  ``frame`` counts every frame read, ``time_s`` is the stream's own timestamp, and ``every``
  / ``fps`` sample exactly as the local engine does.
* **Memory stays bounded however long the video**: the task is a generator yielding
  :data:`FRAMES_PER_YIELD` frames at a time, so Ray Data moves them on as blocks (at most its
  target block size, 128 MiB; its streaming-generator backpressure, 2 blocks, pauses a reader
  whose blocks are not consumed) and a whole video is never held anywhere.
* **Raw pixels, not re-encoded frames**: JPEG/PNG re-encoding would change the pixels (or cost
  more than the inference); the actor rebuilds the array from ``height``/``width`` and
  preprocesses it exactly as the stream path does, so rows equal the local engine's.
* **Same columns on every block**: image reads get the frame columns too (``frame`` = -1), so
  the union reaches one actor pool (a pool per read asks for more CPUs than a small machine
  has, and the job would wait forever).
* **A video that does not open, or a frame that does not decode, is a row with ``error``**;
  the job goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import StreamError, StreamOptionError
from ..inputs.files import list_images
from ..inputs.video import VIDEO_EXTENSIONS, StreamSource, VideoReader, expand_stream_sources

#: frames per block a video read task yields (320×320: 5 MB; 1080p: 100 MB)
FRAMES_PER_YIELD = 16
#: the frame columns every block reaching the actors carries (``frame`` -1: an image)
FRAME_COLUMNS = ("frame", "time_s", "height", "width", "read_error")


def split_videos(entries: Sequence[str], recursive: bool) -> tuple[list[str], list[str]]:
    """``(video files, other entries)``: video paths and ``*.mp4``-style globs become video
    files, and a folder gives its video files too (its images stay with the folder entry,
    which is dropped when it holds videos only). Live sources raise
    :class:`~lcnet_ov.errors.StreamOptionError`: a job over a stream would never end."""
    videos: list[str] = []
    rest: list[str] = []
    for entry in entries:
        sources = expand_stream_sources(entry)
        live = [s for s in sources if s.kind != "file"]
        if live:
            raise StreamOptionError(
                f"{live[0].name}: live streams and cameras are not classified by the Ray job "
                "(it would never end); use the local engine (AsyncClassifier.stream, "
                "`lcnet-ov infer SOURCE`)"
            )
        if sources or _video_glob(entry):
            videos += [_absolute(s.target) for s in sources]
            if not sources:  # a pattern matching nothing: iter_inputs makes it an error row
                rest.append(entry)
            continue
        path = Path(entry).expanduser()
        if path.is_dir():
            found = _list_videos(path, recursive)
            videos += found
            if found and not list_images(path, recursive=recursive):
                continue
        rest.append(entry)
    return videos, rest


def _video_glob(entry: str) -> bool:
    import glob

    return glob.has_magic(entry) and Path(entry).suffix.lower() in VIDEO_EXTENSIONS


def _list_videos(folder: Path, recursive: bool) -> list[str]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        str(p.absolute())
        for p in candidates
        if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
    )


def _absolute(target: str | int) -> str:
    return str(Path(os.fspath(str(target))).absolute())  # read tasks run elsewhere


def read_videos(videos: Sequence[str], *, every: int, fps: float | None, num_cpus: float) -> Any:
    """A lazy dataset of the sampled frames of ``videos`` (one read task per video)."""
    import ray.data

    items = ray.data.from_items([{"video": v} for v in videos], override_num_blocks=len(videos))
    return items.map_batches(
        _read_video,
        fn_kwargs={"every": every, "fps": fps},
        batch_size=1,
        batch_format="pyarrow",
        num_cpus=num_cpus,
    )


def _frames_table(rows: list[tuple[str, int, float, bytes, int, int, str]]) -> Any:
    import pyarrow as pa

    path, frame, time_s, data, height, width, error = zip(*rows, strict=True)
    return pa.table(
        {
            "bytes": pa.array(data, pa.binary()),
            "path": pa.array(path, pa.string()),
            "frame": pa.array(frame, pa.int64()),
            "time_s": pa.array(time_s, pa.float64()),
            "height": pa.array(height, pa.int64()),
            "width": pa.array(width, pa.int64()),
            "read_error": pa.array(error, pa.string()),
        }
    )


def _read_video(batch: Any, *, every: int, fps: float | None) -> Iterator[Any]:
    """Runs in a Ray task: the sampled frames of each video in ``batch``, a few per block."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # our rows name the bad frames
    for video in batch.column("video").to_pylist():
        reader = VideoReader(StreamSource(video, "file", video), every=every, fps=fps)
        rows: list[tuple[str, int, float, bytes, int, int, str]] = []
        try:
            for f in reader.frames():
                if f.image is None:
                    err = str(f.error or StreamError(f"{video}: frame {f.index} cannot be decoded"))
                    rows.append((video, f.index, f.time_s, b"", 0, 0, err))
                else:
                    img = f.image if f.image.ndim == 3 else f.image[..., None].repeat(3, axis=2)
                    h, w = img.shape[:2]
                    rows.append((video, f.index, f.time_s, img[..., :3].tobytes(), h, w, ""))
                if len(rows) >= FRAMES_PER_YIELD:
                    yield _frames_table(rows)
                    rows = []
        except StreamError as exc:  # never opened: one row that says why
            rows.append((video, -1, float("nan"), b"", 0, 0, str(exc)))
        if rows:
            yield _frames_table(rows)


def with_frame_columns(dataset: Any) -> Any:
    """Image reads (``bytes``, ``path``) with the frame columns of a video read, ``frame`` -1."""
    return dataset.map_batches(_add_frame_columns, batch_format="pyarrow", batch_size=None)


def _add_frame_columns(table: Any) -> Any:
    import pyarrow as pa

    n = table.num_rows
    if "path" not in table.column_names:
        table = table.append_column("path", pa.array([None] * n, pa.string()))
    return (
        table.select(["bytes", "path"])
        .append_column("frame", pa.array([-1] * n, pa.int64()))
        .append_column("time_s", pa.array([float("nan")] * n, pa.float64()))
        .append_column("height", pa.array([0] * n, pa.int64()))
        .append_column("width", pa.array([0] * n, pa.int64()))
        .append_column("read_error", pa.array([""] * n, pa.string()))
    )
