"""`lcnet-ov serve` as someone who can reach its ports sees it: the model repository API closed
by default on REST and gRPC, readiness that follows the model, API keys, and TLS on both
protocols (a self-signed certificate made here; tritonclient over HTTPS and TLS gRPC)."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import json
import ssl
import urllib.error
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
KEY = "test-key-" + "7f3a9c" * 5


def _server(xml, tmp_path, *extra, **kw) -> ServerProcess:
    env = {"LCNET_OV_HOME": str(tmp_path / "home"), "LCNET_OV_OFFLINE": "1"}
    return ServerProcess(xml, *extra, env=env, log=tmp_path / "serve.log", **kw)


def _image(module):
    inp = module.InferInput("image", [1], "BYTES")
    inp.set_data_from_numpy(np.array([PAGE.read_bytes()], dtype=object))
    return inp


def _status(srv: ServerProcess, path: str, data: bytes | None = None, **kw) -> tuple[int, str]:
    try:
        with srv.urlopen(path, data=data, **kw) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _clean_log(path: Path) -> str:
    """The server's log at the default level: our lines only, no chatter, no tracebacks."""
    text = path.read_text()
    for noise in ("Traceback", "FastAPIDeprecationWarning", " INFO ", "uvicorn.error"):
        assert noise not in text, text[-3000:]
    return text


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_model_repository_api_is_closed_by_default(orientation_xml, tmp_path):
    with _server(orientation_xml, tmp_path) as srv:
        for action in ("unload", "load"):
            code, text = _status(srv, f"/v2/repository/models/{MODEL}/{action}", b"")
            assert code == 404 and "--enable-model-control" in text, (code, text)
        grpc = grpcclient.InferenceServerClient(srv.grpc_url)
        for call in (grpc.unload_model, grpc.load_model):
            with pytest.raises(InferenceServerException) as err:
                call(MODEL)
            assert err.value.status() == "StatusCode.PERMISSION_DENIED", err.value
        # the model is still there and serving, on both protocols
        assert _status(srv, "/v2/health/ready")[0] == 200
        assert grpc.is_server_ready() and grpc.is_model_ready(MODEL)
        http = httpclient.InferenceServerClient(srv.http_url)
        for module, client in ((httpclient, http), (grpcclient, grpc)):
            assert client.infer(MODEL, [_image(module)]).as_numpy("class_ids")[0][0] == 1
        # versioned routes: 404 naming the route that works, not kserve's 501 + traceback
        code, text = _status(srv, f"/v2/models/{MODEL}/versions/1/infer", b"{}")
        assert code == 404 and f"/v2/models/{MODEL}/" in text
    assert srv.returncode == 0
    _clean_log(tmp_path / "serve.log")


def test_with_model_control_an_unloaded_model_is_not_ready(orientation_xml, tmp_path):
    """Readiness follows the model: once unloaded, /v2/health/ready and gRPC ServerReady say
    so (kserve answered ready forever, keeping a dead replica in rotation)."""
    with _server(orientation_xml, tmp_path, "--enable-model-control") as srv:
        grpc = grpcclient.InferenceServerClient(srv.grpc_url)
        assert grpc.is_server_ready()
        code, text = _status(srv, f"/v2/repository/models/{MODEL}/unload", b"")
        assert code == 200 and json.loads(text)["unload"] is True
        assert _status(srv, "/v2/health/ready")[0] == 503
        assert not grpc.is_server_ready()
        assert _status(srv, f"/v2/models/{MODEL}/ready")[0] in (404, 503)
    assert srv.returncode == 0


@pytest.fixture(scope="module")
def secure(orientation_xml, tmp_path_factory):
    folder = tmp_path_factory.mktemp("secure")
    cert, key = _self_signed(folder)
    keys = folder / "keys.txt"
    keys.write_text(f"# one key a line\n{KEY}\nsecond-key-0123456789abcdef\n")
    srv = _server(orientation_xml, folder, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
                  "--api-key-file", str(keys), api_key=KEY)  # fmt: skip
    with srv:
        yield srv, cert
    assert srv.returncode == 0
    log = _clean_log(folder / "serve.log")
    assert KEY not in log and "second-key" not in log  # keys never reach the log
    assert "https://" in log and "2 API key(s)" in log


