"""Hand-over between a stream reader thread and its consumer: :class:`FrameBuffer`,
:class:`BackgroundReader`.

Live sources (network, camera) must be drained at their own rate, or the socket backs up and
the consumer sees ever older frames; so a thread reads them and keeps only the newest
``capacity`` frames, counting the ones pushed out (``drop_oldest``). Files are read ahead
into the same buffer without dropping: the reader waits for room instead. Input side, no
OpenVINO.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections import deque
from typing import Any

from ..errors import StreamOptionError
from .video import Frame, VideoReader

_END = object()

#: readers whose thread may still run; stopped at interpreter exit (see _stop_readers)
_LIVE: weakref.WeakSet[BackgroundReader] = weakref.WeakSet()
#: how long exit waits for one reader (a blocked network read ends by its own timeout)
EXIT_JOIN_S = 2.0


@atexit.register
def _stop_readers() -> None:
    """Stop every reader a program left open before the interpreter finalizes.

    A reader thread is a daemon, so an unclosed stream never keeps a program alive; but a
    daemon still inside OpenCV's read at finalization is killed as it retakes the GIL, and
    with a C++ runtime that treats that forced unwind as fatal (Ray's terminate handler, once
    Ray is imported) the whole process aborts with exit code 134 after its work is done.
    """
    for reader in list(_LIVE):
        with contextlib.suppress(Exception):
            reader.close(timeout=EXIT_JOIN_S)


class FrameBuffer:
    """A bounded hand-over between a reader thread and a consumer.

    ``drop_oldest`` (live sources): a full buffer pushes its oldest frame out and counts it in
    :attr:`dropped`; otherwise (files) the reader waits for room. :meth:`get` also returns
    ``None`` when :meth:`wake` is called, so a consumer can wait for "a frame or a result".
    """

    def __init__(self, capacity: int, *, drop_oldest: bool) -> None:
        if capacity < 1:
            raise StreamOptionError(f"buffer must be >= 1 frame, got {capacity}")
        self.capacity, self.drop_oldest = capacity, drop_oldest
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self._woken = False
        self._closed = False
        self.dropped = 0

    def put(self, frame: Frame) -> bool:
        """Hand over one frame; ``False`` once the consumer closed the buffer."""
        with self._cond:
            while not self.drop_oldest and len(self._items) >= self.capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(frame)
            self._cond.notify_all()
            return True

    def finish(self, error: BaseException | None = None) -> None:
        """The reader is done (``error``: why it could not go on); queued frames stay."""
        with self._cond:
            self._items.append(error if error is not None else _END)
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def get(self, block: bool = True, timeout: float | None = None) -> Frame | None:
        """The oldest frame; ``None`` when nothing came (not blocking, woken, timed out).

        Raises :class:`StopIteration` at the end (or once closed) and the reader's error if it
        failed."""
        with self._cond:
            if block and not self._items and not self._woken and not self._closed:
                self._cond.wait_for(lambda: self._items or self._woken or self._closed, timeout)
            if self._closed:
                raise StopIteration
            self._woken = False
            if not self._items:
                return None
            item = self._items[0]
            if item is _END or isinstance(item, BaseException):
                if isinstance(item, BaseException):
                    raise item
                raise StopIteration
            self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


class BackgroundReader:
    """Runs a :class:`VideoReader` on its own thread into a :class:`FrameBuffer`."""

    def __init__(self, reader: VideoReader, *, capacity: int, drop_oldest: bool) -> None:
        self.reader = reader
        self.buffer = FrameBuffer(capacity, drop_oldest=drop_oldest)
        self._thread = threading.Thread(
            target=self._run, name=f"lcnet-ov-reader {reader.source.name}", daemon=True
        )

    def start(self) -> None:
        _LIVE.add(self)
        self._thread.start()

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            with contextlib.closing(self.reader.frames()) as frames:
                for frame in frames:
                    if not self.buffer.put(frame):
                        break
        except BaseException as exc:  # handed to the consumer, which raises it
            error = exc
        self.buffer.finish(error)

    @property
    def dropped(self) -> int:
        return self.buffer.dropped

    def close(self, timeout: float | None = None) -> bool:
        """Stop reading and wait for the thread (a blocked network read ends by its timeout)."""
        self.reader.stop()
        self.buffer.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()
