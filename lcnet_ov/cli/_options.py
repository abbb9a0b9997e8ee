"""The CLI's shared option machinery: one way to take several values, one output check, and
the options that mean the same in every command that runs a model (one spelling, one help).

Several values: ``--precision fp32 int8``, ``--precision fp32,int8`` and
``--precision fp32 --precision int8`` all mean the same. click options take one value per
occurrence, so :class:`Command` rewrites ``--opt a b`` to ``--opt a --opt b`` before click
parses (the words after a :class:`MultiOption`, up to the next option), and
:class:`MultiOption` (``multiple=True``) splits commas and hands the command one flat tuple.
"""

from __future__ import annotations

from typing import Any

import click

from ..zoo import DEFAULT_MODEL

#: ``-m/--model`` of the commands that run a model (infer, serve, export)
model_option = click.option(
    "-m",
    "--model",
    default=DEFAULT_MODEL,
    show_default=True,
    help="Zoo name, IR (.xml), Paddle inference folder or .onnx.",
)
#: ``--infer-precision``: OpenVINO's INFERENCE_PRECISION_HINT (infer, serve)
infer_precision_option = click.option(
    "--infer-precision",
    type=click.Choice(["f32", "bf16"]),
    default="f32",
    show_default=True,
    help="Compute precision; f32 matches Paddle, bf16 is faster on AMX/AVX512-BF16.",
)


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
    from pathlib import Path

    from .._outputs import check_writable_dir

    path = Path(value).expanduser()
    if path.is_dir():
        raise click.BadParameter(f"{value} is a folder; give a file name")
    check_writable_dir(path.parent, shown=value)
    return value
