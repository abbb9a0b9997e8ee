"""The SDK's one ``openvino.Core`` keeps every thread's alternate signal stack valid.

Background in ``lcnet_ov/runtime/core.py``: each Core's CPU plugin installs an alternate
signal stack and unmaps it on release, so Cores released out of order leave a thread whose
next signal (Ctrl-C, SIGTERM) is written into unmapped or reused memory. Each check runs in a
fresh interpreter, so what earlier tests did to this process's stacks cannot hide or fake it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lcnet_ov.runtime.core import shared_core

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux signal stacks")

_PRELUDE = textwrap.dedent(
    """
    import gc, signal, sys, threading
    import numpy as np
    from lcnet_ov.runtime.core import alternate_signal_stack, shared_core

    xml = sys.argv[1]

    def mapped(stack):
        lo, size = stack
        for line in open("/proc/self/maps"):
            a, b = (int(v, 16) for v in line.split()[0].split("-"))
            if a <= lo and lo + size <= b:
                return True
        return False

    shared_core()
    base = alternate_signal_stack()
    assert base is not None and mapped(base), base
    """
)

_SDK = textwrap.dedent(
    """
    from lcnet_ov.runtime.async_classifier import AsyncClassifier
    from lcnet_ov.runtime.classifier import Classifier
    from lcnet_ov.export.verify import openvino_inference

    page = np.full((96, 96, 3), 200, np.uint8)
    a = Classifier(xml)
    b = AsyncClassifier(xml)
    other = []  # one made on another thread, released on this one
    t = threading.Thread(target=lambda: other.append(Classifier(xml, threads=1)))
    t.start(); t.join()
    a(page); b.submit(page).result(); other[0](page)
    a.close(); del a; gc.collect()  # released first, though made first: not LIFO
    other[0].close(); other.clear(); gc.collect()
    b.close(); del b; gc.collect()
    openvino_inference(xml, np.zeros((1, 3, 224, 224), np.float32))
    now = alternate_signal_stack()
    assert now == base, (now, base)
    hits = []
    signal.signal(signal.SIGUSR1, lambda *_: hits.append(1))
    for _ in range(50):
        signal.raise_signal(signal.SIGUSR1)
    assert len(hits) == 50
    print("same stack, 50 signals handled")
    """
)

_OWN_CORES = textwrap.dedent(
    """
    import openvino as ov

    ca = ov.Core(); ma = ca.compile_model(xml, "CPU")
    cb = ov.Core(); mb = cb.compile_model(xml, "CPU")
    del ma, ca; gc.collect()
    del mb, cb; gc.collect()
    now = alternate_signal_stack()
    print("moved" if now != base else "kept", "mapped" if now and mapped(now) else "unmapped")
    """
)


def _run(body: str, xml: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + body, str(xml)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_sdk_objects_released_out_of_order_keep_the_signal_stack(orientation_xml):
    done = _run(_SDK, orientation_xml)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "50 signals handled" in done.stdout


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_separate_cores_released_out_of_order_leave_a_dangling_stack(orientation_xml):
    """The OpenVINO behaviour the shared Core works around, shown with plain Cores. If this
    starts printing "kept", OpenVINO fixed its plugin and the note in runtime/core.py can go."""
    done = _run(_OWN_CORES, orientation_xml)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["moved", "unmapped"], done.stdout


def test_shared_core_is_one_object_across_threads():
    import threading

    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(shared_core())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1 and seen[0] is shared_core()
