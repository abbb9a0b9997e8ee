"""Fetch and unpack official PaddleClas inference models into the cache, safely.

The tarballs come from a third-party bucket over plain HTTPS, may be fetched through a mirror,
or may be carried in by hand on air-gapped machines. So every archive is treated as untrusted:
it is streamed to a temporary file in the cache (never a half-written file under the final
name), its length and SHA-256 are checked, and extraction accepts only the handful of regular
files a PaddleClas inference model consists of. Every failure names the URL, the cache path
and how to place the file by hand, because the usual fix for a failed download is exactly that.

Environment, read at call time so services and tests can change it without re-importing:

``LCNET_OV_MIRROR``   base URL that replaces the official host (the archive name is appended)
``LCNET_OV_OFFLINE``  ``1``/``true``: never touch the network; raise :class:`OfflineError`
``LCNET_OV_TIMEOUT``  socket timeout in seconds (default 30)
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib.util
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

from .. import paths, zoo
from .._util import atomic_path
from ..errors import DownloadError, OfflineError
from ..paths import archive_path, model_dir
from .archive import (
    _check_local_archive,
    _extract,
    _fail,
    _is_model_folder,
    _mkdir,
    _remove_archive,
    _verify_cached,
    _write_record,
    model_url,
)

ENV_OFFLINE = "LCNET_OV_OFFLINE"
ENV_TIMEOUT = "LCNET_OV_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0

#: attempts per download; connection errors, timeouts, short bodies and 5xx are retried
MAX_TRIES = 3
#: first pause between attempts, doubled each time (module attribute so tests can shrink it)
RETRY_BACKOFF_S = 1.0
#: how long a second process waits for another one downloading the same archive
LOCK_TIMEOUT_S = 900.0

_CHUNK = 1 << 16
_USER_AGENT = "lcnet-ov (+https://github.com/PaddlePaddle/PaddleClas models)"


class _RetryableError(Exception):
    """A transfer failure worth another attempt (the network, not the content, was at fault)."""


# ----------------------------------------------------------------------------- public helpers


def is_offline() -> bool:
    """Whether ``LCNET_OV_OFFLINE`` forbids network access right now."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def extracted_model(name_or_spec: str | zoo.ModelSpec) -> Path | None:
    """The extracted inference-model folder if it is already in the cache and complete."""
    spec = _spec(name_or_spec)
    target = model_dir(spec)
    return target if _is_model_folder(target, spec) else None


def offline_onnx(spec: zoo.ModelSpec) -> Path | None:
    """The ONNX export that an installed package ships for ``spec``, or None.

    Found through the import system's path search only: the package's own code is never
    executed, so a broken or heavy package cannot break or slow down lcnet-ov.
    """
    if not spec.offline_package or not spec.offline_resource:
        return None
    top, *rest = spec.offline_package.split(".")
    try:
        found = importlib.util.find_spec(top)  # top-level names are located without importing
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if found.submodule_search_locations:
        roots = [Path(p) for p in found.submodule_search_locations]
    elif found.origin:
        roots = [Path(found.origin).parent]
    else:
        return None
    for root in roots:
        candidate = root.joinpath(*rest, *PurePosixPath(spec.offline_resource).parts)
        if candidate.is_file():
            return candidate
    return None


def zoo_summary() -> list[dict[str, Any]]:
    """One row per zoo model: official name, task, input size and source, paper figures
    where published, plus what the local cache holds for it."""
    rows = []
    for name in zoo.list_models():
        spec = zoo.get_spec(name)
        folder = extracted_model(spec)
        rows.append(
            {
                "name": spec.name,
                "task": spec.task,
                "input_hw": list(spec.input_hw),
                "source": spec.source,
                "kind": spec.kind,
                "output": spec.output,
                "architecture": spec.architecture,
                "scale": spec.scale,
                "num_classes": spec.num_classes,
                "ssld": spec.ssld,
                "params_m": spec.paper.params_m,
                "flops_m": spec.paper.flops_m,
                "top1": spec.paper.top1,
                "top5": spec.paper.top5,
                "latency_ms": spec.paper.latency_ms,
                "downloaded": folder is not None,
                "path": str(folder) if folder else None,
                "converted": paths.converted_precisions(spec.name),
                "url": spec.infer_url,
                "description": spec.description,
            }
        )
    return rows


# ----------------------------------------------------------------------------- download


