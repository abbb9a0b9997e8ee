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

**OpenVINO is imported without its model-conversion API** (:func:`import_openvino`).
``openvino/__init__.py`` ends with ``from openvino.tools.ovc import convert_model``, and that
package pulls in ``importlib.metadata``, argparse-based option parsing, the TensorFlow frontend
helpers and ``openvino_telemetry``, which starts a thread that sends an "import" event over
HTTP (``concurrent.futures`` then joins that thread at exit). Measured on the 2-core AMD EPYC
(AVX2): a bare ``import openvino`` process took 0.46-0.74 s with it and 0.25-0.38 s without, most
of a one-image ``lcnet-ov infer``. The run side never converts, so the first import skips it
and ``openvino.convert_model`` is resolved on first use instead (the export side's
``ov.convert_model(...)`` still works, and then imports the package as before).
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
#: the conversion API package that ``openvino/__init__.py`` imports (see the module doc)
_OVC = "openvino.tools.ovc"


class _SkipConversionAPI:
    """A ``sys.meta_path`` finder that makes ``openvino.tools.ovc`` unimportable for the one
    thread importing OpenVINO (``openvino/__init__.py`` catches that ImportError); other
    threads import normally."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == _OVC and threading.get_ident() == self.thread:
            raise ImportError(f"{_OVC} is imported on first use of openvino.convert_model")
        return None


def import_openvino() -> Any:
    """``openvino``, imported without its conversion API when this is the first import (module
    doc); ``openvino.convert_model`` then imports it on first access."""
    if "openvino" in sys.modules:  # imported already (by us or not): as it is
        import openvino

        return openvino
    skip = _SkipConversionAPI()
    # new lists, not insert/remove: another thread's import may be iterating the old one
    sys.meta_path = [skip, *sys.meta_path]
    try:
        import openvino
    except ImportError:  # an OpenVINO whose __init__ no longer tolerates a missing ovc
        sys.meta_path = [finder for finder in sys.meta_path if finder is not skip]
        import openvino
    finally:
        sys.meta_path = [finder for finder in sys.meta_path if finder is not skip]
    if not hasattr(openvino, "convert_model") and "__getattr__" not in vars(openvino):
        openvino.__getattr__ = _conversion_api  # PEP 562: asked only for missing names
    return openvino


def _conversion_api(name: str) -> Any:
    """``openvino.convert_model`` on first use: import it as ``openvino/__init__.py`` would."""
    if name != "convert_model":
        raise AttributeError(f"module 'openvino' has no attribute {name!r}")
    import openvino
    from openvino.tools.ovc import convert_model

    openvino.convert_model = convert_model
    return convert_model


def shared_core() -> Any:
    """The process-wide ``openvino.Core`` (created on first use, kept until exit).

    Compile settings go to each ``compile_model`` call, never ``set_property`` on this Core,
    so callers with different settings share it safely.
    """
    global _core
    with _lock:  # two threads asking at once must not build two Cores
        if _core is None:
            core = import_openvino().Core()
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
