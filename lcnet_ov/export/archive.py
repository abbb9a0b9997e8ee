"""Official inference tarballs at rest: URLs, checksums records, and safe extraction.

Every archive is untrusted (a third-party bucket, a mirror, a file carried in by hand): its
SHA-256 is recorded on first download and verified afterwards, and extraction accepts only
the regular files the model's source ships (``ModelSpec.archive_files``: PaddleX 3's
``inference.json`` + ``.pdiparams`` + ``.yml``, PULC's ``inference.pdmodel`` + ``.pdiparams``
+ ``.pdiparams.info``), under the expected top folder, into a staging folder swapped in
atomically; a model missing a file its source always ships (a PaddleX model without its
``inference.yml``, whose pre- and post-processing live there) is refused as incomplete.
:mod:`.download` fetches; this module decides whether what was fetched may be used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from .. import zoo
from .._util import swap_in, write_text_atomically
from ..errors import DownloadError, UnsafeArchiveError
from ..paths import archive_path

#: every member file any source ships; one spec accepts only its own ``archive_files``
EXPECTED_FILES = frozenset(zoo.PADDLECLAS_FILES + zoo.PADDLEX_FILES + zoo.PULC_FILES)
_PROGRAM_FILES = ("inference.pdmodel", "inference.json")
_PARAMS_FILE = "inference.pdiparams"
ENV_MIRROR = "LCNET_OV_MIRROR"
_CHUNK = 1 << 16


def model_url(spec: zoo.ModelSpec) -> str:
    """The URL to fetch ``spec``'s archive from, through ``LCNET_OV_MIRROR`` when it is set."""
    mirror = os.environ.get(ENV_MIRROR, "").strip()
    if mirror:
        return f"{mirror.rstrip('/')}/{spec.archive_name}"
    return spec.infer_url


def _manual_hint(spec: zoo.ModelSpec) -> str:
    """The sentence every failure ends with: how to get the file onto this machine by hand."""
    url = model_url(spec)
    return (
        f"To install it by hand, download {url} elsewhere and run "
        f"`lcnet-ov models download {spec.name} --from FILE.tar`, "
        f"or put it at {archive_path(spec)}"
    )


def _fail(
    spec: zoo.ModelSpec, what: str, cls: type[DownloadError] = DownloadError
) -> DownloadError:
    """An error that ends with the URL, the cache path and the by-hand route."""
    return cls(f"{spec.name}: {what}. {_manual_hint(spec)}.")


def _mkdir(path: Path, spec: zoo.ModelSpec) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(spec, f"cannot create cache folder {path} ({exc.strerror})") from exc


# ----------------------------------------------------------------------------- checksums


def _record_path(tar: Path) -> Path:
    return tar.with_name(tar.name + ".sha256")


def _write_record(spec: zoo.ModelSpec, tar: Path, digest: str) -> None:
    """Remember the archive's SHA-256 (``sha256sum`` format) to detect later corruption."""
    record = _record_path(tar)
    try:
        write_text_atomically(record, f"{digest}  {tar.name}\n", encoding="ascii")
    except OSError as exc:
        raise _fail(spec, f"cannot write {record} ({exc.strerror})") from exc


def _read_record(tar: Path) -> str | None:
    try:
        text = _record_path(tar).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text.split()[0].lower() if text else None


def _sha256_file(spec: zoo.ModelSpec, path: Path) -> str:
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                hasher.update(chunk)
    except OSError as exc:
        raise _fail(spec, f"cannot read {path} ({exc.strerror})") from exc
    return hasher.hexdigest()


def _verify_cached(spec: zoo.ModelSpec, tar: Path) -> None:
    """Check a tarball already in the cache against the known or recorded SHA-256."""
    digest = _sha256_file(spec, tar)
    expected = spec.sha256.lower() if spec.sha256 else _read_record(tar)
    if expected is None:  # placed by hand into the cache: trust it from now on
        _write_record(spec, tar, digest)
        return
    if digest != expected:
        raise DownloadError(
            f"{spec.name}: the cached archive {tar} is corrupt: SHA-256 {digest}, expected "
            f"{expected}. Delete {tar} (and {_record_path(tar).name} beside it) or re-run with "
            f"--force (force=True) to download it again from {model_url(spec)}. "
            f"{_manual_hint(spec)}."
        )


