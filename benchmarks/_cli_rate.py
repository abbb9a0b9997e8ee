"""The steady rate of ``lcnet-ov infer DIR``: whole-process time on N images minus on 1.

``(N - 1) / (T(N) - T(1))`` (issue 24's definition): the command's start-up (imports, model
load or compile-cache read) is in both runs and cancels, and what is left is the rate at which
the command classifies a folder once running. Both runs go through the same code path (a folder,
of N images or of one), as fresh interpreters with this checkout's ``lcnet_ov`` first on the
path, output discarded.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import REPO


def link_folder(files: list[Path], folder: Path) -> Path:
    """``folder`` holding symlinks to ``files`` (created once; a folder input for ``infer``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        link = folder / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    return folder


def infer_seconds(args: list[str]) -> float:
    """Wall seconds of ``python -m lcnet_ov infer ARGS`` (must succeed)."""
    return infer_times(args)[0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def infer_times(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (all threads, user + system) of ``python -m lcnet_ov infer ARGS``."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lcnet_ov", "infer", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"lcnet-ov infer {' '.join(args)} failed: {done.stderr[-2000:]}")
    return seconds, cpu


def steady_rate(options: list[str], folder: Path, one: Path, n: int) -> float:
    """Images/s of ``infer OPTIONS folder`` once started (see the module docstring)."""
    return steady(options, folder, one, n)[0]


def steady(options: list[str], folder: Path, one: Path, n: int) -> tuple[float, float]:
    """The steady rate and the steady CPU cost, ``(CPU(N) - CPU(1)) / (N - 1)`` in ms per
    image (the whole process, every thread): what one more image costs once started."""
    t1, c1 = infer_times([*options, str(one)])
    tn, cn = infer_times([*options, str(folder)])
    return (n - 1) / max(tn - t1, 1e-3), 1000 * (cn - c1) / (n - 1)
