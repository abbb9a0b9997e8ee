"""PaddleClas training checkpoints (``.pdparams``) and Paddle inference-model export.

A ``.pdparams`` file is a pickle. Unpickling runs arbitrary code, so we never use a general
unpickler: :class:`_RestrictedUnpickler` resolves only the handful of globals that numpy arrays
and plain containers need, and refuses everything else with :class:`UnsafeCheckpointError`.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidModelFileError, UnsafeCheckpointError

try:  # numpy 2 moved the core to numpy._core; numpy.core still works but warns on access
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

# (module, name) pairs a Paddle state dict legitimately references when pickled by paddle.save
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # pickles name the module of the numpy that wrote them: either spelling maps to this one
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("builtins", "tuple"): tuple,
    ("builtins", "list"): list,
    ("builtins", "dict"): dict,
    ("_codecs", "encode"): __import__("codecs").encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: io.BufferedIOBase, source: str) -> None:
        super().__init__(fh)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafeCheckpointError(
                f"{self._source}: refusing to load: the pickle references {module}.{name}, "
                "which a Paddle state dict never needs (only numpy arrays and containers are "
                "accepted). Re-save it with paddle.save(model.state_dict(), path) if you trust it."
            )
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeCheckpointError(f"{self._source}: persistent references are not accepted")


def load_pdparams(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``.pdparams`` state dict as ``{name: float array}`` without trusting the pickle."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidModelFileError(f"{path}: cannot read checkpoint ({exc.strerror})") from exc
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), str(path)).load()
    except UnsafeCheckpointError:
        raise
    except Exception as exc:
        raise InvalidModelFileError(
            f"{path}: not a Paddle .pdparams checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(obj, dict):
        raise InvalidModelFileError(
            f"{path}: expected a state dict, found a pickled {type(obj).__name__}"
        )
    state: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if key == "StructuredToParameterName@@":  # paddle.save bookkeeping, not a tensor
            continue
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise InvalidModelFileError(
                f"{path}: entry {key!r} is a {type(value).__name__}, not an array"
            )
        state[key] = value
    return state


def load_into(net: Any, state: dict[str, np.ndarray], source: str) -> None:
    """Copy ``state`` into a Paddle layer, checking names and shapes first."""
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        detail = []
        if missing:
            detail.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            detail.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        raise InvalidModelFileError(
            f"{source}: parameters do not match this PP-LCNet: {'; '.join(detail)}. "
            "Check the model name/scale (--model) and the number of classes (--num-classes)."
        )
    for name, tensor in own.items():
        if tuple(tensor.shape) != tuple(state[name].shape):
            raise InvalidModelFileError(
                f"{source}: {name} has shape {tuple(state[name].shape)}, the model expects "
                f"{tuple(tensor.shape)}. Check the model scale and --num-classes."
            )
    net.set_state_dict({k: v.astype(np.float32, copy=False) for k, v in state.items()})


def save_pdparams(state: dict[str, np.ndarray], path: str | Path) -> None:
    """Write a state dict the way ``paddle.save`` does for numpy values (a plain pickle)."""
    with open(path, "wb") as fh:
        pickle.dump(dict(state), fh, protocol=2)


def export_inference_model(
    net: Any, out_dir: str | Path, input_size: int = 224, pir: bool = False
) -> Path:
    """Save ``net`` + Softmax as PaddleClas' ``tools/export_model.py`` does.

    Writes ``inference.pdmodel`` (legacy program, default) or ``inference.json`` (``pir=True``,
    Paddle 3's default format) plus ``inference.pdiparams`` under ``out_dir``; returns it.
    Paddle cannot switch program formats inside one process (its executor crashes), and the
    mode is fixed by ``FLAGS_enable_pir_api`` when Paddle is first imported, so an export in the
    other format runs in a child process.
    """
    from .._deps import require

    paddle = require("paddle", extra="convert")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if bool(pir) != _process_uses_pir(paddle):
        return _export_in_child(net, out_dir, input_size, pir)
    from .paddle_arch import InferenceModel

    model = InferenceModel(net)
    model.eval()
    spec = [paddle.static.InputSpec([None, 3, input_size, input_size], "float32", "x")]
    static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(out_dir / "inference"))
    return out_dir


def _process_uses_pir(paddle: Any) -> bool:
    return bool(paddle.get_flags("FLAGS_enable_pir_api")["FLAGS_enable_pir_api"])


def _export_in_child(net: Any, out_dir: Path, input_size: int, pir: bool) -> Path:
    import os
    import subprocess
    import sys
    import tempfile

    state = {k: v.numpy() for k, v in net.state_dict().items()}
    num_classes = int(state["fc.bias"].shape[0])
    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "state.pdparams"
        save_pdparams(state, params)
        env = dict(os.environ, FLAGS_enable_pir_api="1" if pir else "0")
        cmd = [sys.executable, "-m", "lcnet_ov.export.checkpoint", str(net.scale), str(num_classes)]
        cmd += [str(params), str(out_dir), str(input_size)]
        from ..errors import ConversionError
        from ._child import ENV_CHILD_TIMEOUT, child_timeout_s

        limit = child_timeout_s()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            raise ConversionError(
                f"Paddle export did not finish within {limit:.0f} s and was stopped "
                f"(raise ${ENV_CHILD_TIMEOUT} for a slower machine)"
            ) from None
    if proc.returncode != 0:
        raise ConversionError(f"Paddle export failed: {proc.stderr.strip()[-2000:]}")
    return out_dir


def _main(argv: list[str]) -> None:
    """Child-process entry of :func:`_export_in_child`: scale classes params out size.

    The parent sets ``FLAGS_enable_pir_api`` in the environment, which picks the format.
    """
    import paddle

    from .paddle_arch import InferenceModel, build

    scale, classes, params, out_dir, size = argv
    net = build(float(scale), int(classes))
    load_into(net, load_pdparams(params), params)
    model = InferenceModel(net)
    model.eval()
    spec = [paddle.static.InputSpec([None, 3, int(size), int(size)], "float32", "x")]
    static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(Path(out_dir) / "inference"))


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