def _check_local_archive(spec: zoo.ModelSpec, source: Path) -> None:
    """A hand-carried tarball: it must exist and match the known SHA-256, if there is one."""
    if not source.is_file():
        raise _fail(spec, f"{source} is not a file")
    if spec.sha256:
        digest = _sha256_file(spec, source)
        if digest != spec.sha256.lower():
            raise _fail(spec, f"{source} has SHA-256 {digest}, expected {spec.sha256}")


def _remove_archive(tar: Path) -> None:
    for path in (tar, _record_path(tar)):
        with contextlib.suppress(OSError):
            path.unlink()


# ----------------------------------------------------------------------------- extraction


def _is_model_folder(folder: Path, spec: zoo.ModelSpec | None = None) -> bool:
    """A usable inference model: a program file and a weights file, both non-empty, plus
    every file ``spec``'s source always ships (PaddleX: ``inference.yml``)."""
    if not folder.is_dir():
        return False
    has_program = any(_nonempty(folder / name) for name in _PROGRAM_FILES)
    required = spec.required_files if spec is not None else (_PARAMS_FILE,)
    return has_program and all(_nonempty(folder / name) for name in required)


def _needed(spec: zoo.ModelSpec) -> str:
    """The files a complete model of ``spec``'s source holds, for error messages."""
    programs = [p for p in _PROGRAM_FILES if p in spec.archive_files]
    rest = [f for f in spec.required_files if f not in programs]
    return " and ".join([" or ".join(programs), *rest])


def _nonempty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _check_members(
    spec: zoo.ModelSpec, members: list[tarfile.TarInfo]
) -> list[tuple[tarfile.TarInfo, str]]:
    """Validate every entry before writing anything; return (regular file, its file name)."""
    files: list[tuple[tarfile.TarInfo, str]] = []
    seen: set[str] = set()
    for member in members:
        name = member.name

        def refuse(why: str, name: str = name) -> UnsafeArchiveError:
            return _fail(spec, f"unsafe archive member {name!r}: {why}", UnsafeArchiveError)

        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            raise refuse("absolute path")
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise refuse("'..' path component")
        if member.issym() or member.islnk():
            raise refuse(f"link to {member.linkname!r}")
        if not (member.isfile() or member.isdir()):
            raise refuse("device, FIFO or other special file")
        if not parts or parts[0] != spec.archive_dir:
            raise refuse(f"outside the expected top folder {spec.archive_dir}/")
        if member.isdir():
            if len(parts) != 1:
                raise refuse("unexpected sub-folder")
            continue
        if len(parts) != 2 or parts[1] not in spec.archive_files:
            raise refuse(
                f"not one of the files a {spec.source} model ships "
                f"({', '.join(sorted(spec.archive_files))})"
            )
        if parts[1] in seen:
            raise refuse("appears twice")
        seen.add(parts[1])
        files.append((member, parts[1]))
    return files


def _extract(spec: zoo.ModelSpec, tar_path: Path, target: Path) -> None:
    """Unpack into a temp folder beside ``target`` and swap it in; leave nothing on failure."""
    parent = target.parent
    parent_existed = parent.exists()
    _mkdir(parent, spec)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extract", dir=parent))
    try:
        try:
            with tarfile.open(tar_path, "r:*") as tf:
                files = _check_members(spec, tf.getmembers())
                for member, filename in files:
                    _copy_member(tf, member, staging / filename)
        except tarfile.TarError as exc:
            raise _fail(spec, f"{tar_path} is not a readable tar archive ({exc})") from exc
        except (OSError, EOFError) as exc:
            raise _fail(spec, f"cannot extract {tar_path} ({exc})") from exc
        if not _is_model_folder(staging, spec):
            found = sorted(p.name for p in staging.iterdir())
            raise _fail(
                spec,
                f"{tar_path} holds no complete inference model (found: {found or 'nothing'}; "
                f"a {spec.source} model needs {_needed(spec)})",
            )
        staging.chmod(0o755)  # mkdtemp makes it private; the cache is meant to be shared
        _swap_in(spec, staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if not parent_existed:
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise


def _copy_member(tf: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
    src = tf.extractfile(member)
    if src is None:  # cannot happen for a checked regular file; be explicit anyway
        raise OSError(f"cannot read {member.name}")
    with src, open(dest, "xb") as out:
        shutil.copyfileobj(src, out, _CHUNK)
        out.flush()
        os.fsync(out.fileno())


def _swap_in(spec: zoo.ModelSpec, staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` by renames so readers never see a partial folder."""
    try:
        swap_in(staging, target)
    except OSError as exc:
        raise _fail(
            spec, f"cannot move the extracted model into {target} ({exc.strerror})"
        ) from exc
