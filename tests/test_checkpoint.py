"""``.pdparams`` loading never runs code from the pickle."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from lcnet_ov.errors import InvalidModelFileError, UnsafeCheckpointError
from lcnet_ov.export.checkpoint import load_into, load_pdparams, save_pdparams


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_paddle_saved_state_dict_loads(paddle_models):
    path = paddle_models.pdparams(0.25)
    state = load_pdparams(path)
    net = paddle_models.net(0.25)
    assert set(state) == set(net.state_dict())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(state[k], v.numpy())


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pdparams"
    path.write_bytes(pickle.dumps({"fc.weight": _Evil(str(marker))}))
    with pytest.raises(UnsafeCheckpointError, match=r"posix\.system|os\.system"):
        load_pdparams(path)
    assert not marker.exists()


def test_arbitrary_class_is_refused(tmp_path):
    path = tmp_path / "obj.pdparams"
    path.write_bytes(pickle.dumps({"x": InvalidModelFileError("boom")}))
    with pytest.raises(UnsafeCheckpointError, match=r"lcnet_ov\.errors"):
        load_pdparams(path)


def test_not_a_pickle(tmp_path):
    path = tmp_path / "garbage.pdparams"
    path.write_bytes(b"\x00\x01 this is not a checkpoint")
    with pytest.raises(InvalidModelFileError, match=r"garbage\.pdparams"):
        load_pdparams(path)


def test_non_dict_and_non_array_entries(tmp_path):
    path = tmp_path / "list.pdparams"
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(InvalidModelFileError, match="state dict"):
        load_pdparams(path)
    path.write_bytes(pickle.dumps({"a": [1.0]}))
    with pytest.raises(InvalidModelFileError, match="not an array"):
        load_pdparams(path)


def test_shape_mismatch_names_the_parameter(tmp_path, paddle_models):
    state = load_pdparams(paddle_models.pdparams(0.25))
    state["fc.bias"] = np.zeros(10, np.float32)
    state["fc.weight"] = np.zeros((1280, 10), np.float32)
    with pytest.raises(InvalidModelFileError, match=r"fc\.(bias|weight) has shape"):
        load_into(paddle_models.net(0.25, seed=5), state, "ckpt")


def test_save_roundtrip(tmp_path):
    state = {"a": np.arange(6, dtype=np.float32).reshape(2, 3)}
    save_pdparams(state, tmp_path / "s.pdparams")
    np.testing.assert_array_equal(load_pdparams(tmp_path / "s.pdparams")["a"], state["a"])
