"""Small process-level helpers shared by the heavy modules.

The run side imports this module for :func:`last_line`, so what only the writers need
(``tempfile``, ``shutil``, ``importlib.metadata``: ~20 ms together on the 2-core AMD EPYC,
most of it ``importlib.metadata`` pulling in ``email`` and ``socket``) is imported where used.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def captured_native_output() -> Iterator[list[str]]:
    """Silence C++ libraries (Paddle, paddle2onnx) that print to fds 1/2 directly.

    Their chatter would corrupt ``--json`` output. What they printed is handed back in the
    yielded list (filled on exit) so a failure can quote it.
    """
    import tempfile

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
    from importlib import metadata

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
    import shutil
    import tempfile

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


# ---- atomic files: the one owner of "readers never see a half-written file" -------------------


def last_line(exc: BaseException) -> str:
    """The last non-empty line of an exception's text (OpenVINO's errors end in the cause)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where /proc says it (threads may be
    creating files meanwhile); elsewhere the classic set-and-restore."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temp path beside ``target`` to write to; on a clean exit it is fsynced, given the mode
    a plain ``open()`` would have (0o666 less the umask, not mkstemp's 0o600) and renamed over
    ``target``, and the rename is made durable. On any error the temp file is removed and
    ``target`` is left as it was.
    """
    import tempfile

    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_text_atomically(target: Path, text: str, encoding: str = "utf-8") -> None:
    """``target.write_text(text)`` through :func:`atomic_path`."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)


def swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` (file or folder, if any) with ``staging`` by renames, so readers see
    the old one or the new one, never a mix; the old one is removed afterwards. On failure the
    old one is put back and the ``OSError`` raised."""
    import shutil

    old: Path | None = None
    try:
        if target.exists() or target.is_symlink():
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            os.replace(target, old)
        os.replace(staging, target)
    except OSError:
        if old is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(old, target)
        raise
    fsync_dir(target.parent)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                old.unlink()
