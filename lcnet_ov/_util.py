"""Small process-level helpers shared by the heavy modules."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata


@contextlib.contextmanager
def captured_native_output() -> Iterator[list[str]]:
    """Silence C++ libraries (Paddle, paddle2onnx) that print to fds 1/2 directly.

    Their chatter would corrupt ``--json`` output. What they printed is handed back in the
    yielded list (filled on exit) so a failure can quote it.
    """
    log: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    py_sink = io.StringIO()  # Python-level prints, when sys.stdout is not fd 1 (pytest, IDEs)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(py_sink), contextlib.redirect_stderr(py_sink):
                yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            log.append(py_sink.getvalue() + sink.read().decode("utf-8", "replace"))


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the given distributions; missing ones are left out."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
