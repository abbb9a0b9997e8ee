"""Fast decode: JPEGs decoded at 1/2, 1/4 or 1/8 scale in the DCT domain when the short side
stays at or above what the resize needs; everything else decodes in full."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov.inputs.decode import decode_image, reduced_decode_flag


def _jpeg(w: int, h: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(h // 64, 2), max(w // 64, 2), 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    ("w", "h", "need", "factor"),
    [
        (4032, 3024, 256, 8),  # 504x378: short side 378 >= 256
        (4032, 3024, 384, 4),  # 1/8 gives 378 < 384
        (1024, 768, 256, 2),  # 1/4 gives 192
        (500, 375, 256, 1),  # ImageNet-size: never reduced
        (2050, 2049, 256, 8),  # ceil(2049 / 8) = 257
        (2047, 2047, 256, 8),  # ceil(2047 / 8) = 256: exactly enough
        (2040, 2040, 256, 4),  # 2040 / 8 = 255: one short
    ],
)
def test_reduction_is_the_largest_that_keeps_the_short_side(w, h, need, factor):
    assert reduced_decode_flag(w, h, need)[0] == factor


def test_camera_jpeg_decodes_at_the_reduced_size_and_close_to_a_full_decode():
    data = _jpeg(4032, 3024)
    full = decode_image(data)
    fast = decode_image(data, min_short_side=256)
    assert full.shape == (3024, 4032, 3)
    assert fast.shape == (378, 504, 3)
    # same picture: the full decode area-averaged to the same size is within a few levels
    ref = cv2.resize(full, (504, 378), interpolation=cv2.INTER_AREA)
    assert np.abs(ref.astype(int) - fast.astype(int)).mean() < 3.0


def test_non_jpeg_and_small_images_decode_in_full():
    img = np.random.default_rng(1).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
    png = cv2.imencode(".png", img)[1].tobytes()
    assert np.array_equal(decode_image(png, min_short_side=256), img)
    small = _jpeg(500, 375)
    assert np.array_equal(decode_image(small, min_short_side=256), decode_image(small))


def test_pixel_limit_still_applies_to_the_full_size():
    from lcnet_ov.errors import ImageTooLargeError

    with pytest.raises(ImageTooLargeError, match="4032x3024"):
        decode_image(_jpeg(4032, 3024), min_short_side=256, max_pixels=4032 * 3024 - 1)


@pytest.fixture(scope="module")
def camera_page(tmp_path_factory) -> Path:
    """A rendered text page at camera size (4032×3024), turned 90°: a real input for the real
    text-orientation model where fast decode takes the 1/8 reduction."""
    from lcnet_ov.testing import CLEAN, render_page

    page = render_page(np.random.default_rng(7), CLEAN)
    big = cv2.resize(page, (4032, 3024), interpolation=cv2.INTER_CUBIC)
    path = tmp_path_factory.mktemp("camera") / "page.jpg"
    cv2.imwrite(str(path), cv2.rotate(big, cv2.ROTATE_90_CLOCKWISE), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


@pytest.mark.slow
def test_runtimes_decode_reduced_only_when_asked(orientation_xml, camera_page):
    from lcnet_ov import AsyncClassifier, Classifier

    reduced = decode_image(camera_page, min_short_side=256)
    assert reduced.shape[:2] == (504, 378)  # turned: 3024 wide, 4032 high, 1/8
    with (
        Classifier(orientation_xml) as exact,
        Classifier(orientation_xml, fast_decode=True) as fast,
    ):
        p_exact = exact.predict_probs([camera_page])[0]
        p_fast = fast.predict_probs([camera_page])[0]
        # fast decode is the reduced decode followed by the usual pipeline, bit for bit
        assert np.array_equal(p_fast, exact.predict_probs([reduced])[0])
        assert not np.array_equal(p_fast, p_exact)  # and it did change the input
        assert exact.labels[int(p_fast.argmax())] == exact.labels[int(p_exact.argmax())] == "90"
    # exact by default here too (lcnet_ov.policy), fast when asked
    with AsyncClassifier(orientation_xml, fold_preprocessing=False) as pool:
        assert abs(pool.submit(camera_page).result(timeout=60).scores[0] - p_exact.max()) <= 1e-6
    with AsyncClassifier(orientation_xml, fold_preprocessing=False, fast_decode=True) as pool:
        assert np.allclose(pool.submit(camera_page).result(timeout=60).scores[0], p_fast.max())


@pytest.mark.slow
def test_cli_fast_decode_flag(orientation_xml, camera_page, capsys):
    import json

    from lcnet_ov.cli import main

    rows = []
    for extra in ([], ["--fast-decode"], ["--exact-decode"]):
        assert main(["infer", "-m", str(orientation_xml), str(camera_page), "--json", *extra]) == 0
        rows.append(json.loads(capsys.readouterr().out))
    assert rows[0]["label_names"][0] == rows[1]["label_names"][0] == "90"
    assert rows[0]["scores"] != rows[1]["scores"]
    assert rows[2] == rows[0]  # exact is the local default
