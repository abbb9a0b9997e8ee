"""Turn what a user typed (``--model``) into an IR on disk, converting once if needed.

Accepted: a zoo name (IR cached under ``$LCNET_OV_HOME/ir/<name>/<precision>/``), an ``.xml``
IR, or any conversion source (Paddle inference folder, ``.pdmodel``/``.json``, ``.pdparams``,
``.onnx``), which is converted on first use and cached by content so later runs start at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import zoo
from .errors import InvalidModelFileError
from .paths import ENV_HOME, PRECISIONS, converted_ir_path, int8_ir_path, ir_path

__all__ = ["PRECISIONS", "converted_ir_path", "resolve_ir"]


def resolve_ir(
    model: str | Path,
    precision: str | None = None,
    *,
    on_step: Callable[[str], None] | None = None,
) -> Path:
    """Path of an IR for ``model`` at ``precision``; converts FP32 on first use.

    ``precision=None`` means FP32 for zoo names and sources, and the file itself for an
    ``.xml``. An ``.xml`` asked for a precision must be one (its metadata says which), or, for
    ``"int8"``, have its INT8 IR where ``lcnet-ov quantize`` writes it; anything else is an
    error rather than a model silently run at another precision.
    """
    if precision is not None and precision not in PRECISIONS:
        raise InvalidModelFileError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    path = Path(model).expanduser()
    if path.suffix.lower() == ".xml":
        if not path.is_file():
            raise InvalidModelFileError(f"{path}: no such IR file")
        return path if precision is None else _ir_at_precision(path, precision)
    precision = precision or "fp32"
    if not path.exists() and zoo.is_known(str(model)):
        spec = zoo.get_spec(str(model))
        target = ir_path(spec.name, precision)
        source: str | Path = spec.name
    elif path.exists():
        target = converted_ir_path(path, precision)
        source = path
    else:
        zoo.get_spec(str(model))  # raises UnknownModelError with suggestions
        raise AssertionError("unreachable")
    if target.is_file() and target.with_suffix(".bin").is_file():
        return target
    if precision == "int8":
        raise InvalidModelFileError(
            f"no INT8 model for {model} at {target}; create it with "
            f"`lcnet-ov quantize --model {model} --data DIR`"
        )
    from ._outputs import check_writable_dir
    from .conversion import ConvertOptions, convert
    from .errors import CacheDirError

    # converting writes into the cache: an unwritable $LCNET_OV_HOME is one clear error here
    # (a cache that already holds the IR returned above, read-only or not)
    check_writable_dir(target.parent, f"model cache (${ENV_HOME})", CacheDirError)
    options = ConvertOptions(compress_to_fp16=precision == "fp16")
    return convert(source, target, options=options, on_step=on_step).xml


def _ir_at_precision(xml: Path, precision: str) -> Path:
    """``xml`` when it is at ``precision``; an IR without our metadata (converted elsewhere, a
    benchmark's synthetic graph) cannot say, so it is taken as it is, as before."""
    from .metadata import read_metadata

    try:
        own = read_metadata(xml).precision
    except InvalidModelFileError:
        return xml
    if own == precision:
        return xml
    if precision == "int8":
        candidate = int8_ir_path(xml)
        if candidate.is_file():
            return candidate
        raise InvalidModelFileError(
            f"no INT8 model for {xml} at {candidate}; create it with "
            f"`lcnet-ov quantize --model {xml} --data DIR`"
        )
    raise InvalidModelFileError(
        f"{xml} is an {own} IR, not {precision}; pass the {precision} IR's path, or leave out "
        "the precision to run this one"
    )
