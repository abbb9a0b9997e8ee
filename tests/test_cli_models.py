"""``lcnet-ov models`` end to end: the zoo table, JSON output, downloads and clean errors."""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lcnet_ov import paths, zoo
from lcnet_ov.cli import cli, main

NAME = "PPLCNet_x0_25"
SPEC = zoo.get_spec(NAME)


@pytest.fixture(scope="session")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real tiny PP-LCNet export, packed in the official ``<name>_infer/`` layout."""
    from lcnet_ov.export import checkpoint
    from lcnet_ov.testing import seeded_network

    folder = tmp_path_factory.mktemp("cli-tiny") / SPEC.archive_dir
    checkpoint.export_inference_model(seeded_network(0.25, seed=0), folder)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(folder, arcname=SPEC.archive_dir, recursive=False)
        for name in ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info"):
            tf.add(folder / name, arcname=f"{SPEC.archive_dir}/{name}")
    return buf.getvalue()


@pytest.fixture
def mirror(tarball: bytes) -> Iterator[tuple[str, list[str]]]:
    """A loopback server holding only the tiny tarball; yields (base URL, requested paths)."""
    requests: list[str] = []
    route = "/" + SPEC.archive_name

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path != route:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(tarball)))
            self.end_headers()
            self.wfile.write(tarball)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def env(tmp_path: Path, mirror: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LCNET_OV_MIRROR", mirror[0])
    monkeypatch.delenv("LCNET_OV_OFFLINE", raising=False)
    monkeypatch.delenv("LCNET_OV_TIMEOUT", raising=False)
    monkeypatch.setattr("lcnet_ov.export.download.RETRY_BACKOFF_S", 0.01)
    return tmp_path / "home"


def test_models_table(env: Path) -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["Name", "Task", "Input(HxW)", "Source", "Scale", "Classes"]
    assert "Top-1" in lines[0] and "Downloaded" in lines[0] and "Converted" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == zoo.list_models()
    row = next(line for line in lines if line.startswith("PPLCNet_x1_0 "))
    assert row.split()[1:4] == ["imagenet", "224x224", "paddleclas"]
    assert row.split()[4:11] == ["1.0", "1000", "3.0", "161", "71.32", "90.03", "2.46"]
    # the family by official name, with its task, input size and source
    rows = {line.split()[0]: line.split()[1:4] for line in lines[1:]}
    assert rows["PP-LCNet_x1_0_textline_ori"] == ["textline_orientation", "80x160", "paddlex"]
    assert rows["PP-LCNet_x1_0_pedestrian_attribute"][1:] == ["256x192", "paddlex"]
    assert rows["PP-LCNet_x1_0_ML"][1:] == ["448x448", "paddlex"]
    assert rows["PP-LCNetV2_base"] == ["imagenet", "224x224", "paddlex"]
    assert rows["person_exists"] == ["binary_classification", "224x224", "pulc"]
    assert rows["vehicle_attribute"][1:] == ["192x256", "pulc"]
    assert rows["text_image_orientation"][1:] == ["224x224", "pulc"]


def test_models_json(env: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 38  # 11 PaddleClas ImageNet, 18 PaddleX 3, 9 PULC
    assert [r["name"] for r in rows] == zoo.list_models()
    by_name = {r["name"]: r for r in rows}
    line = by_name["language_classification"]
    assert (line["task"], line["input_hw"], line["source"]) == (
        "language_classification",
        [80, 160],
        "pulc",
    )
    assert line["url"].endswith("/models/PULC/inference/language_classification_infer.tar")
    ml = by_name["PP-LCNet_x1_0_ML"]
    assert (ml["kind"], ml["output"], ml["num_classes"]) == ("multilabel", "sigmoid", 80)
    assert ml["url"] == (
        "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/"
        "paddle3.0.0/PP-LCNet_x1_0_ML_infer.tar"
    )
    assert by_name["person_attribute"]["kind"] == "person_attribute"
    first = rows[0]
    assert first["name"] == NAME and first["scale"] == 0.25 and first["num_classes"] == 1000
    assert first["top1"] == 51.86 and first["latency_ms"] == 1.74
    assert not any(r["downloaded"] for r in rows) and not any(r["converted"] for r in rows)
    orientation = next(r for r in rows if r["name"] == "text_image_orientation")
    assert orientation["num_classes"] == 4 and orientation["top5"] is None


def test_models_download_then_listed(env: Path, mirror: tuple[str, list[str]]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "download", NAME, "--no-progress"])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == paths.models_dir(NAME) / SPEC.archive_dir
    assert (path / "inference.pdmodel").is_file() and (path / "inference.pdiparams").is_file()
    assert mirror[1] == ["/" + SPEC.archive_name]

    again = runner.invoke(cli, ["models", "download", NAME, "--json"])
    assert json.loads(again.stdout) == {"name": NAME, "path": str(path)}
    assert len(mirror[1]) == 1  # served from the cache

    # A converted IR in the cache layout shows up too.
    xml = paths.ir_path(NAME, "fp16")
    xml.parent.mkdir(parents=True)
    xml.write_text("<net/>")
    xml.with_suffix(".bin").write_bytes(b"\0")
    rows = {r["name"]: r for r in json.loads(runner.invoke(cli, ["models", "--json"]).stdout)}
    assert rows[NAME]["downloaded"] is True and rows[NAME]["path"] == str(path)
    assert rows[NAME]["converted"] == ["fp16"]
    table = runner.invoke(cli, ["models"]).stdout
    row = next(line for line in table.splitlines() if line.startswith(NAME + " "))
    assert row.split()[-2:] == ["yes", "fp16"]


def test_models_download_from_file_offline(
    env: Path, tarball: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")
    src = tmp_path / "by-hand.tar"
    src.write_bytes(tarball)
    result = CliRunner().invoke(cli, ["models", "download", NAME, "--from", str(src)])
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()) == paths.models_dir(NAME) / SPEC.archive_dir


def test_unknown_model_is_one_clean_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert CliRunner().invoke(cli, ["models", "download", "PPLCNet_x9_9"]).exit_code != 0
    assert main(["models", "download", "PPLCNet_x9_9"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unknown model 'PPLCNet_x9_9'")


def test_download_failure_is_one_clean_line(
    env: Path,
    mirror: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "download", "PPLCNet_x0_5", "--no-progress"]) == 1  # 404
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: PPLCNet_x0_5: HTTP 404")
    assert f"{mirror[0]}/PPLCNet_x0_5_infer.tar" in err[0]
    assert "--from FILE.tar" in err[0] and "Traceback" not in err[0]


def test_offline_error_is_one_clean_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")
    assert main(["models", "download", NAME]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "offline" in err and err.count("\n") == 1
