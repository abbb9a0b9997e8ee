"""SIGTERM / Ctrl-C: `lcnet-ov serve` stops accepting, answers what it has received, exits 0."""

from __future__ import annotations

import importlib.util
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

httpclient = pytest.importorskip("tritonclient.http")
grpcclient = pytest.importorskip("tritonclient.grpc")
if importlib.util.find_spec("kserve") is None:
    pytest.skip("kserve is not installed (pip install -e .[serve])", allow_module_level=True)

from lcnet_ov import Classifier  # noqa: E402
from lcnet_ov.errors import ServeError  # noqa: E402
from lcnet_ov.testing.server import ServerProcess  # noqa: E402

pytestmark = pytest.mark.slow
PAGE = Path(__file__).resolve().parents[1] / "samples" / "images" / "page_90deg.jpg"
MODEL = "text_image_orientation"


def _server(xml, tmp_path, *extra):
    env = {"LCNET_OV_HOME": str(tmp_path / "home"), "LCNET_OV_OFFLINE": "1"}
    return ServerProcess(xml, *extra, env=env, log=tmp_path / "serve.log")


def _image(module):
    inp = module.InferInput("image", [1], "BYTES")
    inp.set_data_from_numpy(np.array([PAGE.read_bytes()], dtype=object))
    return inp


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return True
    return False


def test_sigterm_answers_requests_in_flight_and_exits_0(orientation_xml, tmp_path):
    with Classifier(orientation_xml) as clf:
        want = clf.predict_probs([str(PAGE)])[0]
    # a long batching window holds the requests inside the server when the signal arrives
    srv = _server(orientation_xml, tmp_path, "--max-batch", "64", "--max-wait-ms", "2500")
    srv.start()
    results: dict[str, object] = {}

    def call(key: str, module, url: str) -> None:
        try:
            client = module.InferenceServerClient(url)
            results[key] = client.infer(MODEL, [_image(module)]).as_numpy("probabilities")[0]
        except Exception as exc:
            results[key] = exc

    threads = [
        threading.Thread(target=call, args=(f"{kind}{i}", module, url))
        for i in range(3)
        for kind, module, url in (
            ("http", httpclient, srv.http_url),
            ("grpc", grpcclient, srv.grpc_url),
        )
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.8)  # all six are received and waiting for their batch
    srv.signal(signal.SIGTERM)
    time.sleep(0.4)
    # stopped accepting: new HTTP connections are refused while the six are still pending
    assert _refused(srv.host, srv.http_port)
    from tritonclient.utils import InferenceServerException

    with pytest.raises(InferenceServerException) as refused:  # new gRPC calls are turned away
        grpcclient.InferenceServerClient(srv.grpc_url).infer(
            MODEL, [_image(grpcclient)], client_timeout=10
        )
    assert refused.value.status() == "StatusCode.UNAVAILABLE"
    for t in threads:
        t.join(60)
    assert time.monotonic() - t0 >= 2.0, "requests finished before the signal: test is void"
    assert srv.wait(60) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert len(results) == 6
    for key, value in results.items():
        assert not isinstance(value, Exception), f"{key}: {value!r}"
        np.testing.assert_allclose(value, want, atol=1e-6, rtol=0)
    assert _refused(srv.host, srv.grpc_port)
    log = (tmp_path / "serve.log").read_text()
    assert "every request received was answered" in log


def test_ctrl_c_exits_0(orientation_xml, tmp_path):
    srv = _server(orientation_xml, tmp_path)
    srv.start()
    client = httpclient.InferenceServerClient(srv.http_url)
    assert client.infer(MODEL, [_image(httpclient)]).as_numpy("class_ids")[0][0] == 1
    assert srv.stop(signal.SIGINT, timeout=60) == 0, (tmp_path / "serve.log").read_text()[-3000:]


def test_a_server_not_ready_in_time_leaves_its_stacks_in_the_error(orientation_xml, tmp_path):
    """A start that times out says where the server was (faulthandler's dump on SIGABRT)."""
    env = {"LCNET_OV_HOME": str(tmp_path / "home"), "LCNET_OV_OFFLINE": "1"}
    srv = ServerProcess(orientation_xml, env=env, log=tmp_path / "serve.log", ready_timeout=0.5)
    with pytest.raises(ServeError, match=r"not ready after 0\.5 s") as err:
        srv.start()
    assert "Fatal Python error: Aborted" in str(err.value)
    assert 'File "' in str(err.value)  # at least one Python frame of the stuck server
    assert srv.proc is not None and srv.proc.poll() is not None  # and it is gone
