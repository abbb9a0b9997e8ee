"""The public API: every name in ``lcnet_ov.__all__`` resolves; importing the package is light."""

from __future__ import annotations

import subprocess
import sys

import lcnet_ov


def test_every_public_name_resolves():
    missing = [name for name in lcnet_ov.__all__ if getattr(lcnet_ov, name, None) is None]
    assert missing == []


def test_import_is_light():
    heavy = ("openvino", "paddle", "nncf", "cv2")
    code = f"import sys, lcnet_ov; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_domain_exception_is_exported_from_errors():
    """The CLI's one-line handler catches ``LcnetOVError``: each library error must be one."""
    import inspect

    from lcnet_ov import errors

    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, errors.LcnetOVError)
    }
    assert defined <= set(lcnet_ov.__all__)
    for module in (
        "runtime.loaded_model",
        "runtime.async_classifier",
        "runtime.locate",
        "export.quantization",
        "runtime.evaluation",
        "inputs.datasets",
        "bench",
    ):
        mod = __import__(f"lcnet_ov.{module}", fromlist=["_"])
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, errors.LcnetOVError):
                assert obj.__module__ == "lcnet_ov.errors", f"{module}.{name} is defined there"
