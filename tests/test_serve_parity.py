"""A served answer is `lcnet-ov infer`'s answer for the same file and options, on a camera-size
(12 MP) JPEG, where fast decode would change it (the server used to decode fast by default and
differ by up to 4.7e-4 there, and by up to 0.31 on ordinary photos)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

httpclient = pytest.importorskip("tritonclient.http")
if importlib.util.find_spec("kserve") is None:  # not imported: its protos clash with tritonclient's
    pytest.skip("kserve is not installed (pip install -e .[serve])", allow_module_level=True)

from lcnet_ov import Classifier  # noqa: E402
from lcnet_ov.cli import main  # noqa: E402
from lcnet_ov.testing.server import ServerProcess  # noqa: E402

pytestmark = pytest.mark.slow
PAGE = Path(__file__).resolve().parents[1] / "samples" / "images" / "page_90deg.jpg"
MODEL = "text_image_orientation"


@pytest.fixture(scope="module")
def camera_jpeg(tmp_path_factory) -> Path:
    """A 4000x3000 JPEG (12 MP), as a phone photographs a page."""
    page = cv2.imread(str(PAGE))
    big = cv2.resize(page, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(-6, 7, big.shape, dtype=np.int16)
    big = np.clip(big.astype(np.int16) + noise, 0, 255).astype(np.uint8)  # camera grain
    path = tmp_path_factory.mktemp("camera") / "camera.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def _infer_cli(xml: Path, path: Path, flags: list[str], capsys) -> dict:
    capsys.readouterr()
    assert main(["infer", "--model", str(xml), "--json", "-k", "4", *flags, str(path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    return json.loads(line)


def _served(xml: Path, tmp_path: Path, path: Path, flags: list[str]) -> np.ndarray:
    env = {"LCNET_OV_HOME": str(tmp_path / "home"), "LCNET_OV_OFFLINE": "1"}
    with ServerProcess(xml, *flags, env=env, log=tmp_path / "serve.log") as srv:
        client = httpclient.InferenceServerClient(srv.http_url, network_timeout=120)
        inp = httpclient.InferInput("image", [1], "BYTES")
        inp.set_data_from_numpy(np.array([path.read_bytes()], dtype=object))
        probs = client.infer(MODEL, [inp]).as_numpy("probabilities")[0]
    assert srv.returncode == 0
    return probs


@pytest.mark.parametrize(
    ("serve_flags", "infer_flags", "kwargs"),
    [
        ([], [], {}),
        (["--fast-decode", "--fold-preprocessing"], ["--fast-decode", "--fold-preprocessing"],
         {"fast_decode": True, "fold_preprocessing": True}),
    ],
    ids=["defaults", "fast-folded"],
)  # fmt: skip
def test_served_answer_equals_infer_on_a_12mp_jpeg(
    orientation_xml, camera_jpeg, tmp_path, capsys, serve_flags, infer_flags, kwargs
):
    served = _served(orientation_xml, tmp_path, camera_jpeg, serve_flags)
    with Classifier(orientation_xml, **kwargs) as clf:  # what `infer` runs, full precision
        want = clf.predict_probs([str(camera_jpeg)])[0]
    np.testing.assert_allclose(served, want, atol=1e-6, rtol=0)
    row = _infer_cli(orientation_xml, camera_jpeg, infer_flags, capsys)  # rounded to 5 places
    order = np.argsort(-served, kind="stable")
    assert row["class_ids"] == order.tolist() and row["label_names"][0] == "90"
    assert np.abs(np.array(row["scores"]) - served[order]).max() <= 5e-6 + 1e-7
    with Classifier(orientation_xml, fast_decode=not kwargs) as other:  # the other decode
        assert np.abs(other.predict_probs([str(camera_jpeg)])[0] - served).max() > 1e-5
