"""Small process-level helpers shared by the heavy modules."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any


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


class WrittenIR:
    """Mixin for results that wrote an IR: the ``.xml`` path a dataclass field, and its weights."""

    xml: Path

    @property
    def bin(self) -> Path:
        return self.xml.with_suffix(".bin")

    def files(self) -> dict[str, str]:
        """``{"xml": ..., "bin": ...}``, the first entries of every result's ``to_dict``."""
        return {"xml": str(self.xml), "bin": str(self.bin)}


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the given distributions; missing ones are left out."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def save_ir_atomically(
    model: Any,
    out_xml: Path,
    *,
    compress_to_fp16: bool,
    error: type[Exception],
    check: Callable[[Path], None] | None = None,
) -> None:
    """Save ``model`` as ``out_xml`` so that readers never see a half-written or unchecked IR.

    The IR is staged in a hidden folder beside the target, ``check`` (verification) runs on the
    staged copy, then ``.bin`` is renamed before ``.xml``: a reader that finds the ``.xml``
    always finds matching weights. Any failure leaves the previous IR (if any) untouched and
    nothing behind, not even the folders it created; domain errors pass through, others
    become ``error``.
    """
    import openvino as ov

    from ._outputs import make_dir, remove_empty_dirs
    from .errors import LcnetOVError

    created = make_dir(out_xml.parent)
    staging: Path | None = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_xml.parent))
        staged = staging / out_xml.name
        ov.save_model(model, str(staged), compress_to_fp16=compress_to_fp16)
        if check is not None:
            check(staged)
        os.replace(staged.with_suffix(".bin"), out_xml.with_suffix(".bin"))
        os.replace(staged, out_xml)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
            staging = None
        remove_empty_dirs(created)  # a failed run leaves no folders behind either
        if isinstance(exc, LcnetOVError) or not isinstance(exc, Exception):
            raise
        raise error(f"could not write {out_xml}: {exc}") from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
