"""Every optional dependency the tests use imports cleanly (in CI: must, see LCNET_OV_REQUIRE).

Without this, a broken install shows up only as skips (fixtures) or as silently weaker checks
(conversion verification without ONNX Runtime). Here it is one failing line per package.
"""

from __future__ import annotations

import pytest
from conftest import REQUIRABLE, required


@pytest.mark.parametrize("dependency", [k for k, v in REQUIRABLE.items() if v is not None])
def test_optional_dependency_imports(dependency, need):
    module = need(dependency)
    assert module.__name__ == REQUIRABLE[dependency]


def test_required_names_are_known(monkeypatch):
    monkeypatch.setenv("LCNET_OV_REQUIRE", "paddle, rapid")
    assert required() == {"paddle", "rapid"}
    monkeypatch.setenv("LCNET_OV_REQUIRE", "paddel")
    with pytest.raises(pytest.UsageError, match="paddel"):
        required()


def test_a_required_dependency_fails_instead_of_skipping(monkeypatch, need):
    monkeypatch.setitem(REQUIRABLE, "nosuchpkg", "lcnet_ov_no_such_package")
    with pytest.raises(pytest.skip.Exception, match="cannot be imported"):
        need("nosuchpkg")
    monkeypatch.setenv("LCNET_OV_REQUIRE", "nosuchpkg")
    with pytest.raises(pytest.fail.Exception, match="LCNET_OV_REQUIRE requires nosuchpkg"):
        need("nosuchpkg")
