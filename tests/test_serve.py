"""`lcnet-ov serve` end to end: a real server subprocess on 127.0.0.1, real tritonclient HTTP and
gRPC clients (binary tensor data and JSON), results compared with `Classifier`."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

httpclient = pytest.importorskip("tritonclient.http")
grpcclient = pytest.importorskip("tritonclient.grpc")
if importlib.util.find_spec("kserve") is None:  # not imported: its protos clash with tritonclient's
    pytest.skip("kserve is not installed (pip install -e .[serve])", allow_module_level=True)

from lcnet_ov import Classifier  # noqa: E402
from lcnet_ov.inputs.preprocess import preprocess_image  # noqa: E402
from lcnet_ov.testing.server import ServerProcess  # noqa: E402

pytestmark = pytest.mark.slow
SAMPLES = sorted((Path(__file__).resolve().parents[1] / "samples" / "images").glob("*.jpg"))
MODEL = "text_image_orientation"


@pytest.fixture(scope="module")
def server(orientation_xml, tmp_path_factory):
    home = tmp_path_factory.getbasetemp() / "lcnet-home"
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {"LCNET_OV_HOME": str(home), "LCNET_OV_OFFLINE": "1"}
    srv = ServerProcess(orientation_xml, "--max-body-mb", "4", env=env, log=log)
    with srv:
        yield srv
    assert srv.returncode == 0, log.read_text()[-3000:]


@pytest.fixture(scope="module")
def reference(orientation_xml):
    with Classifier(orientation_xml) as clf:
        return clf.predict_probs([str(p) for p in SAMPLES])


def _bytes_input(module, blobs, binary=True):
    inp = module.InferInput("image", [len(blobs)], "BYTES")
    if module is grpcclient:
        inp.set_data_from_numpy(np.array(blobs, dtype=object))
    else:
        inp.set_data_from_numpy(np.array(blobs, dtype=object), binary_data=binary)
    return inp


def _check(result, reference, k):
    probs = result.as_numpy("probabilities")
    assert probs.shape == reference.shape
    np.testing.assert_allclose(probs, reference, atol=1e-6, rtol=0)
    order = np.argsort(-reference, axis=1, kind="stable")[:, :k]
    assert result.as_numpy("class_ids").tolist() == order.tolist()
    np.testing.assert_allclose(
        result.as_numpy("scores"), np.take_along_axis(reference, order, 1), atol=1e-6
    )
    labels = ["0", "90", "180", "270"]
    names = [  # JSON outputs arrive as str, binary ones as bytes
        [b.decode() if isinstance(b, bytes) else b for b in row]
        for row in result.as_numpy("label_names")
    ]
    assert names == [[labels[i] for i in row] for row in order.tolist()]


def test_http_binary_json_and_grpc_match_classifier(server, reference):
    assert server.name == MODEL  # defaults to the IR's metadata name
    blobs = [p.read_bytes() for p in SAMPLES]
    http = httpclient.InferenceServerClient(server.http_url)
    # binary tensor data (tritonclient's default) for inputs and outputs
    res = http.infer(MODEL, [_bytes_input(httpclient, blobs)], parameters={"topk": 2})
    _check(res, reference, 2)
    # pure JSON: BYTES elements are strings, so files go base64; outputs as JSON too
    b64 = [base64.b64encode(b) for b in blobs]
    outs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in
            ("probabilities", "class_ids", "scores", "label_names")]  # fmt: skip
    res = http.infer(MODEL, [_bytes_input(httpclient, b64, binary=False)], outputs=outs)
    _check(res, reference, 4)  # topk 5 clipped to the 4 classes
    grpc = grpcclient.InferenceServerClient(server.grpc_url)
    res = grpc.infer(MODEL, [_bytes_input(grpcclient, blobs)], parameters={"topk": 3})
    _check(res, reference, 3)
    assert grpc.is_server_ready() and grpc.is_model_ready(MODEL)


def test_pixels_and_preprocessed_tensors(server, orientation_xml, reference):
    """`pixels` (uint8 BGR, any size) and `x` (float NCHW, already preprocessed) inputs."""
    http = httpclient.InferenceServerClient(server.http_url)
    grpc = grpcclient.InferenceServerClient(server.grpc_url)
    for i, path in enumerate(SAMPLES[:2]):
        img = cv2.imread(str(path))
        for module, client in ((httpclient, http), (grpcclient, grpc)):
            inp = module.InferInput("pixels", [1, *img.shape], "UINT8")
            inp.set_data_from_numpy(img[None])
            _check(client.infer(MODEL, [inp]), reference[i : i + 1], 4)
    from lcnet_ov.runtime.metadata import read_metadata

    pp = read_metadata(orientation_xml).preprocess
    x = np.stack([preprocess_image(str(p), pp) for p in SAMPLES])
    for module, client in ((httpclient, http), (grpcclient, grpc)):
        inp = module.InferInput("x", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        _check(client.infer(MODEL, [inp]), reference, 4)


def test_metadata_metrics_and_curl_routes(server):
    base = f"http://{server.http_url}"
    meta = json.loads(urllib.request.urlopen(f"{base}/v2/models/{MODEL}").read())
    assert meta["parameters"]["labels"] == ["0", "90", "180", "270"]
    assert {i["name"] for i in meta["inputs"]} == {"image", "pixels", "x"}
    assert [o["name"] for o in meta["outputs"]] == [
        "probabilities", "class_ids", "scores", "label_names"
    ]  # fmt: skip
    assert json.loads(urllib.request.urlopen(f"{base}/v2/health/live").read())["live"] is True

    # the curl route: the file itself as the body
    page = SAMPLES[3].read_bytes()  # page_90deg
    req = urllib.request.Request(f"{base}/v2/models/{MODEL}/classify?topk=2", data=page)
    out = json.loads(urllib.request.urlopen(req).read())
    assert out["label_names"][0] == "90" and len(out["class_ids"]) == 2
    # KServe v1 :predict with a base64 image
    body = json.dumps({"instances": [{"b64": base64.b64encode(page).decode()}]}).encode()
    req = urllib.request.Request(f"{base}/v1/models/{MODEL}:predict", data=body)
    pred = json.loads(urllib.request.urlopen(req).read())["predictions"][0]
    assert pred["label_names"][0] == "90" and len(pred["class_ids"]) == 4

    metrics = urllib.request.urlopen(f"{base}/metrics").read().decode()
    assert "request_predict_seconds" in metrics
    sizes = dict(re.findall(r'lcnet_ov_batches_total\{size="(\d+)"\} ([\d.]+)', metrics))
    assert sizes, metrics[-2000:]


def test_concurrent_requests_share_batches(server, reference):
    """32 single-image requests at once: the server must run fewer inferences than requests."""
    base = f"http://{server.http_url}"

    def batches() -> float:
        text = urllib.request.urlopen(f"{base}/metrics").read().decode()
        return sum(float(v) for v in re.findall(r"lcnet_ov_batches_total\{[^}]*\} ([\d.]+)", text))

    before = batches()
    blobs = [p.read_bytes() for p in SAMPLES]

    def one(i: int):
        client = httpclient.InferenceServerClient(server.http_url)
        res = client.infer(MODEL, [_bytes_input(httpclient, [blobs[i % 4]])])
        return i % 4, res.as_numpy("probabilities")[0]

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(64)))
    for i, probs in results:
        np.testing.assert_allclose(probs, reference[i], atol=1e-6, rtol=0)
    assert batches() - before < 64


def _http_status(base, path, body, headers=None):
    req = urllib.request.Request(base + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _binary_body(header: dict, *buffers: bytes) -> tuple[bytes, dict]:
    head = json.dumps(header).encode()
    return head + b"".join(buffers), {"Inference-Header-Content-Length": str(len(head))}


def _png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))  # fmt: skip


def test_malformed_requests_get_4xx_and_the_server_keeps_serving(server, reference):
    base = f"http://{server.http_url}"
    url = f"/v2/models/{MODEL}/infer"
    good = SAMPLES[0].read_bytes()
    bomb = _png_header(50_000, 50_000)  # 2.5 G pixels claimed by the header
    strip = cv2.imencode(".png", np.zeros((16, 400, 3), np.uint8))[1].tobytes()  # 25:1
    cases: list[tuple[bytes, dict, int, str]] = [
        (b"not json", {}, 400, "not valid JSON"),
        (b"[1, 2]", {}, 400, "object"),
        (b"{}", {}, 400, "inputs"),
        (json.dumps({"inputs": [1]}).encode(), {}, 400, "inputs[0]"),
        (json.dumps({"inputs": []}).encode(), {}, 400, "exactly one input"),
        (json.dumps({"inputs": [{"name": "x", "datatype": "FP32"}]}).encode(), {}, 400, "shape"),
        (json.dumps({"inputs": [{"name": "foo", "datatype": "FP32", "shape": [1],
                                 "data": [1.0]}]}).encode(), {}, 400, "unknown input 'foo'"),
        (json.dumps({"inputs": [{"name": "x", "datatype": "INT8", "shape": [1, 3, 224, 224],
                                 "data": [0]}]}).encode(), {}, 400, "datatype must be FP32"),
        (json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 8, 8],
                                 "data": [0.0] * 192}]}).encode(), {}, 400, "shape must be"),
        (json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 224, 224],
                                 "data": [0.0] * 10}]}).encode(), {}, 400, "does not fit"),
        (json.dumps({"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 4, 4, 3],
                                 "data": [300] * 48}]}).encode(), {}, 400, "does not fit"),
        (json.dumps({"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 4, 4, 2],
                                 "data": [3] * 32}]}).encode(), {}, 400, "[N, H, W, 3]"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [0],
                                 "data": []}]}).encode(), {}, 400, "empty batch"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                 "data": ["@@not base64@@"]}]}).encode(), {}, 400, "image[0]"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": [
            base64.b64encode(good).decode(), base64.b64encode(b"junk").decode()]}]}).encode(),
         {}, 400, "image[1]: cannot decode"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                 "data": [base64.b64encode(bomb).decode()]}]}).encode(),
         {}, 400, "image[0]: image is 50000x50000"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                 "data": [base64.b64encode(good).decode()]}],
                     "parameters": {"topk": 0}}).encode(), {}, 400, "topk"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                 "data": [base64.b64encode(strip).decode()]}]}).encode(),
         {}, 400, "image[0]: image is 400x16 (aspect 25.0:1)"),
        (json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                 "data": [base64.b64encode(good).decode()]}],
                     "outputs": [{"name": "logits"}]}).encode(), {}, 400, "unknown output"),
        (*_binary_body({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                    "parameters": {"binary_data_size": 999}}]}, b"abc"),
         400, "past the end"),
        (*_binary_body({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                    "parameters": {"binary_data_size": 3}}]}, b"abc"),
         400, "does not fit"),  # BYTES framing: a 4-byte length prefix is missing
        (*_binary_body({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                    "parameters": {"binary_data_size": 8}}]},
                       (4).to_bytes(4, "little") + b"junk"), 400, "image[0]: cannot decode"),
        (*_binary_body({"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 8, 8, 3],
                                    "parameters": {"binary_data_size": 10}}]}, b"0" * 10),
         400, "does not fit"),
        (b"{}", {"Inference-Header-Content-Length": "999"}, 400, "does not fit"),
        (b"x" * (5 * 1024 * 1024), {}, 413, "over the limit"),
    ]  # fmt: skip
    for body, headers, status, needle in cases:
        code, text = _http_status(base, url, body, headers)
        assert (code, needle in text) == (status, True), (body[:120], code, text)
    # a chunked body (no Content-Length) is cut off at the limit while it streams in
    import http.client

    conn = http.client.HTTPConnection(server.host, server.http_port, timeout=60)
    chunks = (b"y" * (1 << 20) for _ in range(5))
    conn.request("POST", url, body=chunks, encode_chunked=True)
    resp = conn.getresponse()
    assert (resp.status, b"over the limit" in resp.read()) == (413, True)
    conn.close()
    # the curl route and v1 with garbage
    assert _http_status(base, f"/v2/models/{MODEL}/classify", b"junk")[0] == 400
    assert _http_status(base, f"/v2/models/{MODEL}/classify", _png_header(9, 9) + b"x")[0] == 400
    assert _http_status(base, f"/v1/models/{MODEL}:predict", b'{"instances": 3}')[0] == 400
    assert _http_status(base, f"/v1/models/{MODEL}:predict", b"{bad")[0] == 400
    assert _http_status(base, "/v2/models/nope/infer", b"{}")[0] == 404

    # gRPC: the same mistakes are INVALID_ARGUMENT naming the element
    from tritonclient.utils import InferenceServerException

    grpc = grpcclient.InferenceServerClient(server.grpc_url)

    def grpc_bad(inputs, needle, **kw):
        with pytest.raises(InferenceServerException) as info:
            grpc.infer(MODEL, inputs, **kw)
        assert info.value.status() == "StatusCode.INVALID_ARGUMENT", info.value
        assert needle in info.value.message(), info.value.message()

    def t(name, shape, dtype, arr):
        inp = grpcclient.InferInput(name, shape, dtype)
        inp.set_data_from_numpy(arr)
        return inp

    grpc_bad([t("image", [2], "BYTES", np.array([good, b"junk"], dtype=object))], "image[1]")
    grpc_bad([t("image", [1], "BYTES", np.array([bomb], dtype=object))], "50000x50000")
    grpc_bad([t("x", [1, 3, 8, 8], "FP32", np.zeros((1, 3, 8, 8), np.float32))], "shape")
    grpc_bad([t("pixels", [1, 2, 2, 3], "INT32", np.zeros((1, 2, 2, 3), np.int32))], "datatype")
    grpc_bad([t("image", [1], "BYTES", np.array([good], dtype=object))], "topk",
             parameters={"topk": -3})  # fmt: skip
    x = np.zeros((1, 3, 224, 224), np.float32)
    x[0, 1, 5, 5] = np.nan
    grpc_bad([t("x", [1, 3, 224, 224], "FP32", x)], "x[0]: contains NaN")
    grpc_bad([t("image", [1], "BYTES", np.array([good], dtype=object)),
              t("x", [1, 3, 224, 224], "FP32", np.zeros((1, 3, 224, 224), np.float32))],
             "exactly one input")  # fmt: skip
    n_bad = len(cases) + 1 + 5 + 7
    assert n_bad >= 30, n_bad

    # and it still answers good requests, correctly, on both protocols
    http = httpclient.InferenceServerClient(server.http_url)
    blobs = [p.read_bytes() for p in SAMPLES]
    for _ in range(3):
        _check(http.infer(MODEL, [_bytes_input(httpclient, blobs)]), reference, 4)
        _check(grpc.infer(MODEL, [_bytes_input(grpcclient, blobs)]), reference, 4)
    assert http.is_server_live() and http.is_server_ready()
