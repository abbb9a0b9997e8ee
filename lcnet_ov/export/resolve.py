"""Turn what a user typed (``--model``) into an IR on disk, converting once if needed.

The bridge between the two sides, called at the edges (each CLI command, an app that wants
conversion on first use): :func:`~lcnet_ov.runtime.locate.locate_ir` finds an IR that exists;
when a zoo name or a conversion source (Paddle inference folder, ``.pdmodel``/``.json``,
``.pdparams``, ``.onnx``) has none yet, it is converted here and cached by content, so later
runs start at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import CacheDirError, ModelNotConvertedError
from ..paths import ENV_HOME, PRECISIONS
from ..runtime.locate import ir_target, locate_ir

__all__ = ["PRECISIONS", "resolve_ir"]


def resolve_ir(
    model: str | Path,
    precision: str | None = None,
    *,
    on_step: Callable[[str], None] | None = None,
) -> Path:
    """Path of an IR for ``model`` at ``precision``; converts FP32 (or FP16) on first use.

    Precision rules are :func:`~lcnet_ov.runtime.locate.ir_target`'s. INT8 is never made here:
    it needs calibration data (``lcnet-ov quantize``).
    """
    try:
        return locate_ir(model, precision)
    except ModelNotConvertedError:
        if precision == "int8":
            raise
    target = ir_target(model, precision)
    if target.source is None:  # an .xml at another precision: locate_ir already said why
        raise AssertionError("unreachable")
    from .._outputs import check_writable_dir
    from .conversion import ConvertOptions, convert

    # converting writes into the cache: an unwritable $LCNET_OV_HOME is one clear error here
    # (a cache that already holds the IR returned above, read-only or not)
    check_writable_dir(target.xml.parent, f"model cache (${ENV_HOME})", CacheDirError)
    options = ConvertOptions(compress_to_fp16=precision == "fp16")
    return convert(target.source, target.xml, options=options, on_step=on_step).xml
