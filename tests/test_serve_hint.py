"""``lcnet-ov serve --hint``: the server's OpenVINO performance hint (bench's option of the same
name). THROUGHPUT, the default, runs a stream per core; LATENCY one stream on every core, with
two infer requests so a batch still forms while another infers. The answers are the same."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from lcnet_ov.errors import ServeError
from lcnet_ov.serving.options import LATENCY_REQUESTS, ServeOptions, open_classifier
from lcnet_ov.testing.server import ServerProcess

PAGES = Path(__file__).resolve().parents[1] / "samples" / "images"
ANGLES = ("0", "90", "180", "270")


def _scores(clf) -> list[tuple[tuple[int, ...], tuple[float, ...]]]:
    futures = [clf.submit(PAGES / f"page_{a}deg.jpg") for a in ANGLES]
    return [(r.class_ids, r.scores) for r in (f.result() for f in futures)]


def test_latency_hint_is_one_stream_with_two_requests_and_the_same_answers(orientation_xml):
    latency = open_classifier(ServeOptions(model=orientation_xml, performance_hint="latency"))
    throughput = open_classifier(ServeOptions(model=orientation_xml))
    try:
        assert int(latency.compiled_model.get_property("NUM_STREAMS")) == 1
        assert latency.num_requests == LATENCY_REQUESTS
        assert str(latency.compiled_model.get_property("PERFORMANCE_HINT")) == "LATENCY"
        assert str(throughput.compiled_model.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
        fast, wide = _scores(latency), _scores(throughput)
    finally:
        latency.close()
        throughput.close()
    assert [ids[0] for ids, _ in fast] == [ANGLES.index(a) for a in ANGLES]
    for (ids_a, p_a), (ids_b, p_b) in zip(fast, wide, strict=True):
        assert ids_a == ids_b
        assert np.allclose(p_a, p_b, rtol=0, atol=1e-5)  # threads split the sums differently


def test_an_unknown_hint_is_a_serve_error(orientation_xml):
    with pytest.raises(ServeError, match="THROUGHPUT, LATENCY"):
        open_classifier(ServeOptions(model=orientation_xml, performance_hint="FAST"))


def test_the_ready_line_names_streams_only_where_the_device_counts_them(orientation_xml):
    """AUTO (like HETERO and MULTI) refuses NUM_STREAMS: the server still starts, and its
    ready line names the hint alone."""
    from lcnet_ov.serving.server import _hint_text

    options = ServeOptions(model=orientation_xml, device="AUTO", performance_hint="LATENCY")
    clf = open_classifier(options)
    try:
        assert _hint_text(clf, options) == "latency hint"
    finally:
        clf.close()
    options = ServeOptions(model=orientation_xml, performance_hint="LATENCY")
    clf = open_classifier(options)
    try:
        assert _hint_text(clf, options) == "latency hint: 1 inference stream(s)"
    finally:
        clf.close()


@pytest.mark.slow  # fast tier under a minute: a server start costs ~3-5 s
def test_serve_cli_hint_latency_reaches_the_server(orientation_xml, tmp_path):
    log = tmp_path / "serve.log"
    env = {"LCNET_OV_HOME": str(tmp_path / "home"), "LCNET_OV_OFFLINE": "1"}
    with ServerProcess(orientation_xml, "--hint", "LATENCY", env=env, log=log) as srv:
        page = (PAGES / "page_90deg.jpg").read_bytes()
        req = urllib.request.Request(
            f"http://{srv.http_url}/v2/models/text_image_orientation/classify?topk=1", data=page
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.loads(resp.read())
    assert srv.returncode == 0
    assert "latency hint: 1 inference stream(s)" in log.read_text()
    assert body["label_names"] == ["90"]
