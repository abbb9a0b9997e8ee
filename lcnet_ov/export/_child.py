"""Run chatty native work (paddle2onnx, Paddle Inference) in a child interpreter.

Paddle and paddle2onnx print straight to file descriptors 1 and 2 from C++, so their output
cannot be silenced from Python without redirecting those descriptors, and that is process-wide
state: it swallows every other thread's output for the duration and races when two threads
convert at once. ``Classifier("model.onnx")`` can reach a conversion from a constructor inside
someone's server, so the work runs in a child process instead, with its stdout and stderr
captured through pipes. Its output comes back as text, which error messages quote.

The child is ``python -m lcnet_ov.export._child REQUEST RESULT``, not :mod:`multiprocessing`: a
spawned
``multiprocessing`` child re-imports the caller's main script, which breaks (or recurses) in
scripts without an ``if __name__ == "__main__"`` guard. Arguments and results go through pickle
files in a private temporary folder. Costs one interpreter start plus the imports (about 1.6 s
with Paddle on a 2-core Xeon).
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: the folder that holds the ``lcnet_ov`` package: the child must import this very copy
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: a child that has not answered by then is stuck (a converter waiting on a lock, a wedged
#: native library): it is killed and the call fails, rather than hanging a CLI or a server
#: start forever. Converting the largest scale with verification takes ~40 s on 2 cores.
ENV_CHILD_TIMEOUT = "LCNET_OV_CHILD_TIMEOUT"
DEFAULT_CHILD_TIMEOUT_S = 900.0


def child_timeout_s() -> float:
    """The child-process time limit: ``$LCNET_OV_CHILD_TIMEOUT`` seconds, else 15 minutes."""
    try:
        value = float(os.environ.get(ENV_CHILD_TIMEOUT, "") or DEFAULT_CHILD_TIMEOUT_S)
    except ValueError:
        return DEFAULT_CHILD_TIMEOUT_S
    return value if value > 0 else DEFAULT_CHILD_TIMEOUT_S


def call_in_child(target: str, *args: Any, error: type[Exception], what: str) -> tuple[Any, str]:
    """``module:function(*args)`` in a fresh interpreter: ``(its return value, its output)``.

    Domain errors raised in the child (an lcnet_ov error such as a missing extra) are raised
    here as they are; anything else becomes ``error`` with ``what`` and the tail of the
    child's output.
    """
    from ..errors import LcnetOVError

    with tempfile.TemporaryDirectory(prefix="lcnet-ov-child-") as tmp:
        request, result = Path(tmp) / "request.pkl", Path(tmp) / "result.pkl"
        request.write_bytes(pickle.dumps((target, args)))
        path = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
        limit = child_timeout_s()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "lcnet_ov.export._child", str(request), str(result)],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
                check=False,
                timeout=limit,
            )
        except subprocess.TimeoutExpired as exc:
            tail = ((exc.stdout or b"") + (exc.stderr or b"")).decode("utf-8", "replace")
            raise error(
                f"{what} did not finish within {limit:.0f} s and was stopped "
                f"(raise ${ENV_CHILD_TIMEOUT} for a slower machine)\n{tail[-1500:]}"
            ) from None
        log = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        if not result.is_file():
            raise error(f"{what} crashed (exit code {proc.returncode})\n{log[-1500:]}")
        ok, value = pickle.loads(result.read_bytes())
    if ok:
        return value, log
    if isinstance(value, LcnetOVError):
        raise value
    raise error(f"{what} failed: {value}\n{log[-1500:]}")


def _main(request: str, result: str) -> None:
    target, args = pickle.loads(Path(request).read_bytes())
    module, name = target.split(":")
    try:
        outcome: tuple[bool, Any] = (True, getattr(importlib.import_module(module), name)(*args))
    except BaseException as exc:  # paddle2onnx raises bare Exceptions, or exits
        try:
            pickle.loads(pickle.dumps(exc))  # some exception types do not survive the trip
            outcome = (False, exc)
        except Exception:
            outcome = (False, f"{type(exc).__name__}: {exc}")
    Path(result).write_bytes(pickle.dumps(outcome))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
