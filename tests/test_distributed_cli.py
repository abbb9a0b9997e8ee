"""``lcnet-ov infer --engine ray`` failing fast and cleanly, without starting Ray: a bad
--output, a missing [ray] extra, an unreachable --address are one line and a non-zero exit;
neither the CLI nor the library module imports Ray until a job needs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lcnet_ov.cli import main

REPO = Path(__file__).resolve().parents[1]
PAGES = str(REPO / "samples" / "images")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_error_line(capfd) -> str:
    err = capfd.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_help_and_the_module_stay_free_of_ray():
    code = (
        "import sys; import lcnet_ov.distributed.job, lcnet_ov.cli.infer;"
        "from lcnet_ov.cli import main;"
        "rc = main(['infer', '--help']); assert rc == 0, rc;"
        "assert 'ray' not in sys.modules, 'ray imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--engine [local|ray]" in proc.stdout and "--address" in proc.stdout


@pytest.mark.parametrize(
    ("output", "code", "message"),
    [
        ("rows.csv", 2, "must end in .parquet or .jsonl"),  # a usage error
        ("no/such/folder/rows.parquet", 1, "does not exist"),
    ],
)
def test_bad_output_is_refused_before_ray(output, code, message, tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # proves Ray is never reached
    assert main(["infer", "--engine", "ray", PAGES, "-o", output]) == code
    assert message in _one_error_line(capfd)
    assert list(tmp_path.iterdir()) == []  # not even a probe file left behind


def test_folder_as_output_is_refused(tmp_path, capfd):
    from lcnet_ov.distributed import check_output
    from lcnet_ov.errors import OutputFileError, OutputPathError

    (tmp_path / "rows.parquet").mkdir()
    assert main(["infer", "--engine", "ray", PAGES, "-o", str(tmp_path / "rows.parquet")]) == 2
    assert "is a directory" in capfd.readouterr().err
    # library callers, same check; one except OutputPathError covers every unwritable output
    with pytest.raises(OutputPathError, match="is a folder") as err:
        check_output(tmp_path / "rows.parquet")
    assert isinstance(err.value, OutputFileError)


def test_missing_ray_extra_names_the_pip_command(tmp_path, capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    out = tmp_path / "rows.parquet"
    assert main(["infer", "--engine", "ray", PAGES, "-o", str(out)]) == 1
    assert 'pip install "lcnet-ov[ray]"' in _one_error_line(capfd)
    assert not out.exists()


def test_ray_options_need_the_ray_engine(capfd):
    assert main(["infer", PAGES, "--output", "x.parquet"]) == 2
    assert "need --engine ray" in capfd.readouterr().err
    assert main(["infer", "--engine", "ray", PAGES]) == 2
    assert "--output" in capfd.readouterr().err


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_unreachable_address_is_one_line(scheme, tmp_path, capfd):
    pytest.importorskip("ray.data")
    import ray

    if ray.is_initialized():  # a Ray joined earlier in this process would be used instead
        pytest.skip("Ray is initialized in this test process")
    address = f"{scheme}127.0.0.1:{_free_port()}"
    out = tmp_path / "rows.jsonl"
    rc = main(["infer", "--engine", "ray", "--address", address, PAGES, "-o", str(out)])
    assert rc == 1
    line = _one_error_line(capfd)
    assert f"cannot reach a Ray cluster at {address}" in line and "ray start --head" in line
    assert not out.exists() and not ray.is_initialized()


def test_malformed_address_is_one_line(tmp_path, capfd):
    pytest.importorskip("ray.data")
    rc = main(["infer", "--engine", "ray", "--address", "nowhere", PAGES, "-o", "x.jsonl"])
    assert rc == 1
    assert "expected auto, HOST:PORT" in _one_error_line(capfd)


def test_existing_output_needs_force(tmp_path, capfd, monkeypatch):
    """An existing --output is never replaced silently: exit 2 before Ray, or --force."""
    from lcnet_ov.distributed import check_output
    from lcnet_ov.errors import OutputFileError

    monkeypatch.setitem(sys.modules, "ray", None)  # proves Ray is never reached
    out = tmp_path / "rows.parquet"
    out.write_bytes(b"earlier results")
    assert main(["infer", "--engine", "ray", PAGES, "-o", str(out)]) == 2
    assert "--force" in capfd.readouterr().err
    assert out.read_bytes() == b"earlier results"
    with pytest.raises(OutputFileError, match="exists; pass --force"):
        check_output(out)
    assert check_output(out, force=True) == out
    assert main(["infer", PAGES, "--force"]) == 2  # --force belongs to --engine ray


class _Rows:
    """What write_results reads from a Ray Dataset: pyarrow tables from iter_batches."""

    def __init__(self, tables):
        self.tables = tables

    def iter_batches(self, batch_format, batch_size):
        assert batch_format == "pyarrow" and batch_size is None
        yield from self.tables


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_results_file_has_the_umask_mode_and_failure_leaves_nothing(tmp_path, suffix):
    import pyarrow as pa

    from lcnet_ov.distributed import write_results
    from lcnet_ov.distributed.output import _schema

    row = {"filename": "a.jpg", "class_ids": [1], "scores": [0.9], "label_names": ["x"]}
    table = pa.Table.from_pylist([{**row, "error": None}], schema=_schema())
    out = tmp_path / f"rows{suffix}"
    old = os.umask(0o027)
    try:
        summary = write_results(_Rows([table, table]), out)
    finally:
        os.umask(old)
    assert (summary.images, summary.failed) == (2, 0)
    assert out.stat().st_mode & 0o777 == 0o640  # 0o666 less the umask, not mkstemp's 0o600

    class Broken(_Rows):
        def iter_batches(self, batch_format, batch_size):
            yield table
            raise RuntimeError("worker died")

    again = tmp_path / f"again{suffix}"
    with pytest.raises(RuntimeError, match="worker died"):
        write_results(Broken([]), again)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp file, no half file
