"""Native chatter (paddle2onnx, Paddle Inference) runs in a child interpreter: this process's
file descriptors 1/2 are never redirected, so other threads' output survives a conversion."""

from __future__ import annotations

import os

import pytest

from lcnet_ov.errors import ConversionError, UnknownModelError
from lcnet_ov.export._child import call_in_child


def test_value_and_output_come_back():
    value, log = call_in_child(
        "lcnet_ov.export.arch:complexity", 1.0, error=ConversionError, what="x"
    )
    from lcnet_ov.export.arch import complexity

    assert value == complexity(1.0)
    _, log = call_in_child(
        "builtins:print", "hello from the child", error=ConversionError, what="x"
    )
    assert "hello from the child" in log


def test_domain_errors_pass_through_others_become_the_given_type():
    with pytest.raises(UnknownModelError):
        call_in_child("lcnet_ov.zoo:get_spec", "PPLCNet_x9_9", error=ConversionError, what="x")
    with pytest.raises(ConversionError, match=r"json.loads failed: .*Expecting value"):
        call_in_child("json:loads", "not json", error=ConversionError, what="json.loads")


@pytest.mark.slow
def test_paddle_conversion_leaves_this_process_fds_alone(paddle_models, tmp_path, monkeypatch):
    from lcnet_ov.export.conversion import convert

    redirected: list[int] = []
    real_dup2 = os.dup2

    def spy(fd: int, fd2: int, *args, **kwargs):
        redirected.append(fd2)
        return real_dup2(fd, fd2, *args, **kwargs)

    monkeypatch.setattr(os, "dup2", spy)
    folder = paddle_models.inference_dir(0.25, seed=3)
    result = convert(folder, tmp_path / "m.xml")  # paddle2onnx + Paddle Inference check
    assert result.verification is not None and result.verification.passed
    assert not {1, 2} & set(redirected)
