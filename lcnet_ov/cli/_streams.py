"""``lcnet-ov infer`` on video files and live streams (``infer`` hands them over here).

Stream sources (video files, rtsp:// rtmp:// http(s):// udp:// URLs, ``camera:N``) run through
:meth:`lcnet_ov.AsyncClassifier.stream`, so decoding, preprocessing and inference overlap;
images, folders and globs given beside them are classified by the same classifier, in the
order given. Every classified frame is printed as soon as it is known (``click.echo``
flushes), so ``--json`` is a live feed of JSON lines; progress, reconnect messages, failures
and a per-stream summary go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from ..inputs.stream_sources import expand_stream_sources  # light: no video reader

#: the stream options as ``infer`` receives them (``None``/``False``: not given) → their flags
_FLAGS = {
    "every": "--every",
    "max_fps": "--fps",
    "live": "--live/--no-live",
    "reconnect": "--reconnect",
    "smooth": "--smooth",
    "events": "--events",
}


def stream_options(command: Callable) -> Callable:
    """The stream options of ``infer`` (applied as one decorator)."""
    options = [
        click.option(
            "--every",
            type=click.IntRange(min=1),
            help="[streams] Classify frames 0, N, 2N... (every frame counts in the index).",
        ),
        click.option(
            "--fps",
            "max_fps",
            type=click.FloatRange(min=0, min_open=True),
            help="[streams] At most F classified frames per second of stream time.",
        ),
        click.option(
            "--live/--no-live",
            default=None,
            help="[streams] Keep only the newest frames and drop (count) the rest when "
            "inference falls behind. Default: on for network and camera sources, off for "
            "files (--live plays a file at its own frame rate).",
        ),
        click.option(
            "--reconnect",
            type=click.IntRange(min=0),
            metavar="N",
            help="[streams] Reopen a lost network/camera source up to N times, backing off "
            "0.5, 1, 2... s. Default 0.",
        ),
        click.option(
            "--smooth",
            type=click.IntRange(min=1),
            metavar="K",
            help="[streams] Report the mean probabilities over the last K classified frames.",
        ),
        click.option(
            "--events",
            is_flag=True,
            help="[streams] Print only segments of the same (smoothed) top label: start, end, "
            "mean score.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: the stream options the Ray job takes (it samples video files as the local engine does)
_RAY_OPTIONS = ("every", "max_fps")


def wants_streams(inputs: tuple[str, ...], opts: dict[str, Any], engine: str) -> bool:
    """True when some input is a stream source; stream options without one, options the
    engine lacks, or live sources with ``--engine ray`` are usage errors, raised before any
    work. (``--engine ray`` reads video files itself: False for it.)"""
    given = {
        key: flag
        for key, flag in _FLAGS.items()
        if (opts.get(key) if key == "events" else opts.get(key) is not None)
    }
    sources = [s for entry in inputs for s in expand_stream_sources(entry)]
    if engine != "local":
        if lacking := [flag for key, flag in given.items() if key not in _RAY_OPTIONS]:
            raise click.UsageError(f"{', '.join(lacking)}: not available with --engine {engine}")
        if live := [s for s in sources if s.kind != "file"]:
            raise click.UsageError(
                f"{live[0].name}: live streams and cameras are not classified by --engine "
                f"{engine} (the job would never end); run them with the local engine "
                "(docs/streams.md)"
            )
    if given and not sources and not (engine != "local" and any(map(_has_videos, inputs))):
        raise click.UsageError(
            f"{', '.join(given.values())}: only for video files and streams (.mp4 .avi ..., "
            "rtsp:// http(s):// udp:// URLs, camera:N); none of the inputs is one"
        )
    return bool(sources) and engine == "local"


def _has_videos(entry: str) -> bool:
    """A folder holding video files (the Ray job classifies them, so --every applies)."""
    from pathlib import Path

    from ..inputs.stream_sources import VIDEO_EXTENSIONS

    path = Path(entry).expanduser()
    return path.is_dir() and any(
        p.suffix.lower() in VIDEO_EXTENSIONS for p in path.rglob("*") if p.is_file()
    )


def infer_streams(
    inputs: tuple[str, ...], opts: dict[str, Any], *, as_json: bool, recursive: bool, **model: Any
) -> None:
    """Classify ``inputs`` (stream sources, images, folders, globs) in order; see module doc."""
    from ..export.resolve import resolve_ir
    from ..results import FailedPrediction
    from ..runtime.async_classifier import AsyncClassifier
    from ..runtime.stream import stream_events

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines: ours name frames
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # as infer does for images
    xml = resolve_ir(
        model.pop("model"),
        model.pop("precision"),
        on_step=lambda msg: click.echo(f"• {msg}", err=True),
    )
    stream_args = {
        "every": opts.get("every") or 1,
        "fps": opts.get("max_fps"),
        "live": opts.get("live"),
        "smooth": opts.get("smooth") or 1,
        "reconnect": opts.get("reconnect") or 0,
        "on_message": lambda msg: click.echo(msg, err=True),
    }
    batch_size = model.pop("batch_size")
    failed = total = 0

    def show(obj: Any) -> None:
        click.echo(json.dumps(obj.to_dict(), ensure_ascii=False) if as_json else obj.format())

    def reported(records: Iterator[Any]) -> Iterator[Any]:
        nonlocal failed, total
        for record in records:
            total += 1
            if not record.ok:
                failed += 1
                click.echo(f"error: {record.reason}", err=True)
            yield record

    with AsyncClassifier(xml, max_batch=batch_size, **model) as clf:
        try:
            for entry in inputs:
                sources = expand_stream_sources(entry)
                if not sources:
                    for result in clf.map([entry], recursive=recursive):
                        total += 1
                        if isinstance(result, FailedPrediction):
                            failed += 1
                            click.echo(f"error: {result.reason}", err=True)
                        else:
                            show(result)
                    continue
                for source in sources:
                    stream = clf.stream(source, **stream_args)
                    try:
                        with stream:
                            records = reported(stream)
                            if opts.get("events"):
                                for event in stream_events(records):
                                    show(event)
                            else:
                                for record in records:
                                    if record.ok:
                                        show(record)
                    except Exception as exc:  # a source that never opened: name it, go on
                        from ..errors import StreamError

                        if not isinstance(exc, StreamError):
                            raise
                        total += 1
                        failed += 1
                        click.echo(f"error: {exc}", err=True)
                        continue
                    click.echo(_summary(stream), err=True)
        except BrokenPipeError:
            # `lcnet-ov infer v.mp4 | head`: the reader left; stop quietly, as coreutils do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
    if failed:
        raise click.ClickException(f"{failed} of {total} inputs/frames could not be classified")


def _summary(stream: Any) -> str:
    s = stream.stats
    line = f"{s.source}: {s.frames_read} frames read, {s.classified} classified, {s.failed} failed"
    if stream.live:
        line += f", {s.dropped} dropped (inference behind), max lag {s.max_lag_frames} frames"
    if s.reconnects:
        line += f", {s.reconnects} reconnects"
    return line
