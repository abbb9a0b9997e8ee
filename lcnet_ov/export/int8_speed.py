"""Is the INT8 IR faster here? ``lcnet-ov quantize`` ends by measuring INT8 ÷ FP32.

An INT8 IR is only worth running where it is faster, and that depends on the CPU: on an AMX
Xeon the narrow PP-LCNet scales ran INT8 at about half the FP32 rate (docs/benchmarks.md).
A second or two of batch-1 inference per model says which way it goes on this machine.
"""

from __future__ import annotations

import os
from pathlib import Path

#: seconds of batch-1 sync inference per model in the INT8 ÷ FP32 check after quantizing
SPEED_SECONDS = 1.5
#: scales whose INT8 ran slower than FP32 on an AMX Xeon (docs/benchmarks.md, section int8)
NARROW_SCALES = ("x0_25", "x0_35", "x0_5", "x0_75")


def speed_check(fp32_xml: Path, int8_xml: Path, *, seconds: float = SPEED_SECONDS) -> dict:
    """INT8 ÷ FP32 images/s here: batch 1, synchronous, same threads, interleaved slices.

    Both at f32 compute precision, so the ratio is INT8's alone (not bf16 on CPUs that
    default to it).
    """
    from ..runtime.speed import measure_rates

    threads = os.cpu_count() or 1
    fp32, int8 = measure_rates(
        [(fp32_xml, "f32"), (int8_xml, "f32")], threads=threads, seconds=seconds
    )
    return {
        "fp32_fps": round(fp32, 1),
        "int8_fps": round(int8, 1),
        "ratio": round(int8 / fp32, 3) if fp32 else None,
        "threads": threads,
        "batch": 1,
        "seconds_each": seconds,
    }


def speed_warnings(speed: dict, *names: str) -> list[str]:
    """Say when INT8 is no faster here, and for the scales known to be slower on some CPUs."""
    out = []
    ratio = speed.get("ratio")
    narrow = next((s for s in NARROW_SCALES if any(f"{s}" in n for n in names)), None)
    if ratio is not None and ratio <= 1.0:
        out.append(
            f"INT8 is not faster than FP32 on this machine ({speed['int8_fps']:.0f} vs "
            f"{speed['fp32_fps']:.0f} images/s, ×{ratio:.2f}): run FP32 here, or let "
            "`--precision auto` choose"
        )
    if narrow is not None:
        out.append(
            f"PP-LCNet {narrow}: INT8 of the narrow scales (x0_25-x0_75) ran slower than FP32 "
            "on CPUs with AMX (docs/benchmarks.md); `--precision auto` picks the faster here"
        )
    return out