def download_model(
    name_or_spec: str | zoo.ModelSpec,
    *,
    from_file: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Make ``name_or_spec``'s Paddle inference model available locally and return its folder.

    ``from_file`` (a tarball the user fetched by hand) is always unpacked, replacing what the
    cache holds. Otherwise the sources are, in order: the extracted folder (no network), a
    tarball in the downloads cache (checked against its SHA-256), the network. ``force``
    skips the first two and downloads again.
    A per-archive file lock makes concurrent callers, threads or processes, share one download.
    """
    spec = _spec(name_or_spec)
    target = model_dir(spec)
    if from_file is None and not force and _is_model_folder(target, spec):
        return target
    downloads = paths.downloads_dir()
    _mkdir(downloads, spec)
    with _archive_lock(spec):
        if from_file is not None:
            source = Path(from_file).expanduser()
            _check_local_archive(spec, source)
            _extract(spec, source, target)
            return target
        # Another process may have finished while this one waited for the lock.
        if not force and _is_model_folder(target, spec):
            return target
        tar = archive_path(spec)
        fresh = False
        if force or not tar.is_file():
            _fetch(spec, tar, progress=progress)
            fresh = True
        else:
            _verify_cached(spec, tar)
        try:
            _extract(spec, tar, target)
        except DownloadError:
            if fresh:  # do not keep a bad archive around to fail the same way next time
                _remove_archive(tar)
            raise
    return target


def _spec(name_or_spec: str | zoo.ModelSpec) -> zoo.ModelSpec:
    if isinstance(name_or_spec, zoo.ModelSpec):
        return name_or_spec
    return zoo.get_spec(name_or_spec)


@contextlib.contextmanager
def _archive_lock(spec: zoo.ModelSpec):
    """Serialise work on one archive across threads and processes (flock-based, crash-safe)."""
    import filelock

    lock_path = paths.archive_lock(spec)
    lock = filelock.FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise _fail(
            spec,
            f"another process has been downloading this model for {LOCK_TIMEOUT_S:.0f} s "
            f"(lock {lock_path}); if none is running, delete the lock file",
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _timeout_s(spec: zoo.ModelSpec) -> float:
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise _fail(spec, f"{ENV_TIMEOUT}={raw!r} is not a positive number of seconds")
    return value


def _fetch(spec: zoo.ModelSpec, dest: Path, *, progress: bool) -> None:
    """Download the archive to ``dest`` atomically, retrying transient failures."""
    url = model_url(spec)
    if is_offline():
        extra = ""
        onnx_path = offline_onnx(spec)
        if onnx_path is not None:
            extra = f"; an ONNX export of the same weights is installed at {onnx_path}"
        raise _fail(
            spec, f"not in the cache and offline mode is on ({ENV_OFFLINE}){extra}", OfflineError
        )
    timeout = _timeout_s(spec)
    _remove_stale_parts(dest)
    last: BaseException | None = None
    for attempt in range(1, MAX_TRIES + 1):
        try:
            digest = _fetch_once(spec, url, dest, timeout=timeout, progress=progress)
        except _RetryableError as exc:
            last = exc
            if attempt < MAX_TRIES:
                time.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
            continue
        _write_record(spec, dest, digest)
        return
    raise _fail(spec, f"download failed after {MAX_TRIES} attempts: {last}") from last


def _remove_stale_parts(dest: Path) -> None:
    """Delete ``.part`` files a killed download of ``dest`` left behind.

    Called under the archive lock, so no live download of this archive owns one: a process
    that dies (SIGKILL, power loss) releases the flock but cannot run its own cleanup.
    """
    for stale in dest.parent.glob(f".{dest.name}.*.part"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _fetch_once(
    spec: zoo.ModelSpec, url: str, dest: Path, *, timeout: float, progress: bool
) -> str:
    """One attempt: stream to a temp file beside ``dest``, check it, then rename; return sha256."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with atomic_path(dest, suffix=".part") as tmp, tmp.open("wb") as out:
        return _stream(spec, request, out, timeout=timeout, progress=progress)


def _stream(
    spec: zoo.ModelSpec,
    request: urllib.request.Request,
    out: Any,
    *,
    timeout: float,
    progress: bool,
) -> str:
    """Copy the response body to ``out`` while hashing it; classify every failure."""
    from tqdm import tqdm

    url = request.full_url
    hasher = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            length_header = resp.headers.get("Content-Length")
            expected = int(length_header) if length_header and length_header.isdigit() else None
            bar = tqdm(
                total=expected,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=spec.archive_name,
                file=sys.stderr,
                leave=False,
                disable=not progress or not sys.stderr.isatty(),
            )
            with bar:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    hasher.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise _RetryableError(f"HTTP {exc.code} {exc.reason} from {url}") from exc
        raise _fail(spec, f"HTTP {exc.code} {exc.reason} from {url}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, OSError):
            raise _RetryableError(f"cannot reach {url}: {reason}") from exc
        raise _fail(spec, f"cannot fetch {url}: {reason}") from exc
    except TimeoutError as exc:
        raise _RetryableError(f"no data from {url} for {timeout:g} s") from exc
    except (ConnectionError, http.client.HTTPException) as exc:
        raise _RetryableError(f"transfer from {url} broke off ({type(exc).__name__})") from exc
    except ValueError as exc:  # malformed URL (e.g. a mirror without a scheme)
        raise _fail(spec, f"invalid URL {url!r} ({exc})") from exc
    except OSError as exc:  # writing the temp file: disk full, permissions
        raise _fail(spec, f"cannot write into the cache ({exc.strerror or exc})") from exc
    if expected is not None and received != expected:
        raise _RetryableError(
            f"transfer from {url} was cut short: {received} of {expected} bytes arrived"
        )
    digest = hasher.hexdigest()
    if spec.sha256 and digest != spec.sha256.lower():
        raise _fail(
            spec,
            f"downloaded archive has SHA-256 {digest}, expected {spec.sha256} "
            "(a wrong file or a tampering mirror)",
        )
    return digest
