"""Real local streams for tests and benchmarks: a page turning through the four orientations
(:func:`turning_page`), written as a video file (:func:`write_video`) or served as an IP camera
would, HTTP MJPEG on 127.0.0.1 (:class:`MjpegServer`, ``multipart/x-mixed-replace``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

from . import ORIENTATIONS, page

SIDE = 320  # square, so every quarter turn keeps the frame size a video needs


def turning_page(
    frames: int, per_turn: int, *, seed: int = 7, side: int = SIDE
) -> list[np.ndarray]:
    """``frames`` BGR frames of one rendered page, turned a quarter clockwise every
    ``per_turn`` frames (truth of frame i: ``ORIENTATIONS[(i // per_turn) % 4]``)."""
    turns = [_square(page(seed, o), side) for o in range(4)]
    return [turns[(i // per_turn) % 4] for i in range(frames)]


def truth(index: int, per_turn: int) -> str:
    return ORIENTATIONS[(index // per_turn) % 4]


def _square(img: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(img.shape[:2])
    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((side, side, 3), 245, np.uint8)
    h, w = img.shape[:2]
    y, x = (side - h) // 2, (side - w) // 2
    canvas[y : y + h, x : x + w] = img
    return canvas


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float, fourcc: str = "MJPG") -> bool:
    """Write ``frames``; ``False`` when this OpenCV build has no encoder for ``fourcc``."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    if not writer.isOpened():
        return False
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path.is_file() and path.stat().st_size > 0


def corrupt_avi_frame(path: Path, index: int) -> None:
    """Overwrite frame ``index`` of an MJPG AVI with bytes that hold no JPEG (size kept)."""
    data = bytearray(path.read_bytes())
    movi = data.index(b"movi")
    pos, seen = movi + 4, 0
    while True:
        pos = data.index(b"00dc", pos)
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if seen == index:
            data[pos + 8 : pos + 8 + size] = b"\x55" * size
            path.write_bytes(bytes(data))
            return
        seen += 1
        pos += 8 + size + (size & 1)


class MjpegServer:
    """An IP camera on 127.0.0.1: each GET gets ``multipart/x-mixed-replace`` JPEG parts at
    ``fps`` (paced by the wall clock, as a camera is), then the connection closes.

    ``drop_after``: the first connection dies after that many frames and later ones resume
    from there (a source that drops mid-stream). ``garbage``: frame indices sent as bytes that
    are no JPEG. ``sent`` counts parts written; ``finished_at`` is when the last one went out.
    """

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        fps: float,
        *,
        drop_after: int | None = None,
        garbage: Sequence[int] = (),
        quality: int = 90,
    ) -> None:
        self.parts = [
            cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
            for f in frames
        ]
        for i in garbage:
            self.parts[i] = b"\x55" * 2000
        self.fps, self.drop_after = fps, drop_after
        self.sent = 0
        self.connections = 0
        self.finished_at: float | None = None
        self._resume = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.mjpg"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.connections += 1
            first, start = self.connections == 1, self._resume
        stop = len(self.parts)
        if first and self.drop_after is not None:
            stop = min(stop, self.drop_after)
        handler.send_response(200)
        handler.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        t0 = time.monotonic()
        try:
            for n, i in enumerate(range(start, stop)):
                delay = t0 + n / self.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                part = self.parts[i]
                handler.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(part)
                    + part
                    + b"\r\n"
                )
                handler.wfile.flush()
                with self._lock:
                    self.sent += 1
                    self._resume = i + 1
        except (BrokenPipeError, ConnectionResetError):
            return
        if stop == len(self.parts):
            self.finished_at = time.monotonic()
        handler.close_connection = True

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
