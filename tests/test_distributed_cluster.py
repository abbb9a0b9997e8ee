"""``lcnet-ov infer --engine ray`` as a user runs it, in subprocesses: on a local Ray it starts
and stops itself, and on a two-node cluster on this machine (``ray start --head --num-cpus 1``
+ a second ``ray start --num-cpus 1`` with its own temp and cache dirs) both nodes do work.

Every Ray process is on 127.0.0.1 and ended by process id when the module is done (never
``ray stop``, which would end every Ray on the machine)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import pytest

pytest.importorskip("ray.data")
import psutil

from lcnet_ov.runtime.classifier import Classifier

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "images"
PAGES = sorted(str(p) for p in SAMPLES.glob("*.jpg"))
RAY = str(Path(sys.executable).with_name("ray"))  # the CLI beside this interpreter
TIMEOUT = 240  # seconds for any one Ray command on a loaded 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    """This checkout importable by every Ray process; token auth off (a 127.0.0.1-only test
    cluster; a token file in ~/.ray would otherwise split head and clients)."""
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _lcnet(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lcnet_ov", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )


def test_local_ray_is_started_and_stopped_by_the_cli(orientation_xml, tmp_path):
    out = tmp_path / "rows.jsonl"
    missing = str(tmp_path / "missing.jpg")
    # a camera-size page: the CLI's ray engine decodes it exactly by default (lcnet_ov.policy),
    # as infer does
    camera = tmp_path / "camera.jpg"
    page = cv2.imread(PAGES[3])
    cv2.imwrite(str(camera), cv2.resize(page, (1536, 2048)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    proc = _lcnet(
        "infer", "--engine", "ray", "-m", str(orientation_xml), str(SAMPLES), str(camera),
        missing, "-o", str(out), env=_env(),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("6 images, 1 failed, ") and "images/s" in summary
    assert "Error: 1 of 6 inputs could not be classified" in proc.stderr
    assert "Traceback" not in proc.stderr
    rows = {r["filename"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows[missing]["error"] == f"{missing}: no such file or folder"
    assert [rows[p]["label_names"][0] for p in PAGES] == ["0", "180", "270", "90"]
    assert not list(tmp_path.glob(".rows.jsonl.*"))  # the temp file was renamed, not left
    preds = []
    for fast_decode in (True, False):
        with Classifier(orientation_xml, threads=1, fast_decode=fast_decode) as clf:
            preds.append(clf(str(camera)))
    fast, exact = preds
    assert rows[str(camera)]["scores"] == [float(s) for s in exact.scores] != list(fast.scores)


class Cluster:
    """Two Ray nodes on this machine, one CPU each, with separate temp and cache dirs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = [Path(tempfile.mkdtemp(prefix=f"lcnet-ray{i}-", dir="/tmp")) for i in (1, 2)]

    def start(self) -> None:
        common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
        common += ["--object-store-memory", str(200 * 1024 * 1024)]
        head = ["--head", "--port", str(self.port), "--include-dashboard=false"]
        head += ["--ray-client-server-port", str(_free_port())]
        for i, extra in enumerate((head, ["--address", self.address])):
            env = _env(LCNET_OV_HOME=str(self.root / f"home{i}"), TMPDIR=str(self.temp[i] / "tmp"))
            (self.temp[i] / "tmp").mkdir()
            proc = subprocess.run(
                [RAY, "start", *extra, *common, "--temp-dir", str(self.temp[i])],
                capture_output=True,
                text=True,
                env=env,
                timeout=TIMEOUT,
            )
            assert proc.returncode == 0, proc.stderr[-3000:]

    def processes(self) -> set[psutil.Process]:
        """Every process of this cluster: those naming its dirs or port, and their children."""
        marks = [str(t) for t in self.temp] + [f":{self.port}"]
        roots = set()
        for proc in psutil.process_iter(["cmdline"]):
            cmd = " ".join(proc.info["cmdline"] or [])
            if any(m in cmd for m in marks) and proc.pid != os.getpid():
                roots.add(proc)
        found = set(roots)
        for proc in roots:
            with contextlib.suppress(psutil.Error):
                found.update(proc.children(recursive=True))
        return found

    def stop(self) -> None:
        procs = self.processes()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(list(procs), timeout=30)
        for t in self.temp:
            shutil.rmtree(t, ignore_errors=True)

    def worker_logs(self, node: int) -> str:
        """Ray tags each worker's log with the actor or task it ran (``:actor_name:...``)."""
        logs = self.temp[node] / "session_latest" / "logs"
        return "".join(f.read_text(errors="replace") for f in sorted(logs.glob("worker-*.out")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def test_cli_job_on_a_two_node_cluster_uses_both_nodes(cluster, orientation_xml, imagenet_dir):
    out = cluster.root / "rows.parquet"
    photos = sorted(str(p) for p in imagenet_dir.glob("*.JPEG"))[:40]
    proc = _lcnet(
        "infer", "--engine", "ray", "--address", cluster.address, "-m", str(orientation_xml),
        str(SAMPLES), *photos, "-o", str(out), env=_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("44 images, 0 failed, ")
    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    assert sorted(r["filename"] for r in rows) == sorted(PAGES + photos)
    labels = {r["filename"]: r["label_names"][0] for r in rows}
    assert [labels[p] for p in PAGES] == ["0", "180", "270", "90"]

    # one actor holds one node's only CPU, so the read tasks ran on the other node
    logs = [cluster.worker_logs(i) for i in (0, 1)]
    actor = [":actor_name:MapWorker(MapBatches(_ClassifyBatch))" in log for log in logs]
    reads = [":task_name:ReadBinary" in log for log in logs]
    assert sum(actor) == 1, actor
    assert reads[actor.index(False)], (actor, reads)
    # the model reached the worker node through the object store: its own cache stayed empty
    assert not list(cluster.root.glob("home*/**/*.bin"))
