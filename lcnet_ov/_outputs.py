"""Checks on where results go, made before the work that produces them.

A conversion or a calibration that runs for a minute and then fails on ``-o /proc/x.xml`` (or
on a ``-o FILE/m.xml`` whose FILE is a file) wastes the minute and, worse, reports an OpenVINO
message naming an internal staging path. These helpers turn every such case into one
:class:`~lcnet_ov.errors.OutputPathError` naming the path the user gave, up front, and they
create nothing while checking (a failed run leaves no empty folders behind).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputPathError, UsageError

#: file name used when an IR output is given as a folder
IR_FILE = "model.xml"


def ir_output(output: str | os.PathLike, option: str = "--output") -> Path:
    """The ``.xml`` an output argument names.

    ``FILE.xml`` is taken as it is; an existing folder, or a path without a suffix, gets
    ``model.xml`` inside. Anything else (``x.txt``) is a :class:`UsageError`: OpenVINO would
    write an IR under that name and the ``.bin`` next to it would be misnamed.
    """
    path = Path(output).expanduser()
    if path.suffix.lower() == ".xml":
        return path
    if path.is_dir() or not path.suffix:
        return path / IR_FILE
    raise UsageError(
        f"{option} {output}: an IR is written as NAME.xml (with NAME.bin beside it) or into a "
        f"folder; {path.suffix!r} is neither"
    )


def check_writable_dir(
    folder: str | os.PathLike,
    what: str = "output folder",
    error: type[OutputPathError] = OutputPathError,
    shown: str | os.PathLike | None = None,
) -> Path:
    """Raise ``error`` unless ``folder`` exists as a writable folder or could be created.

    Walks up to the nearest existing ancestor: a file there (``FILE/m.xml``) is an error, and
    the ancestor must take a new file (probed with a temporary file that is removed at once;
    ``os.access`` says yes to root on read-only mounts and to anything under ``/proc``).
    Nothing is created, so a run refused later leaves no folders behind. ``shown`` is the path
    the message starts with (what the user typed, e.g. the ``.xml``; default ``folder``).
    """
    folder = Path(folder).expanduser()
    shown = folder if shown is None else shown
    target = folder.absolute()
    existing = next((p for p in (target, *target.parents) if p.exists()), None)
    if existing is None:  # pragma: no cover - "/" always exists
        raise error(f"{shown}: cannot create the {what} {folder}")
    if not existing.is_dir():
        raise error(f"{shown}: cannot create the {what} {folder}: {existing} is a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".lcnet-ov-probe-", dir=existing)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = "" if existing == target else f" ({existing} takes no new files)"
        raise error(f"{shown}: cannot write the {what} {folder}: {reason}{where}") from exc
    os.close(fd)
    os.unlink(probe)
    return folder


def make_dir(folder: str | os.PathLike, what: str = "output folder") -> list[Path]:
    """``mkdir -p folder`` with a one-line :class:`OutputPathError`; returns the folders it
    created (outermost first), so a caller that fails later can remove them again."""
    folder = Path(folder).expanduser()
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{folder}: cannot create the {what}: {exc.strerror or exc}") from exc
    return list(reversed(missing))


def remove_empty_dirs(created: list[Path]) -> None:
    """Undo :func:`make_dir` for a failed run: remove the folders it made, if still empty."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            break
