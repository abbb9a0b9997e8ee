"""The CLI's shared option machinery: one way to take several values, one output check, and
the options that mean the same in every command that runs a model (one spelling, one help).

Several values: ``--precision fp32 int8``, ``--precision fp32,int8`` and
``--precision fp32 --precision int8`` all mean the same. click options take one value per
occurrence, so :class:`Command` rewrites ``--opt a b`` to ``--opt a --opt b`` before click
parses (the words after a :class:`MultiOption`, up to the next option), and
:class:`MultiOption` (``multiple=True``) splits commas and hands the command one flat tuple.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from ..paths import PRECISIONS
from ..zoo import DEFAULT_MODEL

#: ``--infer-precision`` values, the same in every command that runs a model; ``default``
#: leaves OpenVINO's own choice (bf16 on CPUs that have it) and reaches the library as None
INFER_PRECISIONS = ("f32", "bf16", "f16", "default")
#: ``-p auto`` (infer, bench, serve): :func:`lcnet_ov.runtime.locate.resolve_auto` chooses
AUTO = "auto"
MODEL_HELP = "Zoo name, IR (.xml), Paddle inference folder or .onnx."
_PADDLE_PROGRAMS = ("inference.pdmodel", "inference.json")


def check_model(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback of ``-m/--model``: the two near misses of an IR, its ``.bin`` and the folder
    holding it, are usage errors that name the ``.xml`` to give (the library would only say
    "unsupported input" or "not a Paddle inference model" after it started)."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.suffix.lower() == ".bin":
        raise click.BadParameter(
            f"{value} holds an IR's weights; give the IR's .xml ({path.with_suffix('.xml')})"
        )
    if path.is_dir() and not any((path / name).is_file() for name in _PADDLE_PROGRAMS):
        xmls = sorted(path.glob("*.xml"))
        if xmls:
            raise click.BadParameter(f"{value} is a folder; give the IR's .xml ({xmls[0]})")
        raise click.BadParameter(
            f"{value} is a folder without a Paddle inference model (inference.pdmodel or "
            "inference.json with .pdiparams); for an OpenVINO IR give its .xml"
        )
    return value


def model_param(default: str | None = DEFAULT_MODEL) -> Any:
    """``-m/--model`` of every command that runs a model: one spelling, one help, one check.
    ``default=None``: the command says itself when it needs one (``-p IR.xml`` names the model
    too, so no command can let click require it)."""
    return click.option(
        "-m",
        "--model",
        default=default,
        show_default=default is not None,
        callback=check_model,
        help=MODEL_HELP,
    )


#: ``-m/--model`` defaulting to the zoo's PPLCNet_x1_0 (infer, serve, export)
model_option = model_param()


def _check_precisions(
    ctx: click.Context, param: click.Parameter, value: Any, allow_auto: bool = False
) -> tuple[str, ...] | str | None:
    """Each ``-p`` value is a precision name or an existing ``.xml``; anything else is a usage
    error here (exit 2), before a model is resolved or a dataset read."""
    values = value if isinstance(value, tuple) else (() if value is None else (value,))
    for v in values:
        if v in PRECISIONS or (allow_auto and v == AUTO and len(values) == 1):
            continue
        if v.lower().endswith(".xml"):
            if not Path(v).expanduser().is_file():
                raise click.BadParameter(f"{v}: no such IR file")
            continue
        raise click.BadParameter(
            f"{v!r} is not a precision ({', '.join(PRECISIONS)}) nor an IR's .xml"
        )
    return value


def precision_option(
    multiple: bool = False, default: tuple[str, ...] | None = None, auto: bool = False
) -> Any:
    """``-p/--precision``: which IR runs, by precision name (fp32, fp16, int8: the IRs of
    ``--model``) or by path (an ``.xml``, then ``--model`` is not needed)."""
    help_ = "fp32, fp16, int8 (int8 comes from `lcnet-ov quantize`) or an IR's .xml; " + (
        "several values: -p fp32 int8, -p fp32,int8 or -p fp32 -p int8. " if multiple else ""
    )
    if auto:
        help_ += (
            "auto: the fastest IR present on this machine (fp32, bf16 compute, int8), measured "
            "once and cached. "
        )
    extra: dict[str, Any] = {"cls": MultiOption} if multiple else {}
    if default is not None:
        extra.update(default=default, show_default=True)
    return click.option(
        "-p",
        "--precision",
        "precision",
        metavar="PREC|IR" + (" ..." if multiple else ""),
        callback=functools.partial(_check_precisions, allow_auto=auto),
        help=help_ + "Default: fp32, or an .xml model's own.",
        **extra,
    )


def _infer_precision(ctx: click.Context, param: click.Parameter, value: str) -> str | None:
    return None if value == "default" else value


#: ``--infer-precision``: OpenVINO's INFERENCE_PRECISION_HINT, same values in every command
infer_precision_option = click.option(
    "--infer-precision",
    type=click.Choice(INFER_PRECISIONS),
    default="f32",
    show_default=True,
    callback=_infer_precision,
    help="Compute precision: f32 matches Paddle; bf16 (AMX/AVX512-BF16) and f16 are faster "
    "where the CPU has them; default leaves OpenVINO's choice.",
)
#: ``--fold-preprocessing/--exact-preprocessing``: ``infer`` and ``serve`` (the same answers);
#: unset, the policy decides per IR (``lcnet_ov.policy.fold_by_default``)
fold_option = click.option(
    "--fold-preprocessing/--exact-preprocessing",
    default=None,
    help="Normalize inside the compiled graph (uint8 crops cross threads: faster over many "
    "files; FP32 scores then differ from PaddleClas' by float rounding, docs/benchmarks.md), "
    "or in numpy as PaddleClas does. Default: exact for FP32 IRs, folded for INT8 IRs, where "
    "the quantizer absorbs it (answers measured bit-identical).",
)
#: ``--force``: the one meaning of the flag, in every command that writes an output
force_option = click.option(
    "--force", is_flag=True, help="Replace the output if it exists (refused otherwise)."
)


def refuse_existing(path: str | Path | None, force: bool, shown: str | None = None) -> None:
    """Every command refuses to replace an existing output unless given ``--force``: one
    message, exit code 2 (a usage error, found before any work)."""
    if path is None or force or str(path) == "-":
        return
    target = Path(path).expanduser()
    if target.exists() or (target.suffix == ".xml" and target.with_suffix(".bin").exists()):
        from ..errors import OutputExistsError

        raise OutputExistsError(f"{shown or target} exists; pass --force to replace it")


class MultiOption(click.Option):
    """An option that takes one or more values (space-, comma-separated or repeated)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            value = [part.strip() for item in value for part in str(item).split(",")]
            value = tuple(part for part in value if part)
        return super().type_cast_value(ctx, value)


