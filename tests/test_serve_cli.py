"""`lcnet-ov serve` / `export` command surface: lazy imports, clear one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, cwd=REPO
    )


def test_help_lists_serve_and_export_without_importing_kserve():
    code = (
        "import sys; from lcnet_ov.cli import main\n"
        "for cmd in ([], ['serve'], ['export']):\n"
        "    try:\n"
        "        main([*cmd, '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "names = ('kserve', 'tritonclient', 'fastapi', 'openvino')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = _run("-c", code)
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout and "export" in out.stdout and "--max-wait-ms" in out.stdout
    assert "HEAVY []" in out.stdout


def test_port_in_use_is_one_line_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        xml = tmp_path / "m.xml"
        xml.write_text("<net/>")
        out = _run("-m", "lcnet_ov", "serve", "--model", str(xml), "--http-port", str(port))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    same = _run("-m", "lcnet_ov", "serve", "--model", str(xml), "--http-port", "9000",
                "--grpc-port", "9000")  # fmt: skip
    assert same.returncode == 2 and "must differ" in same.stderr


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_bad_security_options_are_one_line_errors(tmp_path):
    """Checked before the model is resolved: a typo costs nothing, and no key is echoed."""
    xml = tmp_path / "m.xml"
    xml.write_text("<net/>")
    keys = tmp_path / "keys"
    keys.write_text("tiny-secret\n")
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    cases = [
        (["--api-key-file", str(keys)], "keys:1: an API key must be at least 16"),
        (["--api-key-file", str(tmp_path / "none")], "cannot read the API key file"),
        (["--ssl-certfile", str(cert)], "TLS needs both --ssl-certfile and --ssl-keyfile"),
        (["--ssl-certfile", str(cert), "--ssl-keyfile", str(cert)], "cannot load TLS certificate"),
    ]
    for args, needle in cases:
        out = _run("-m", "lcnet_ov", "serve", "--model", str(xml), *args)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and len(lines) == 1, out.stderr
        assert lines[0].startswith("Error: ") and needle in lines[0], lines
        assert "tiny-secret" not in out.stderr
