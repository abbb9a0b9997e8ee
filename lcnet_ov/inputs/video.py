"""Video files and live streams as frame sources, read through OpenCV's FFmpeg backend.

What counts as a stream source (:func:`parse_stream_source`, defined in the light
:mod:`~lcnet_ov.inputs.stream_sources` and re-exported here): a path ending in a video suffix
(:data:`VIDEO_EXTENSIONS`), a URL whose scheme FFmpeg reads live (``rtsp://``, ``rtmp://``,
``http(s)://`` MJPEG or HLS, ``udp://``, ``tcp://``, ``srt://``, ``rtp://``) and ``camera:N``
(capture device ``N``). ``opencv-python`` already carries FFmpeg, so no new native dependency.

Why it is built this way:

* **Frame indices count every frame read**, skipped (``every``/``fps``) and undecodable ones
  included, so ``frame`` means the same position in the source whatever the sampling.
  Skipped frames are only ``grab()``\\ ed: FFmpeg still decodes them (it must, for the next
  one), but the colour conversion and the copy into Python are saved.
* **Times come from the stream** (``CAP_PROP_POS_MSEC``, the frame's presentation time, measured
  to stay right across an undecodable frame), relative to the first frame; where a stream has
  none, ``frame / fps``; where it has no rate either, the wall clock. They never go backwards,
  across reconnects included.
* **An undecodable frame is a failed frame, not the end.** FFmpeg's ``grab()`` returns False for
  a frame whose packet holds no decodable picture and succeeds again on the next one (measured
  on an MJPEG AVI and an HTTP MJPEG stream with a garbage frame): a failed read followed by a
  good one within :data:`MAX_BAD_FRAMES` is reported as failed frames; a run of failures longer
  than that, or a read that blocks for the whole read timeout, is the end (or a dropped
  connection).
* **Live sources are read by a thread** (:mod:`~lcnet_ov.inputs.frame_buffer`): the
  network or the camera is drained at its own rate, only the newest ``capacity`` frames are
  kept and the ones pushed out are counted, so a slow consumer sees recent frames, never a
  growing backlog. Files read ahead into the same buffer without dropping.
* **Reconnect with backoff** (network and camera sources): ``reconnect=N`` tries up to N times
  per outage, waiting 0.5, 1, 2, 4... s (capped at 8), one message per attempt; a source that
  never opens raises :class:`~lcnet_ov.errors.StreamOpenError` naming it (passwords masked).

No OpenVINO here: this is the input side. :mod:`lcnet_ov.runtime.stream` classifies the frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StreamError, StreamOpenError, StreamOptionError
from .stream_sources import (  # re-exported: the video side's names, as before the split
    NETWORK_SCHEMES,  # noqa: F401
    VIDEO_EXTENSIONS,  # noqa: F401
    StreamSource,
    expand_stream_sources,  # noqa: F401
    parse_stream_source,
)

LOGGER = logging.getLogger(__name__)

#: consecutive unreadable frames still taken for damage, not for the end of the stream
MAX_BAD_FRAMES = 8
BACKOFF_START_S, BACKOFF_MAX_S = 0.5, 8.0


@dataclass(frozen=True)
class Frame:
    """One sampled frame: ``image`` is BGR uint8, or ``None`` with ``error`` set."""

    index: int
    time_s: float
    image: np.ndarray | None
    error: StreamError | None = None


def check_sampling(every: int, fps: float | None) -> None:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise StreamOptionError(f"every must be an integer >= 1, got {every!r}")
    if fps is not None and not (isinstance(fps, (int, float)) and fps > 0):
        raise StreamOptionError(f"fps must be a number > 0, got {fps!r}")


class VideoReader:
    """Open ``source`` and iterate its sampled frames (:meth:`frames`), reconnecting if asked.

    ``every``: frames 0, N, 2N...; ``fps``: at most F sampled frames per second of stream time
    (both may be given). ``pace``: read no faster than the source's own frame rate (a file
    played as if it were a camera; live sources pace themselves). ``timeout_s`` bounds opening
    and each read of network sources. Counters (``frames_read``, ``reconnects``) may be read
    from another thread while it runs.
    """

    def __init__(
        self,
        source: StreamSource | str,
        *,
        every: int = 1,
        fps: float | None = None,
        reconnect: int = 0,
        timeout_s: float = 10.0,
        pace: bool = False,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        check_sampling(every, fps)
        if isinstance(reconnect, bool) or not isinstance(reconnect, int) or reconnect < 0:
            raise StreamOptionError(f"reconnect must be an integer >= 0, got {reconnect!r}")
        if not timeout_s > 0:
            raise StreamOptionError(f"timeout_s must be > 0, got {timeout_s!r}")
        parsed = source if isinstance(source, StreamSource) else parse_stream_source(source)
        if parsed is None:
            raise StreamOptionError(
                f"{source}: not a stream source (a video file such as .mp4 .avi .mkv .mov, an "
                "rtsp:// rtmp:// http(s):// udp:// URL, or camera:N)"
            )
        self.source = parsed
        self.every, self.fps, self.reconnect = every, fps, reconnect
        self.timeout_s, self.pace = timeout_s, pace
        self._say = on_message or LOGGER.warning
        self._stop = threading.Event()
        self.frames_read = 0  # every frame read so far, skipped and failed ones included
        self.reconnects = 0
        self.native_fps: float | None = None

    def stop(self) -> None:
        """Make :meth:`frames` return at its next frame (a blocked read ends by its timeout)."""
        self._stop.set()

    # ---- opening -----------------------------------------------------------------------------

    def _open_once(self) -> Any:
        import cv2

        src = self.source
        if src.kind == "camera":
            cap = cv2.VideoCapture(int(src.target))
        else:
            ms = int(self.timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            cap = cv2.VideoCapture(str(src.target), cv2.CAP_FFMPEG, params)
        if cap.isOpened():
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.native_fps = fps if 0 < fps < 1000 else None
            return cap
        cap.release()
        if src.kind == "camera":
            why = f"no capture device {src.target} (absent, busy or not permitted)"
        elif src.kind == "file" and not Path(str(src.target)).is_file():
            why = "no such file"
        elif src.kind == "file":
            why = "OpenCV's FFmpeg cannot open it (not a video, or a codec this build lacks)"
        else:
            why = (
                "cannot open the stream (unreachable, refused, or no video within "
                f"{self.timeout_s:g} s)"
            )
        raise StreamOpenError(f"{src.name}: {why}", src.name)

    def _open(self, first: bool, after_frame: int) -> Any | None:
        """A capture, retrying with backoff where allowed; ``None`` when given up or stopped."""
        attempts = self.reconnect if self.source.kind != "file" else 0
        error: StreamOpenError | None = None
        if first:
            try:
                return self._open_once()
            except StreamOpenError as exc:
                error = exc
        for attempt in range(1, attempts + 1):
            delay = min(BACKOFF_START_S * 2 ** (attempt - 1), BACKOFF_MAX_S)
            what = "not open" if first else f"lost after frame {after_frame}"
            self._say(
                f"{self.source.name}: stream {what}; reconnecting in {delay:g} s "
                f"(attempt {attempt}/{attempts})"
            )
            if self._stop.wait(delay):
                return None
            try:
                cap = self._open_once()
            except StreamOpenError as exc:
                error = exc
                continue
            self.reconnects += not first
            self._say(f"{self.source.name}: reconnected (attempt {attempt}/{attempts})")
            return cap
        if first and error is not None:
            if attempts:
                raise StreamOpenError(
                    f"{error} (after {attempts} reconnect attempts)", error.source
                )
            raise error
        if attempts:
            self._say(f"{self.source.name}: giving up after {attempts} reconnect attempts")
        return None

    # ---- reading -----------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Sampled frames in order, failed ones included (``Frame.error``), until the source
        ends, gives up reconnecting, or :meth:`stop` is called. Raises
        :class:`~lcnet_ov.errors.StreamOpenError` when the source never opens."""
        import cv2

        cap = self._open(first=True, after_frame=-1)
        offset = 0.0  # stream time at which the current connection started
        last_t: float | None = None
        next_due = 0.0  # fps sampling: earliest stream time of the next sampled frame
        try:
            while cap is not None and not self._stop.is_set():
                base: float | None = None  # this connection's first timestamp
                opened, bad = time.monotonic(), 0
                since_open = 0  # frames read on this connection
                while not self._stop.is_set():
                    if self.pace and self.native_fps:
                        ahead = opened + since_open / self.native_fps - time.monotonic()
                        if ahead > 0 and self._stop.wait(ahead):
                            break
                    started = time.monotonic()
                    ok = cap.grab()
                    if not ok:
                        slow = time.monotonic() - started >= self.timeout_s * 0.5
                        bad += 1
                        if bad > MAX_BAD_FRAMES or slow or self.source.kind == "camera":
                            break
                        continue
                    # frames that failed before this good one were damaged, not the end
                    for _ in range(bad):
                        last_t = self._step(last_t, None)
                        index = self._count()
                        if index % self.every == 0:
                            err = StreamError(
                                f"{self.source.name}: frame {index} cannot be decoded",
                                self.source.name,
                            )
                            yield Frame(index, last_t, None, err)
                    since_open += bad + 1
                    bad = 0
                    pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                    if base is None:
                        base = pos
                    t = offset + (pos - base) if pos > base or since_open == 1 else None
                    if t is None and self.native_fps:
                        t = offset + (since_open - 1) / self.native_fps
                    if t is None:
                        t = offset + time.monotonic() - opened
                    last_t = t = self._step(last_t, t)
                    index = self._count()
                    if index % self.every or not self._due(t, next_due):
                        continue
                    if self.fps:
                        step = 1.0 / self.fps
                        next_due = next_due + step if next_due + step > t else t + step
                    ok, image = cap.retrieve()
                    if ok and image is not None:
                        yield Frame(index, t, image)
                    else:
                        err = StreamError(
                            f"{self.source.name}: frame {index} cannot be decoded",
                            self.source.name,
                        )
                        yield Frame(index, t, None, err)
                cap.release()
                cap = None
                if self._stop.is_set() or self.source.kind == "file":
                    break
                offset = (last_t or 0.0) + 1.0 / (self.native_fps or 25.0)
                cap = self._open(first=False, after_frame=self.frames_read - 1)
        finally:
            if cap is not None:
                cap.release()

    def _count(self) -> int:
        index = self.frames_read
        self.frames_read += 1
        return index

    def _step(self, last: float | None, t: float | None) -> float:
        """Stream time never goes backwards; a frame without one is one frame period later."""
        period = 1.0 / (self.native_fps or 25.0)
        if t is None:
            return 0.0 if last is None else last + period
        return t if last is None or t > last else last + 1e-3

    def _due(self, t: float, next_due: float) -> bool:
        return self.fps is None or t + 1e-6 >= next_due
