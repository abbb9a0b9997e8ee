"""Admission control of `lcnet-ov serve` against a real server subprocess: the image cap on
every route, JSON and binary body limits, 503 + Retry-After (gRPC UNAVAILABLE) at once when
the pipeline is full, and a burst of maximum-size JSON requests that leaves RSS bounded."""

from __future__ import annotations

import base64
import importlib.util
import json
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

httpclient = pytest.importorskip("tritonclient.http")
grpcclient = pytest.importorskip("tritonclient.grpc")
if importlib.util.find_spec("kserve") is None:  # not imported: its protos clash with tritonclient's
    pytest.skip("kserve is not installed (pip install -e .[serve])", allow_module_level=True)

from tritonclient.utils import InferenceServerException  # noqa: E402

from lcnet_ov.testing.server import ServerProcess  # noqa: E402

pytestmark = pytest.mark.slow
PAGE = Path(__file__).resolve().parents[1] / "samples" / "images" / "page_90deg.jpg"
MODEL = "text_image_orientation"
INFER = f"/v2/models/{MODEL}/infer"


def _post(srv, path, body, headers=None):
    try:
        with srv.urlopen(path, data=body, headers=headers or {}, timeout=120) as resp:
            return (
                resp.status,
                {k.lower(): v for k, v in resp.headers.items()},
                resp.read().decode(),
            )
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read().decode()


def _json_pixels(px: np.ndarray) -> bytes:
    spec = {"name": "pixels", "datatype": "UINT8", "shape": list(px.shape),
            "data": px.reshape(-1).tolist()}  # fmt: skip
    return json.dumps({"inputs": [spec]}, separators=(",", ":")).encode()


def _binary_pixels(px: np.ndarray) -> tuple[bytes, dict]:
    spec = {"name": "pixels", "datatype": "UINT8", "shape": list(px.shape),
            "parameters": {"binary_data_size": px.nbytes}}  # fmt: skip
    head = json.dumps({"inputs": [spec]}).encode()
    return head + px.tobytes(), {"Inference-Header-Content-Length": str(len(head))}


def _status_line(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.fixture(scope="module")
def server(orientation_xml, tmp_path_factory):
    folder = tmp_path_factory.mktemp("admission")
    env = {"LCNET_OV_HOME": str(folder / "home"), "LCNET_OV_OFFLINE": "1"}
    srv = ServerProcess(orientation_xml, "--max-pending-images", "256", "--memory-budget-mb",
                        "32", env=env, log=folder / "serve.log")  # fmt: skip
    with srv:
        yield srv
    assert srv.returncode == 0
    log = (folder / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_the_image_cap_holds_on_every_route(server):
    page = base64.b64encode(PAGE.read_bytes()).decode()
    body = json.dumps({"instances": [{"b64": page}] * 80}).encode()  # 5 MB JSON, over 2 MB
    code, _, text = _post(server, f"/v1/models/{MODEL}:predict", body)
    assert code == 413 and "--max-json-mb" in text
    tiny = base64.b64encode(b"\xff\xd8\xff").decode()  # 300 small instances fit the body limit
    t0 = time.perf_counter()
    body = json.dumps({"instances": [{"b64": tiny}] * 300}).encode()
    code, _, text = _post(server, f"/v1/models/{MODEL}:predict", body)
    assert code == 400 and "300 instances in one request, over the limit of 256" in text
    assert time.perf_counter() - t0 < 5  # refused before any decoding
    spec = {"name": "image", "datatype": "BYTES", "shape": [300], "data": [tiny] * 300}
    code, _, text = _post(server, INFER, json.dumps({"inputs": [spec]}).encode())
    assert code == 400 and "over the limit of 256" in text


def test_json_bodies_have_a_lower_limit_than_binary_ones(server):
    px = np.random.default_rng(0).integers(0, 256, (1, 600, 600, 3), dtype=np.uint8)  # 1.1 MB
    code, _, text = _post(server, INFER, _json_pixels(px))  # ~4 MB of JSON numbers
    assert code == 413 and "for JSON" in text and "--max-json-mb" in text
    code, _, text = _post(server, INFER, *_binary_pixels(px))
    assert code == 200, text
    floats = {"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 2, 2, 3],
                          "data": [0.5] * 12}]}  # fmt: skip
    code, _, text = _post(server, INFER, json.dumps(floats).encode())
    assert code == 400 and "integers 0-255" in text


