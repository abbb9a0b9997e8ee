"""The machine a benchmark ran on: without it, a latency number cannot be compared to anything.

Instruction-set flags decide which kernels OpenVINO picks (AVX2 vs AVX-512, VNNI for INT8,
AVX512-BF16/AMX for bf16), so they are read from ``/proc/cpuinfo`` and reported next to what
OpenVINO's CPU plugin says it can do.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._util import package_versions
from .config import available_cores

#: cpuinfo flag → the name people use, in the order they matter for inference speed
ISA_FLAGS = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx_vnni": "AVX-VNNI",
    "avx512f": "AVX512F",
    "avx512_vnni": "AVX512-VNNI",
    "avx512_bf16": "AVX512-BF16",
    "avx512_fp16": "AVX512-FP16",
    "amx_tile": "AMX",
    "amx_int8": "AMX-INT8",
    "amx_bf16": "AMX-BF16",
}
PACKAGES = ("lcnet-ov", "openvino", "onnxruntime", "paddlepaddle", "paddle2onnx", "nncf", "numpy")


@dataclass(frozen=True)
class MachineInfo:
    cpu: str
    logical_cpus: int
    physical_cores: int | None
    #: CPUs this process may use (what threads should be compared against)
    available_cores: int
    isa: tuple[str, ...]
    #: OpenVINO CPU plugin's OPTIMIZATION_CAPABILITIES (FP32, BF16, INT8, ...)
    openvino_capabilities: tuple[str, ...] = ()
    python: str = field(default_factory=platform.python_version)
    os: str = field(default_factory=platform.platform)
    versions: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        cores = f"{self.available_cores} of {self.logical_cpus} CPUs available"
        if self.physical_cores:
            cores += f", {self.physical_cores} physical cores"
        isa = ", ".join(self.isa) or "no AVX2"
        return f"{self.cpu} ({cores}; {isa})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": self.cpu,
            "logical_cpus": self.logical_cpus,
            "physical_cores": self.physical_cores,
            "available_cores": self.available_cores,
            "isa": list(self.isa),
            "openvino_capabilities": list(self.openvino_capabilities),
            "python": self.python,
            "os": self.os,
            "versions": dict(self.versions),
        }


def _parse_cpuinfo(text: str) -> tuple[str | None, set[str], int | None]:
    """Model name, flags of the first processor, and distinct (package, core) pairs."""
    name: str | None = None
    flags: set[str] = set()
    cores: set[tuple[str, str]] = set()
    physical = core = None
    for line in [*text.splitlines(), ""]:
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not key:  # blank line closes a processor block
            if physical is not None and core is not None:
                cores.add((physical, core))
            physical = core = None
        elif key == "model name" and name is None:
            name = value
        elif key == "flags" and not flags:
            flags = set(value.split())
        elif key == "physical id":
            physical = value
        elif key == "core id":
            core = value
    return name, flags, len(cores) or None


def _openvino_view() -> tuple[str | None, tuple[str, ...]]:
    try:
        from ..runtime.core import shared_core

        core = shared_core()
        name = str(core.get_property("CPU", "FULL_DEVICE_NAME"))
        caps = tuple(str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        return name, caps
    except Exception:  # a broken plugin must not hide the rest of the report
        return None, ()


def machine_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> MachineInfo:
    """Describe this machine (Linux ``/proc/cpuinfo``; elsewhere what ``platform`` knows)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        text = ""
    name, flags, physical = _parse_cpuinfo(text)
    ov_name, caps = _openvino_view()
    return MachineInfo(
        cpu=name or ov_name or platform.processor() or "unknown CPU",
        logical_cpus=os.cpu_count() or 1,
        physical_cores=physical,
        available_cores=available_cores(),
        isa=tuple(label for flag, label in ISA_FLAGS.items() if flag in flags),
        openvino_capabilities=caps,
        versions=package_versions(*PACKAGES),
    )
