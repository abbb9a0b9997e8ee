"""Where the cache keeps things: one module computes every path under ``$LCNET_OV_HOME``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lcnet_ov import paths, zoo


@pytest.fixture(autouse=True)
def _own_home(monkeypatch, tmp_path):
    """These tests write into the cache: a private one, never the session's shared one."""
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))


def test_home_defaults_to_the_platform_cache_folder(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("LCNET_OV_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # honoured on Linux
    assert paths.home() == Path(platformdirs.user_cache_dir("lcnet-ov", appauthor=False))
    if sys.platform.startswith("linux"):
        assert paths.home() == tmp_path / "xdg" / "lcnet-ov"


def test_env_overrides_home_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "a"))
    first = paths.ir_path("PPLCNet_x1_0", "int8")
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "b"))
    assert first == tmp_path / "a" / "ir" / "PPLCNet_x1_0" / "int8" / "model.xml"
    assert paths.ir_path("PPLCNet_x1_0").parent.parent.parent.parent == tmp_path / "b"
    assert paths.compiled_cache_dir() == tmp_path / "b" / "compiled"


def test_download_slots_follow_the_spec():
    spec = zoo.get_spec("PPLCNet_x1_0")
    assert paths.archive_path(spec) == paths.downloads_dir() / spec.archive_name
    assert paths.archive_lock(spec).parent == paths.downloads_dir()
    assert paths.model_dir(spec) == paths.home() / "models" / spec.name / spec.archive_dir


def test_conversion_precision_folders():
    assert paths.conversion_precision(compress_to_fp16=False, embed_preprocessing=False) == "fp32"
    assert paths.conversion_precision(compress_to_fp16=True, embed_preprocessing=True) == "fp16-u8"


def test_converted_precisions_lists_complete_irs_only():
    name = "PPLCNet_x0_25"
    assert paths.converted_precisions(name) == []
    for precision, complete in (("fp32", True), ("int8", True), ("fp16", False)):
        xml = paths.ir_path(name, precision)
        xml.parent.mkdir(parents=True)
        xml.write_text("<net/>")
        if complete:
            xml.with_suffix(".bin").write_bytes(b"")
    assert paths.converted_precisions(name) == ["fp32", "int8"]


def test_fingerprint_changes_when_the_source_changes(tmp_path):
    src = tmp_path / "model.onnx"
    src.write_bytes(b"one")
    before = paths.converted_ir_path(src)
    assert paths.converted_ir_path(src) == before  # stable while nothing changes
    src.write_bytes(b"three")
    after = paths.converted_ir_path(src)
    assert after != before
    assert after.parent.parent == paths.peer_onnx_path(src).parent.parent


def test_int8_sibling_of_each_kind_of_model(tmp_path):
    assert paths.int8_ir_path(tmp_path / "fp32" / "model.xml") == tmp_path / "int8" / "model.xml"
    assert paths.int8_ir_path(tmp_path / "net.xml") == tmp_path / "net-int8.xml"
    src = tmp_path / "m.onnx"
    src.write_bytes(b"x")
    assert paths.int8_ir_path(src) == paths.converted_ir_path(src, "int8")
    assert paths.int8_ir_path("PPLCNet_x1_0") == paths.ir_path("PPLCNet_x1_0", "int8")
    with pytest.raises(Exception, match="nosuchmodel"):
        paths.int8_ir_path("nosuchmodel")


def test_asking_for_int8_does_not_import_quantization(tmp_path):
    import subprocess

    code = (
        "import sys; from lcnet_ov.export.resolve import resolve_ir\n"
        "try:\n    resolve_ir('PPLCNet_x1_0', 'int8')\n"
        "except Exception as e:\n    print(type(e).__name__)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('lcnet_ov.calibration', "
        "'lcnet_ov.export.quantization', 'nncf'))))"
    )
    env = dict(os.environ, LCNET_OV_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ModelNotConvertedError", "[]"]
