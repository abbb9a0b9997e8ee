"""Video files in the Ray job on a real local Ray (2 CPUs): every sampled frame is a row whose
``frame``, ``time_s`` and results equal ``AsyncClassifier.stream(video, live=False)``'s, through
``distributed.classify`` and ``lcnet-ov infer --engine ray``; ``every``/``fps`` sample as the
stream does; an undecodable frame and a video that never opens are error rows; images keep
``frame``/``time_s`` null; live sources are refused before Ray does any work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("ray.data")

import pyarrow.parquet as pq

from lcnet_ov import AsyncClassifier, StreamOptionError, distributed
from lcnet_ov.cli import main
from lcnet_ov.testing.streams import corrupt_avi_frame, truth, turning_page, write_video

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "samples" / "images" / "page_90deg.jpg"
FPS, PER_TURN, FRAMES = 10.0, 5, 20


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    """A page turning through the four orientations (MJPG AVI), and a copy whose frame 7
    holds no JPEG."""
    root = tmp_path_factory.mktemp("videos")
    good, bad = root / "pages.avi", root / "damaged.avi"
    assert write_video(good, turning_page(FRAMES, PER_TURN), FPS)
    shutil.copy(good, bad)
    corrupt_avi_frame(bad, 7)
    return {"good": good, "bad": bad}


def _stream(xml: Path, video: Path, **sampling) -> list:
    with AsyncClassifier(xml, max_batch=8, fold_preprocessing=False) as clf:
        return list(clf.stream(video, live=False, **sampling))


def _frame_rows(rows: list[dict], video: Path) -> list[dict]:
    mine = [r for r in rows if r["filename"] == str(video.absolute())]
    return sorted(mine, key=lambda r: r["frame"])


def _assert_rows_equal(rows: list[dict], records: list) -> None:
    assert [r["frame"] for r in rows] == [rec.frame for rec in records]
    for row, rec in zip(rows, records, strict=True):
        assert row["time_s"] == pytest.approx(rec.time_s, abs=1e-9)
        if not rec.ok:
            assert row["error"] and f"frame {rec.frame}" in row["error"], row
            assert list(row["class_ids"]) == []
            continue
        assert row["error"] is None, row
        assert list(row["class_ids"]) == list(rec.class_ids)
        assert list(row["label_names"]) == list(rec.label_names)
        assert list(row["scores"]) == pytest.approx(list(rec.scores), abs=1e-5)


def test_classify_videos_and_images(ray_local, orientation_xml, videos):
    """One job: two videos (one damaged), an image and a missing video; every frame a row."""
    missing = videos["good"].parent / "gone.mp4"
    sources = [videos["good"], str(PAGE), videos["bad"], missing]
    rows = distributed.classify(sources, orientation_xml, batch_size=8).take_all()
    assert len(rows) == FRAMES + 1 + FRAMES + 1

    good = _frame_rows(rows, videos["good"])
    records = _stream(orientation_xml, videos["good"])
    assert len(records) == FRAMES and all(r.ok for r in records)
    _assert_rows_equal(good, records)
    assert [r["label_names"][0] for r in good] == [truth(i, PER_TURN) for i in range(FRAMES)]

    bad = _frame_rows(rows, videos["bad"])
    bad_records = _stream(orientation_xml, videos["bad"])
    assert [r.frame for r in bad_records if not r.ok] == [7]
    _assert_rows_equal(bad, bad_records)

    (image,) = [r for r in rows if r["filename"] == str(PAGE)]
    assert image["frame"] is None and image["time_s"] is None and image["error"] is None
    (gone,) = [r for r in rows if r["filename"] == str(missing.absolute())]
    assert gone["frame"] is None and "no such file" in gone["error"]


@pytest.mark.parametrize("sampling", [{"every": 3}, {"fps": 4.0}, {"every": 2, "fps": 3.0}])
def test_sampling_as_the_stream_samples(ray_local, orientation_xml, videos, sampling):
    rows = distributed.classify(videos["good"], orientation_xml, **sampling).take_all()
    records = _stream(orientation_xml, videos["good"], **sampling)
    assert 0 < len(records) < FRAMES
    _assert_rows_equal(_frame_rows(rows, videos["good"]), records)


def test_a_folder_of_videos(ray_local, orientation_xml, videos, tmp_path):
    """A folder of recordings (no images in it): all its videos, every frame once."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("a.avi", "b.avi"):
        shutil.copy(videos["good"], folder / name)
    rows = distributed.classify(str(folder), orientation_xml, every=4).take_all()
    for name in ("a.avi", "b.avi"):
        frames = [r["frame"] for r in _frame_rows(rows, folder / name)]
        assert frames == list(range(0, FRAMES, 4))
    assert len(rows) == 2 * len(range(0, FRAMES, 4))


def test_cli_rows_equal_the_stream(ray_local, orientation_xml, videos, tmp_path, capfd):
    out = tmp_path / "rows.parquet"
    argv = ["infer", "-m", str(orientation_xml), "--engine", "ray", "--every", "3"]
    assert main([*argv, str(videos["good"]), "-o", str(out)]) == 0
    assert f"-> {out}" in capfd.readouterr().out
    rows = pq.read_table(out).to_pylist()
    assert list(rows[0])[:3] == ["filename", "frame", "time_s"]
    _assert_rows_equal(
        _frame_rows(rows, videos["good"]), _stream(orientation_xml, videos["good"], every=3)
    )

    jsonl = tmp_path / "rows.jsonl"  # the damaged video: exit 1, its row says why
    assert main([*argv[:-2], str(videos["bad"]), "-o", str(jsonl)]) == 1
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    (failed,) = [r for r in rows if r["error"]]
    assert failed["frame"] == 7 and "frame 7 cannot be decoded" in failed["error"]
    assert len(rows) == FRAMES


def test_live_sources_are_refused(orientation_xml):
    """Before Ray is even needed: the job would never end on a live source."""
    with pytest.raises(StreamOptionError, match="live streams"):
        distributed.classify(["rtsp://127.0.0.1:9/cam", str(PAGE)], orientation_xml)
