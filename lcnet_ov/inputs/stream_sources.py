"""What counts as a stream source, decided from the text alone (no OpenCV, no NumPy).

Split from :mod:`lcnet_ov.inputs.video` so that ``lcnet-ov infer`` can tell whether any input
is a video or a live stream without importing the video reader: a one-image ``infer`` never
loads it (issue 24, start-up under 0.5 s). :mod:`lcnet_ov.inputs.video` re-exports every name
here.

A stream source (:func:`parse_stream_source`) is a path ending in a video suffix
(:data:`VIDEO_EXTENSIONS`), a URL whose scheme FFmpeg reads live (:data:`NETWORK_SCHEMES`) or
``camera:N`` (capture device ``N``).
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "NETWORK_SCHEMES",
    "VIDEO_EXTENSIONS",
    "StreamSource",
    "expand_stream_sources",
    "parse_stream_source",
]

#: container suffixes read as video files (FFmpeg probes the content; the suffix only routes)
VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .avi .mkv .webm .mpg .mpeg .m2v .ts .mts .m2ts .wmv .asf .flv .3gp "
    ".ogv .mjpeg .mjpg .y4m .vob".split()
)
#: URL schemes FFmpeg reads as (live) network streams
NETWORK_SCHEMES = frozenset("rtsp rtsps rtmp rtmps http https udp tcp srt rtp".split())
_CAMERA = re.compile(r"camera:(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class StreamSource:
    """A recognised stream source: ``kind`` is ``file``, ``network`` or ``camera``."""

    text: str  # as given
    kind: str
    target: str | int  # what VideoCapture opens: a path, a URL or a device index

    @property
    def name(self) -> str:
        """The source as messages and records show it: URL passwords masked."""
        if self.kind != "network":
            return self.text
        parts = urlsplit(self.text)
        if parts.password is None:
            return self.text
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()

    @property
    def live_default(self) -> bool:
        """Network and camera sources are live unless told otherwise; files are not."""
        return self.kind != "file"


def parse_stream_source(entry: object) -> StreamSource | None:
    """The :class:`StreamSource` ``entry`` names, or ``None`` for anything else (images,
    folders, arrays). A video path that does not exist is still a stream source: opening it
    then fails with an error that names it."""
    if not isinstance(entry, (str, os.PathLike)):
        return None
    text = os.fspath(entry)
    if not isinstance(text, str):
        return None
    if m := _CAMERA.fullmatch(text.strip()):
        return StreamSource(text, "camera", int(m.group(1)))
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in NETWORK_SCHEMES:
        return StreamSource(text, "network", text)
    if Path(text).suffix.lower() in VIDEO_EXTENSIONS and not glob.has_magic(text):
        return StreamSource(text, "file", str(Path(text).expanduser()))
    return None


def expand_stream_sources(entry: str) -> list[StreamSource]:
    """``entry`` as stream sources: itself, or the video files a glob pattern matches
    (``recordings/*.mp4``), sorted; an empty list when it is neither."""
    if source := parse_stream_source(entry):
        return [source]
    if glob.has_magic(entry) and Path(entry).suffix.lower() in VIDEO_EXTENSIONS:
        found = sorted(glob.glob(os.path.expanduser(entry), recursive=True))
        return [StreamSource(p, "file", p) for p in found if Path(p).is_file()]
    return []
