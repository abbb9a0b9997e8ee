"""Find the IR that a model name or path stands for, without converting anything.

Accepted: an ``.xml`` IR; a zoo name whose IR is in the cache
(``$LCNET_OV_HOME/ir/<name>/<precision>/``); a conversion source (Paddle folder, ``.pdparams``,
``.onnx``) that was converted before (cached by content). Anything else raises
:class:`~lcnet_ov.errors.ModelNotConvertedError`, which says how to convert it: the run side
takes IRs, and converting is the export side's job (:func:`lcnet_ov.resolve_ir` converts on
first use and is what the CLI calls), so opening a model never drags Paddle or paddle2onnx
into a server or a Ray actor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import zoo
from ..errors import InvalidModelFileError, ModelNotConvertedError
from ..paths import PRECISIONS, converted_ir_path, int8_ir_path, ir_path

__all__ = ["AUTO", "PRECISIONS", "IRTarget", "ir_target", "locate_ir", "resolve_auto"]


class IRTarget:
    """Where the IR for a model at a precision lives (or will), and what it is converted from."""

    def __init__(self, xml: Path, source: str | Path | None) -> None:
        self.xml = xml
        self.source = source  # None: an .xml given as it is

    @property
    def exists(self) -> bool:
        return self.xml.is_file() and self.xml.with_suffix(".bin").is_file()


#: ``precision="auto"``: the fastest IR present on this machine (:func:`resolve_auto`)
AUTO = "auto"


def check_precision(precision: str | None) -> None:
    if precision is not None and precision not in PRECISIONS:
        raise InvalidModelFileError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")


def ir_target(model: str | Path, precision: str | None = None) -> IRTarget:
    """Where the IR of ``model`` at ``precision`` is expected (see the module doc).

    ``precision=None`` means FP32 for zoo names and sources, and the file itself for an
    ``.xml``. An ``.xml`` asked for a precision must be one (its metadata says which), or, for
    ``"int8"``, have its INT8 IR where ``lcnet-ov quantize`` writes it; anything else is an
    error rather than a model silently run at another precision.
    """
    check_precision(precision)
    path = Path(model).expanduser()
    if path.suffix.lower() == ".xml":
        if not path.is_file():
            raise InvalidModelFileError(f"{path}: no such IR file")
        return IRTarget(path if precision is None else _ir_at_precision(path, precision), None)
    if path.is_dir() and not any(path.glob("inference.*")) and any(path.glob("*.xml")):
        raise InvalidModelFileError(
            f"{path} is a folder of IRs: pass the .xml itself (one of "
            f"{', '.join(sorted(p.name for p in path.glob('*.xml'))[:3])})"
        )
    if path.suffix.lower() == ".bin" and path.with_suffix(".xml").is_file():
        raise InvalidModelFileError(f"{path}: pass the IR's .xml ({path.with_suffix('.xml')})")
    precision = precision or "fp32"
    if not path.exists() and zoo.is_known(str(model)):
        spec = zoo.get_spec(str(model))
        return IRTarget(ir_path(spec.name, precision), spec.name)
    if path.exists():
        return IRTarget(converted_ir_path(path, precision), path)
    zoo.get_spec(str(model))  # raises UnknownModelError with suggestions
    raise AssertionError("unreachable")


def locate_ir(model: str | Path, precision: str | None = None) -> Path:
    """Path of an existing IR for ``model`` at ``precision``; never converts (module doc)."""
    target = ir_target(model, precision)
    if target.source is None or target.exists:  # an .xml given (checked by ir_target)
        return target.xml
    if precision == "int8":
        raise ModelNotConvertedError(
            f"no INT8 model for {model} at {target.xml}; create it with "
            f"`lcnet-ov quantize --model {model} --data DIR`"
        )
    raise ModelNotConvertedError(
        f"{model} has no OpenVINO IR yet: convert it once with `lcnet-ov convert {model}` "
        f"(or `lcnet_ov.resolve_ir({str(model)!r})` in Python), then open it again"
    )


def auto_candidates(model: str | Path) -> list[Any]:
    """What ``precision="auto"`` chooses from for ``model``: its FP32 IR (or the ``.xml``
    given), the same computed in bf16 where the CPU has BF16, and its INT8 IR if one exists."""
    from .speed import Candidate, has_bf16

    base = locate_ir(model, None)
    out = [Candidate("fp32", base, "f32")]
    if has_bf16():
        out.append(Candidate("bf16", base, "bf16"))
    try:
        int8 = locate_ir(model if Path(model).suffix.lower() != ".xml" else base, "int8")
    except (ModelNotConvertedError, InvalidModelFileError):
        int8 = None
    if int8 is not None and int8.resolve() != base.resolve():
        out.append(Candidate("int8", int8, "f32"))
    return out


def resolve_auto(model: str | Path, threads: int | None = None) -> Any:
    """The :class:`~lcnet_ov.runtime.speed.PrecisionChoice` for ``model`` on this machine:
    timed once per machine, thread count and set of IRs, then cached."""
    from .speed import choose_precision

    return choose_precision(auto_candidates(model), threads=threads)


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
        raise ModelNotConvertedError(
            f"no INT8 model for {xml} at {candidate}; create it with "
            f"`lcnet-ov quantize --model {xml} --data DIR`"
        )
    raise InvalidModelFileError(
        f"{xml} is an {own} IR, not {precision}; pass the {precision} IR's path, or leave out "
        "the precision to run this one"
    )