class Command(click.Command):
    """A command whose :class:`MultiOption` options may be followed by several words."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        multi = {
            opt
            for param in self.params
            if isinstance(param, MultiOption)
            for opt in (*param.opts, *param.secondary_opts)
        }
        rewritten: list[str] = []
        current: str | None = None  # the multi option whose values are being read
        taken = 0
        for i, token in enumerate(args):
            if token == "--":
                rewritten.extend(args[i:])
                break
            if token.startswith("-") and len(token) > 1:
                current = token if token in multi else None
                taken = 0
                rewritten.append(token)
                continue
            if current is not None:
                if taken:  # a second word: repeat the option for it
                    rewritten.append(current)
                taken += 1
            rewritten.append(token)
        return super().parse_args(ctx, rewritten)


def xml_output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback of ``-o/--output`` for IRs: a wrong suffix (``-o x.txt``) is a usage error
    and an output that cannot be written fails here, before any work is done."""
    if value is None:
        return None
    from .._outputs import check_writable_dir, ir_output
    from ..errors import UsageError

    try:
        xml = ir_output(value, option=param.opts[-1] if param.opts else "--output")
    except UsageError as exc:
        raise click.BadParameter(f"{value}: {str(exc).split(': ', 1)[-1]}") from None
    check_writable_dir(xml.parent, shown=value)
    return value


def file_output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback of options naming a file to write (``--output``, ``--plot``): its folder must
    be writable, checked before minutes of work; ``-`` (stdout) passes."""
    if value is None or value == "-":
        return value
    from .._outputs import check_writable_dir

    path = Path(value).expanduser()
    if path.is_dir():
        raise click.BadParameter(f"{value} is a folder; give a file name")
    check_writable_dir(path.parent, shown=value)
    return value


def model_from_precision(
    ctx: click.Context, model: str | None, precision: str | None
) -> tuple[str, str | None]:
    """``(model, precision)`` to resolve for a command that runs ONE model (infer, bench):
    ``-p IR.xml`` is that IR, and a ``-m`` given beside it is a usage error (which one?)."""
    if precision is None or not precision.lower().endswith(".xml"):
        if model is None:
            raise click.UsageError("give the model: -m/--model NAME|PATH (or -p IR.xml)")
        return model, precision
    source = ctx.get_parameter_source("model")
    if model is not None and source is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError(f"-p {precision} already names the IR to run; leave out -m {model}")
    return precision, None
