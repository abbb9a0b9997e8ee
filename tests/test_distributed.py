"""The Ray Data engine on a real local Ray (2 CPUs, one session for the module): rows equal
``Classifier``'s on ImageNet photos and the sample pages, broken files become error rows with
the same reasons, the actor compiles with INFERENCE_NUM_THREADS = its CPUs, pools that would
stall are refused, and a SIGKILLed actor costs a restart, not a row."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("ray.data")

import ray

from lcnet_ov import distributed
from lcnet_ov.errors import ClusterError
from lcnet_ov.runtime.classifier import Classifier

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "images"
ACTOR_TITLE = "MapWorker(MapBatches(_ClassifyBatch))"  # Ray's process title for our actors


def _huge_png_header() -> bytes:
    """A valid PNG signature and IHDR claiming 40000×40000: refused before decoding."""
    _, buf = cv2.imencode(".png", np.zeros((2, 2, 3), np.uint8))
    data = bytearray(buf.tobytes())
    data[16:24] = (40000).to_bytes(4, "big") * 2
    return bytes(data)


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("broken")
    png = cv2.imencode(".png", np.full((64, 80, 3), 127, np.uint8))[1].tobytes()
    files = {
        "truncated.png": png[: len(png) // 2],
        "empty.jpg": b"",
        "text.jpg": b"hello, not an image",
        "huge.png": _huge_png_header(),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    return [root / name for name in files]


@pytest.fixture(scope="module")
def photos(imagenet_dir) -> list[Path]:
    return sorted(imagenet_dir.glob("*.JPEG"))[::16]  # 63 of the 1000, all classes' spread


def _rows(dataset) -> list[dict]:
    return dataset.take_all()


@pytest.fixture(scope="module")
def uri_folder(tmp_path_factory) -> Path:
    """A tree read through a URI: listed recursively by Ray, image suffixes only."""
    root = tmp_path_factory.mktemp("uri")
    (root / "a").mkdir()
    (root / "b").mkdir()
    shutil.copy(SAMPLES / "page_0deg.jpg", root / "a" / "x.jpg")
    shutil.copy(SAMPLES / "page_90deg.jpg", root / "b" / "y.JPG")
    (root / "notes.txt").write_text("not an image, not listed")
    return root


@pytest.fixture(scope="module")
def camera_page(tmp_path_factory) -> Path:
    """A sample page upscaled to 2048×1536, where fast decode reads it at 1/4 scale."""
    page = cv2.imread(str(SAMPLES / "page_90deg.jpg"))
    path = tmp_path_factory.mktemp("camera") / "camera_page.jpg"
    cv2.imwrite(str(path), cv2.resize(page, (1536, 2048)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


@pytest.fixture(scope="module")
def job(ray_local, orientation_xml, photos, broken, uri_folder, camera_page) -> dict[str, dict]:
    """One job over photos, the sample pages, a camera-size page, broken files, a missing path
    and a URI (``classify``'s defaults: exact decode)."""
    missing = str(broken[0].parent / "missing.jpg")
    sources = [str(p) for p in photos] + [str(SAMPLES), str(camera_page), *map(str, broken)]
    sources += [missing, f"file://{uri_folder}"]
    rows = _rows(distributed.classify(sources, orientation_xml, batch_size=8))
    by_name = {r["filename"]: r for r in rows}
    assert len(by_name) == len(rows) == len(photos) + 4 + 1 + len(broken) + 1 + 2
    return by_name


def _expected(xml: Path, files: list[str], fast_decode: bool = False) -> list:
    with Classifier(xml, threads=1, batch_size=8, fast_decode=fast_decode) as clf:
        return list(clf.predict(files))


def _assert_same(rows: dict[str, dict], expected: list) -> None:
    for pred in expected:
        row = rows[pred.filename]
        assert row["error"] is None, row
        assert list(row["class_ids"]) == list(pred.class_ids)
        assert list(row["label_names"]) == list(pred.label_names)
        assert list(row["scores"]) == [float(s) for s in pred.scores]  # bit for bit


def test_rows_equal_classifier_on_imagenet_photos(job, orientation_xml, photos):
    _assert_same(job, _expected(orientation_xml, [str(p) for p in photos]))


def test_rows_equal_classifier_on_the_sample_pages(job, orientation_xml):
    pages = sorted(str(p) for p in SAMPLES.glob("*.jpg"))
    expected = _expected(orientation_xml, pages)
    _assert_same(job, expected)
    # the trained orientation model reads each page's rotation off its name
    assert [job[p]["label_names"][0] for p in pages] == [
        Path(p).stem.removeprefix("page_").removesuffix("deg") for p in pages
    ]


def test_exact_decode_is_the_default_and_fast_decode_can_be_asked_for(
    job, ray_local, orientation_xml, camera_page
):
    fast, exact = (_expected(orientation_xml, [str(camera_page)], f) for f in (True, False))
    assert fast[0].scores != exact[0].scores  # the two decodes differ on this file
    _assert_same(job, exact)  # lcnet_ov.policy: the exact decode, as Classifier
    rows = _rows(distributed.classify([str(camera_page)], orientation_xml, fast_decode=True))
    _assert_same({r["filename"]: r for r in rows}, fast)


def test_broken_files_are_error_rows_with_the_sdk_reasons(job, orientation_xml, broken):
    missing = str(broken[0].parent / "missing.jpg")
    expected = _expected(orientation_xml, [*map(str, broken), missing])
    for failure in expected:
        row = job[failure.filename]
        assert row["error"] == failure.reason
        assert list(row["class_ids"]) == [] and list(row["scores"]) == []
    assert "over the limit" in job[str(broken[3])]["error"]  # refused from the header


def test_uri_sources_are_listed_by_ray_with_image_suffixes_only(job, uri_folder):
    assert job[str(uri_folder / "a" / "x.jpg")]["label_names"][0] == "0"
    assert job[str(uri_folder / "b" / "y.JPG")]["label_names"][0] == "90"
    assert str(uri_folder / "notes.txt") not in job


def test_dataset_with_a_bytes_column(ray_local, orientation_xml):
    page = SAMPLES / "page_90deg.jpg"
    source = ray.data.from_items([{"bytes": page.read_bytes()}, {"bytes": b"junk"}])
    rows = _rows(distributed.classify(source, orientation_xml))
    good = [r for r in rows if r["error"] is None]
    bad = [r for r in rows if r["error"] is not None]
    assert len(good) == len(bad) == 1
    assert good[0]["label_names"][0] == "90" and good[0]["filename"] is None
    assert "<bytes>: cannot decode image" in bad[0]["error"]
    with pytest.raises(ValueError, match="'bytes' column"):
        distributed.classify(ray.data.from_items([{"x": 1}]), orientation_xml)


def test_actor_compiles_with_its_cpus_as_inference_threads(ray_local, orientation_xml):
    shipped = distributed.ship_model(orientation_xml)
    actor = distributed.job._ClassifyBatch(
        shipped,
        threads=1,
        topk=5,
        batch_size=8,
        inference_precision="f32",
        fold_preprocessing=False,
    )
    compiled = actor.classifier.compiled_model
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert actor.pool._max_workers == 1
    page = (SAMPLES / "page_180deg.jpg").read_bytes()
    table = actor({"bytes": np.array([page], dtype=object), "path": np.array(["p"])})
    assert table.column("label_names").to_pylist()[0][0] == "180"


def test_pools_that_would_stall_are_refused(ray_local, orientation_xml):
    assert distributed.plan_actors(None, 1) == 1  # 2 CPUs: one actor, one CPU for reading
    with pytest.raises(ClusterError, match=r"wait forever.*at most 1 actor"):
        distributed.plan_actors(2, 1)
    with pytest.raises(ClusterError, match="largest node has 2"):
        distributed.plan_actors(None, 3)
    with pytest.raises(ClusterError, match="wait forever"):
        distributed.classify([str(SAMPLES)], orientation_xml, actors=2)


def _actor_pids() -> list[int]:
    """Our map actors among this test process's descendants (the local raylet's workers)."""
    import psutil

    pids = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if ACTOR_TITLE in " ".join(proc.cmdline()):
                pids.append(proc.pid)
        except psutil.Error:
            continue
    return pids


def test_sigkilled_actor_is_restarted_and_every_input_appears_once(
    ray_local, orientation_xml, imagenet_dir, tmp_path, monkeypatch
):
    import psutil
    import pyarrow.parquet as pq

    files = sorted(str(p) for p in imagenet_dir.glob("*.JPEG"))[:400]
    # small read blocks and calls: the job is ~10 actor calls, so the kill lands mid-job
    monkeypatch.setattr(distributed.job, "FILES_PER_READ_TASK", 20)
    earlier = set(_actor_pids())  # actors of earlier jobs may still be on their way out
    killed: list[int] = []
    seen_at_kill: list[int] = []
    later: set[int] = set()

    def kill_once(images: int, failed: int) -> None:
        pids = [p for p in _actor_pids() if p not in earlier]
        if killed:
            later.update(pids)
            return
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pids[0]).wait(timeout=60)  # gone (and reaped by the raylet)
        killed.append(pids[0])
        seen_at_kill.append(images)

    out = tmp_path / "rows.parquet"
    dataset = distributed.classify(files, orientation_xml, batch_size=2)
    summary = distributed.write_results(dataset, out, on_rows=kill_once)

    assert killed and seen_at_kill[0] < len(files)  # killed mid-job
    assert later and killed[0] not in later  # a new actor process did the rest
    names = pq.read_table(out).column("filename").to_pylist()
    assert sorted(names) == files  # each input exactly once
    assert summary.images == len(files) and summary.failed == 0
