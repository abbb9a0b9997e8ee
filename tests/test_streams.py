"""Video files as streams, with the real text-orientation model: a page turning through the four
orientations written with ``cv2.VideoWriter`` and classified frame by frame (records, accuracy,
``every``/``fps``, exact smoothing, events, a corrupt frame, open errors, close), and the CLI
on them (plain lines, JSON lines, events, usage errors). Live HTTP streams: test_streams_live.py.
"""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from lcnet_ov import AsyncClassifier, Classifier, StreamOpenError, StreamOptionError
from lcnet_ov.cli import main
from lcnet_ov.inputs.video import parse_stream_source
from lcnet_ov.results import FrameResult
from lcnet_ov.runtime.stream import stream_events
from lcnet_ov.testing import ORIENTATIONS
from lcnet_ov.testing.streams import corrupt_avi_frame, truth, turning_page, write_video

FPS, PER_TURN, FRAMES = 24.0, 12, 48
MODEL = ["--model", "text_image_orientation"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """48 frames (2 s at 24 fps) of a page turning a quarter every 12 frames, MJPG/AVI."""
    path = tmp_path_factory.mktemp("video") / "turning.avi"
    assert write_video(path, turning_page(FRAMES, PER_TURN), FPS)
    return path


@pytest.fixture(scope="module")
def clf(orientation_xml):
    with AsyncClassifier(orientation_xml, max_batch=4, topk=4, fold_preprocessing=False) as c:
        yield c


def _decoded(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    return frames


def test_sources_recognised():
    kinds = {
        "a/clip.MP4": "file",
        "x.mkv": "file",
        "cam.ts": "file",
        "rtsp://u:pw@10.0.0.2/live": "network",
        "rtmp://h/app": "network",
        "https://h/s.m3u8": "network",
        "http://h/video.mjpg": "network",
        "udp://@:1234": "network",
        "camera:0": "camera",
    }
    for text, kind in kinds.items():
        assert parse_stream_source(text).kind == kind, text
    for text in ("page.jpg", "folder/", "*.mp4", "ftp://h/x.mp4x", "camera:x"):
        assert parse_stream_source(text) is None, text
    assert parse_stream_source(np.zeros((2, 2, 3), np.uint8)) is None
    assert parse_stream_source("rtsp://u:pw@h/live").name == "rtsp://u:***@h/live"
    assert (
        parse_stream_source("camera:1").live_default
        and not parse_stream_source("x.avi").live_default
    )


def test_file_records_match_frames(clf, video, orientation_xml):
    stream = clf.stream(video)
    records = list(stream)
    assert [r.frame for r in records] == list(range(FRAMES))
    assert all(isinstance(r, FrameResult) and r.ok and r.source == str(video) for r in records)
    assert [r.time_s for r in records] == pytest.approx([i / FPS for i in range(FRAMES)], abs=1e-3)
    correct = sum(r.label_name == truth(r.frame, PER_TURN) for r in records)
    assert correct >= 0.95 * FRAMES
    s = stream.stats
    assert (s.frames_read, s.classified, s.failed, s.dropped) == (FRAMES, FRAMES, 0, 0)
    # the same probabilities as classifying the decoded frames one by one
    frames = _decoded(video)
    with Classifier(orientation_xml, topk=4) as sync:
        for i in (0, 13, 30, 47):
            want = sync(frames[i])
            assert records[i].class_ids == want.class_ids
            assert records[i].scores == pytest.approx(want.scores, abs=1e-5)


def test_every_and_fps(clf, video):
    assert [r.frame for r in clf.stream(video, every=5)] == list(range(0, FRAMES, 5))
    # at most 6 classified frames per second of a 24 fps stream: every 4th frame
    assert [r.frame for r in clf.stream(video, fps=6)] == list(range(0, FRAMES, 4))
    both = [r.frame for r in clf.stream(video, every=3, fps=4)]
    assert both == [0, 6, 12, 18, 24, 30, 36, 42]
    for bad in ({"every": 0}, {"fps": -1}, {"smooth": 0}, {"reconnect": -2}):
        with pytest.raises(StreamOptionError):
            clf.stream(video, **bad)


def test_smoothing_is_the_mean_of_the_last_k(clf, video):
    raw = list(clf.stream(video))
    probs = np.zeros((FRAMES, 4))
    for i, r in enumerate(raw):
        probs[i, list(r.class_ids)] = r.scores
    k = 5
    smoothed = list(clf.stream(video, smooth=k))
    for i in (0, 3, 12, 14, 40):
        mean = probs[max(0, i - k + 1) : i + 1].mean(axis=0)
        r = smoothed[i]
        assert r.class_ids[0] == int(np.argmax(mean))
        assert r.scores == pytest.approx(sorted(mean, reverse=True), abs=1e-5)
        assert r.raw.class_ids == raw[i].class_ids  # the frame's own prediction is kept
    # just after a turn the smoothed label lags behind the raw one: that is the smoothing
    assert smoothed[12].label_name == "0" and raw[12].label_name == "90"


@pytest.mark.slow
def test_smoothing_removes_a_flicker(clf, tmp_path):
    frames = turning_page(30, 30)  # upright throughout...
    frames[15] = turning_page(13, 12)[12]  # ...but one frame turned 90
    path = tmp_path / "flicker.avi"
    assert write_video(path, frames, FPS)
    assert [r.label_name for r in clf.stream(path)].count("90") == 1
    smoothed = list(clf.stream(path, smooth=5))
    assert {r.label_name for r in smoothed} == {"0"}
    assert [e.label_name for e in stream_events(smoothed)] == ["0"]


def test_events(clf, video):
    events = list(clf.stream(video, smooth=3).events())
    assert [e.label_name for e in events] == list(ORIENTATIONS)
    assert events[0].start_frame == 0 and events[-1].end_frame == FRAMES - 1
    for e, turn in zip(events[1:], range(1, 4), strict=True):
        assert turn * PER_TURN <= e.start_frame <= turn * PER_TURN + 2  # smoothing's delay
        assert e.start_s == pytest.approx(e.start_frame / FPS, abs=1e-3)
    assert sum(e.frames for e in events) == FRAMES
    assert all(0.5 < e.mean_score <= 1 for e in events)
    assert "90 " in events[1].format() and " s – " in events[1].format()


def test_corrupt_frame_is_a_failed_record(clf, video, tmp_path):
    path = tmp_path / "corrupt.avi"
    path.write_bytes(video.read_bytes())
    corrupt_avi_frame(path, 20)
    stream = clf.stream(path)
    records = list(stream)
    assert [r.frame for r in records] == list(range(FRAMES))
    bad = [r for r in records if not r.ok]
    assert [r.frame for r in bad] == [20]
    assert "frame 20" in bad[0].reason and str(path) in bad[0].reason
    with pytest.raises(Exception, match="frame 20"):
        _ = bad[0].label_name
    assert bad[0].to_dict()["error"] and bad[0].format().startswith("error: ")
    assert records[21].label_name == truth(21, PER_TURN)
    assert records[21].time_s == pytest.approx(21 / FPS, abs=1e-3)
    assert stream.stats.failed == 1


def test_sources_that_never_open(clf, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for source, words in (
        (tmp_path / "missing.avi", "no such file"),
        (text, "cannot open"),
        ("camera:97", "capture device 97"),
    ):
        with pytest.raises(StreamOpenError, match=words) as info:
            next(iter(clf.stream(source)))
        assert str(source) in str(info.value)
    with pytest.raises(StreamOptionError, match="not a stream source"):
        clf.stream(tmp_path / "page.jpg")


def test_close_early_releases_the_reader(clf, video):
    stream = clf.stream(video)
    first = [next(stream) for _ in range(3)]
    assert [r.frame for r in first] == [0, 1, 2]
    stream.close()
    stream.close()
    readers = [t for t in threading.enumerate() if t.name.startswith("lcnet-ov-reader")]
    for t in readers:
        t.join(5)
    assert not any(t.is_alive() for t in readers)
    deadline = time.monotonic() + 5  # frames already inferring finish; the rest were cancelled
    while clf.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert clf.pending == 0
    assert len(list(clf.stream(video, every=12))) == 4  # the classifier is still fine


@pytest.mark.slow
def test_sync_classifier_stream(orientation_xml, video):
    with Classifier(orientation_xml, batch_size=4) as sync:
        records = list(sync.stream(video, every=2, smooth=2))
    assert [r.frame for r in records] == list(range(0, FRAMES, 2))
    assert sum(r.label_name == truth(r.frame, PER_TURN) for r in records) >= 0.9 * len(records)


@pytest.mark.slow
def test_mp4_where_the_build_encodes_it(clf, tmp_path):
    path = tmp_path / "turning.mp4"
    if not write_video(path, turning_page(24, 6), FPS, "mp4v"):
        pytest.skip("this OpenCV build has no mp4v encoder")
    records = list(clf.stream(path))
    assert [r.frame for r in records] == list(range(24))
    assert sum(r.label_name == truth(r.frame, 6) for r in records) >= 22


# ---- CLI -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("orientation_xml")
def test_cli_plain_and_json_lines(video, capfd):
    assert main(["infer", *MODEL, str(video), "--every", "12"]) == 0
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("class_ids: [1") and lines[1].endswith(
        f"source: {video}, frame: 12, time_s: 0.500"
    )
    assert f"{video}: {FRAMES} frames read, 4 classified, 0 failed" in err
    assert main(["infer", *MODEL, str(video), "--json", "--fps", "2", "-k", "1"]) == 0
    rows = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [(r["frame"], r["time_s"]) for r in rows] == [(0, 0.0), (12, 0.5), (24, 1.0), (36, 1.5)]
    assert [r["label_names"] for r in rows] == [[o] for o in ORIENTATIONS]


@pytest.mark.slow
@pytest.mark.usefixtures("orientation_xml")
def test_cli_events_mixed_inputs_and_failures(video, tmp_path, capfd):
    page = tmp_path / "page.png"
    cv2.imwrite(str(page), turning_page(1, 1)[0])
    args = [str(page), str(video), str(tmp_path / "gone.mp4"), "--events", "--smooth", "3"]
    assert main(["infer", *MODEL, "--json", *args]) == 1
    out, err = capfd.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["filename"] == str(page) and rows[0]["label_names"][0] == "0"
    assert [r["label_name"] for r in rows[1:]] == list(ORIENTATIONS)
    assert rows[-1]["end_frame"] == FRAMES - 1 and rows[1]["start_s"] == 0.0
    assert "gone.mp4: no such file" in err and "Traceback" not in err


@pytest.mark.usefixtures("orientation_xml")
@pytest.mark.parametrize(
    "args",
    [
        ["IMAGE", "--every", "2"],
        ["IMAGE", "--no-live"],
        ["IMAGE", "--events"],
        ["VIDEO", "--smooth", "0"],
        ["VIDEO", "--fps", "0"],
        ["VIDEO", "--smooth", "2", "--engine", "ray", "-o", "x.parquet"],
        ["rtsp://127.0.0.1:9/cam", "--engine", "ray", "-o", "x.parquet"],
        ["IMAGE", "--every", "2", "--engine", "ray", "-o", "x.parquet"],
    ],
)
def test_cli_usage_errors_exit_2(args, video, tmp_path, capfd):
    page = tmp_path / "p.png"
    cv2.imwrite(str(page), np.zeros((8, 8, 3), np.uint8))
    argv = [{"IMAGE": str(page), "VIDEO": str(video)}.get(a, a) for a in args]
    assert main(["infer", *MODEL, *argv]) == 2
    out, err = capfd.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1


def test_smoothing_ranks_every_class_whatever_topk(clf, video, orientation_xml):
    """A topk=2 classifier still smooths over all four classes (the engine ranks stream items
    at their own k) and hands out two; its other callers keep getting two."""
    probs = np.zeros((FRAMES, 4))
    for i, r in enumerate(clf.stream(video)):
        probs[i, list(r.class_ids)] = r.scores
    with AsyncClassifier(orientation_xml, max_batch=4, topk=2, fold_preprocessing=False) as two:
        smoothed = list(two.stream(video, smooth=4))
        frames = _decoded(video)[:3]
        assert all(len(p.class_ids) == 2 for p in two.map(frames))
    for i in (2, 13, 47):
        mean = probs[max(0, i - 3) : i + 1].mean(axis=0)
        assert smoothed[i].class_ids == tuple(np.argsort(-mean)[:2])
        assert smoothed[i].scores == pytest.approx(np.sort(mean)[::-1][:2], abs=1e-5)
        assert len(smoothed[i].raw.class_ids) == 2
