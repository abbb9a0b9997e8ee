"""The process's one ``openvino.Core``: every compile, property query and read in the SDK uses it.

Why one, and why it is never released (measured on OpenVINO 2026.4, AMD EPYC AVX2 machine):
each ``ov.Core`` loads its own CPU plugin, and the plugin's constructor installs an alternate
signal stack on the thread that loads it (``SigAltStackSetup`` in the plugin's
``sigstack_manager.cpp``: ``mmap`` + ``sigaltstack``, remembering the previous one). Its
destructor *unmaps* that stack, but restores the previous one only when it is still the
current stack of the thread that destroys it. So two Cores released out of order (A loaded,
B loaded, A released, B released: B "restores" A, already unmapped) or a Core released on
another thread than the one that loaded it leave a thread whose alternate signal stack points
at unmapped memory, or at memory Python has since reused. CPython installs its signal handlers
with ``SA_ONSTACK``, so the next Ctrl-C or SIGTERM delivered to that thread makes the kernel
write its signal frame there: a segmentation fault, or silently corrupted interpreter frames.
The test suite hit it here 1 run in 3 (a SIGINT after tests that had used several Cores).

With one Core whose CPU plugin is loaded once and lives until the process exits, the SDK's own
work never frees a signal stack. Cores that user code creates itself stack on top of it and
are safe as long as they are released in reverse order on the thread that made them;
:func:`alternate_signal_stack` lets a test or a bug report check a thread's state.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from typing import Any

_SS_DISABLE = 2


class _StackT(ctypes.Structure):
    _fields_ = [
        ("ss_sp", ctypes.c_void_p),
        ("ss_flags", ctypes.c_int),
        ("ss_size", ctypes.c_size_t),
    ]


_lock = threading.Lock()
_core: Any = None


def shared_core() -> Any:
    """The process-wide ``openvino.Core`` (created on first use, kept until exit).

    Compile settings go to each ``compile_model`` call, never ``set_property`` on this Core,
    so callers with different settings share it safely.
    """
    global _core
    with _lock:  # two threads asking at once must not build two Cores
        if _core is None:
            import openvino as ov

            core = ov.Core()
            # Load the CPU plugin now, on this thread, so that its signal stack is the one
            # that stays (a first compile on a worker thread would put it there). No CPU
            # plugin (a broken install): the compile that follows says so, with context.
            with contextlib.suppress(RuntimeError):
                core.get_property("CPU", "FULL_DEVICE_NAME")
            _core = core
        return _core


def alternate_signal_stack() -> tuple[int, int] | None:
    """The calling thread's alternate signal stack as ``(address, size)``; ``None`` if none.

    Linux only (``None`` elsewhere). Used by the tests that keep the invariant above.
    """
    if not sys.platform.startswith("linux"):  # the plugin sets no stack elsewhere
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    current = _StackT()
    if libc.sigaltstack(None, ctypes.byref(current)) != 0:
        raise OSError(ctypes.get_errno(), "sigaltstack failed")
    if current.ss_flags & _SS_DISABLE or not current.ss_sp:
        return None
    return int(current.ss_sp), int(current.ss_size)