def _https(srv, cert):
    import gevent.ssl

    return httpclient.InferenceServerClient(
        srv.http_url,
        ssl=True,
        ssl_context_factory=lambda: gevent.ssl.create_default_context(cafile=str(cert)),
    )


def _grpcs(srv, cert):
    return grpcclient.InferenceServerClient(srv.grpc_url, ssl=True, root_certificates=str(cert))


def test_tls_and_api_keys_over_https(secure):
    srv, cert = secure
    client = _https(srv, cert)
    auth = {"Authorization": f"Bearer {KEY}"}
    probs = client.infer(MODEL, [_image(httpclient)], headers=auth).as_numpy("probabilities")
    assert int(probs[0].argmax()) == 1
    second = {"Authorization": "Bearer second-key-0123456789abcdef"}
    assert client.infer(MODEL, [_image(httpclient)], headers=second) is not None
    for headers in (None, {"Authorization": f"Bearer {KEY[:-1]}"}, {"Authorization": KEY}):
        with pytest.raises(InferenceServerException) as err:
            client.infer(MODEL, [_image(httpclient)], headers=headers)
        assert "401" in str(err.value.status()), err.value
    # health stays open for probes; metadata and /metrics need the key
    assert client.is_server_ready() and client.is_server_live() and client.is_model_ready(MODEL)
    assert _status(srv, "/v2/health/ready", headers={"Authorization": ""})[0] == 200
    assert _status(srv, f"/v2/models/{MODEL}", headers={"Authorization": ""})[0] == 401
    assert _status(srv, "/metrics", headers={"Authorization": ""})[0] == 401
    code, text = _status(srv, "/metrics")  # with the key
    assert code == 200 and "lcnet_ov_batches_total" in text
    page = PAGE.read_bytes()
    assert (
        _status(srv, f"/v2/models/{MODEL}/classify", page, headers={"Authorization": ""})[0] == 401
    )
    assert (
        json.loads(_status(srv, f"/v2/models/{MODEL}/classify", page)[1])["label_names"][0] == "90"
    )
    # plain HTTP on the TLS port gets nowhere; a client that does not trust the cert neither
    plain = httpclient.InferenceServerClient(srv.http_url, network_timeout=10)
    with pytest.raises(Exception):  # noqa: B017 (connection reset / bad response, by version)
        plain.is_server_live()
    with pytest.raises(ssl.SSLError):
        ssl.create_default_context().wrap_socket(
            __import__("socket").create_connection((srv.host, srv.http_port), 10),
            server_hostname="127.0.0.1",
        )


def test_tls_and_api_keys_over_grpc(secure):
    srv, cert = secure
    client = _grpcs(srv, cert)
    auth = {"authorization": f"Bearer {KEY}"}
    res = client.infer(MODEL, [_image(grpcclient)], headers=auth)
    assert int(res.as_numpy("class_ids")[0][0]) == 1
    assert client.get_model_metadata(MODEL, headers=auth).name == MODEL
    for headers in (None, {"authorization": "Bearer wrong-key-0123456789"}):
        with pytest.raises(InferenceServerException) as err:
            client.infer(MODEL, [_image(grpcclient)], headers=headers)
        assert err.value.status() == "StatusCode.UNAUTHENTICATED", err.value
    with pytest.raises(InferenceServerException) as err:
        client.get_model_metadata(MODEL)
    assert err.value.status() == "StatusCode.UNAUTHENTICATED"
    assert client.is_server_ready() and client.is_model_ready(MODEL)  # health: no key
    # the repository API stays closed even with a key
    with pytest.raises(InferenceServerException) as err:
        client.unload_model(MODEL, headers=auth)
    assert err.value.status() == "StatusCode.PERMISSION_DENIED"
    # an insecure channel to the TLS port fails
    plain = grpcclient.InferenceServerClient(srv.grpc_url)
    with pytest.raises(InferenceServerException):
        plain.is_server_live(client_timeout=5)
