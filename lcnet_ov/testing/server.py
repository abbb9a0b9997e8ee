"""Run ``lcnet-ov serve`` as a child process: free ports, wait until ready, stop by SIGTERM.

Used by the tests, ``benchmarks/serve_load.py`` and ``benchmarks/serve_memory.py`` (and handy
in notebooks): the server runs exactly as a user starts it (``python -m lcnet_ov serve ...``),
in its own process, so what is measured or tested is the real command, signals and exit code
included.
"""

from __future__ import annotations

import os
import signal as _signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import ServeError


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``with ServerProcess(model=xml) as srv:`` → ``srv.http_url``, ``srv.grpc_url``, ``srv.name``.

    ``extra`` are further ``lcnet-ov serve`` arguments. ``env`` is added to the child's
    environment (``PYTHONPATH`` is set to this checkout so the child runs this code).
    With ``--ssl-certfile`` among them the readiness poll speaks HTTPS, trusting that
    certificate (a self-signed one for 127.0.0.1 works); ``api_key`` is sent where the server
    needs one. Leaving the block sends SIGTERM and waits; :attr:`returncode` is the exit status.
    """

    def __init__(
        self,
        model: str | os.PathLike,
        *extra: str,
        host: str = "127.0.0.1",
        ready_timeout: float = 120.0,
        env: dict[str, str] | None = None,
        log: str | os.PathLike | None = None,
        api_key: str | None = None,
    ) -> None:
        self.host = host
        self.api_key = api_key
        self.certfile = (
            extra[extra.index("--ssl-certfile") + 1] if "--ssl-certfile" in extra else None
        )
        self.http_port, self.grpc_port = free_port(host), free_port(host)
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port(host)
        self.argv = [
            # -X faulthandler: a server stuck before ready is sent SIGABRT and prints every
            # thread's stack into the log, so a hang is diagnosed, not just timed out
            sys.executable, "-X", "faulthandler", "-m", "lcnet_ov", "serve",
            "--model", os.fspath(model),
            "--host", host, "--http-port", str(self.http_port),
            "--grpc-port", str(self.grpc_port), *extra,
        ]  # fmt: skip
        root = str(Path(__file__).resolve().parents[2])
        child_env = {**os.environ, **(env or {})}
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (root, child_env.get("PYTHONPATH")) if p
        )
        self.env = child_env
        self.ready_timeout = ready_timeout
        self.log_path = Path(log) if log else None
        self.proc: subprocess.Popen | None = None
        self.ready_seconds: float | None = None
        self.returncode: int | None = None
        self.name: str | None = None

    @property
    def http_url(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    def start(self) -> ServerProcess:
        out: Any = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        if self.log_path:
            out.close()
        deadline = t0 + self.ready_timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise ServeError(
                    f"lcnet-ov serve exited with {self.proc.returncode} before it was ready"
                    + (f"; log: {self.log_path}" if self.log_path else "")
                )
            if self._ready():
                self.ready_seconds = time.perf_counter() - t0
                return self
            time.sleep(0.05)
        self.signal(_signal.SIGABRT)  # faulthandler writes the stacks, then the process dies
        self.wait(10)
        tail = ""
        if self.log_path and self.log_path.is_file():
            text = self.log_path.read_text(errors="replace")
            cut = text if len(text) <= 5000 else f"{text[:1500]}\n[...]\n{text[-3500:]}"
            tail = f"; log ({self.log_path}):\n{cut}"
        raise ServeError(f"lcnet-ov serve not ready after {self.ready_timeout:g} s{tail}")

    @property
    def base_url(self) -> str:
        return f"{'https' if self.certfile else 'http'}://{self.http_url}"

    def urlopen(self, path: str, data: bytes | None = None, timeout: float = 60, **kw: Any) -> Any:
        """``urllib.request.urlopen`` on this server: TLS trust and the API key included."""
        import ssl

        headers = dict(kw.pop("headers", {}))
        if self.api_key and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, **kw)
        context = ssl.create_default_context(cafile=self.certfile) if self.certfile else None
        return urllib.request.urlopen(request, timeout=timeout, context=context)

    def _ready(self) -> bool:
        try:
            with self.urlopen("/v2/health/ready", timeout=2) as resp:
                if resp.status != 200:
                    return False
            with self.urlopen("/v2/models", timeout=2) as resp:
                import json

                self.name = json.loads(resp.read())["models"][0]
            return True
        except OSError:
            return False

    def signal(self, sig: int = _signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
        return self.returncode

    def stop(self, sig: int = _signal.SIGTERM, timeout: float = 60.0) -> int | None:
        if self.proc is None:
            return None
        self.signal(sig)
        return self.wait(timeout)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