def test_a_full_pipeline_answers_503_with_retry_after_at_once(server):
    """256 images fill the pipeline (--max-pending-images 256); meanwhile every other request
    is turned away at once, on both protocols, and served again once it drains."""
    rng = np.random.default_rng(1)
    big = rng.integers(0, 256, (256, 96, 96, 3), dtype=np.uint8)
    result: dict[str, object] = {}

    def fill() -> None:
        result["big"] = _post(server, INFER, *_binary_pixels(big))

    filler = threading.Thread(target=fill)
    filler.start()
    time.sleep(0.5)
    one = rng.integers(0, 256, (1, 96, 96, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    code, headers, text = _post(server, INFER, *_binary_pixels(one))
    waited = time.perf_counter() - t0
    grpc = grpcclient.InferenceServerClient(server.grpc_url)
    inp = grpcclient.InferInput("pixels", list(one.shape), "UINT8")
    inp.set_data_from_numpy(one)
    with pytest.raises(InferenceServerException) as err:
        grpc.infer(MODEL, [inp])
    # a 2 MB gRPC message reserves 8 MB: over the 32 MB budget beside the 28 MB request
    large = rng.integers(0, 256, (1, 816, 816, 3), dtype=np.uint8)
    big_inp = grpcclient.InferInput("pixels", list(large.shape), "UINT8")
    big_inp.set_data_from_numpy(large)
    with pytest.raises(InferenceServerException) as over_budget:
        grpc.infer(MODEL, [big_inp])
    filler.join(120)
    assert "big" in result and result["big"][0] == 200, result
    assert code == 503 and headers.get("retry-after") == "1" and "busy" in text, (code, text)
    assert waited < 0.5, waited
    assert err.value.status() == "StatusCode.UNAVAILABLE" and "busy" in err.value.message()
    assert over_budget.value.status() == "StatusCode.UNAVAILABLE"
    assert "requests in flight" in over_budget.value.message()
    assert grpc.infer(MODEL, [big_inp]).as_numpy("class_ids").shape == (1, 4)  # alone: fine
    assert _post(server, INFER, *_binary_pixels(one))[0] == 200
    assert grpc.infer(MODEL, [inp]).as_numpy("class_ids").shape == (1, 4)


def test_a_burst_of_large_json_requests_keeps_rss_bounded(server):
    """16 concurrent ~2 MB JSON pixel requests (each ~9x its size in memory at its peak)
    against --memory-budget-mb 32: admission lets one in at a time, the rest get 503 at once,
    and the server's peak RSS grows by less than the budget plus a margin (16 requests at
    once would take ~250 MB)."""
    status = Path(f"/proc/{server.proc.pid}/status")
    px = np.random.default_rng(2).integers(0, 256, (1, 400, 400, 3), dtype=np.uint8)
    body = _json_pixels(px)
    assert 1.5e6 < len(body) < 2 * 1024 * 1024
    assert _post(server, INFER, body)[0] == 200  # first-use costs out of the way
    base = _status_line(status, "VmRSS")
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: _post(server, INFER, body), range(16)))
    growth_mb = (_status_line(status, "VmHWM") - base) / 1024
    codes = sorted(a[0] for a in answers)
    assert set(codes) == {200, 503} and codes.count(200) >= 1, codes
    assert all(a[1].get("retry-after") == "1" for a in answers if a[0] == 503)
    assert growth_mb < 32 + 48, growth_mb
