"""``lcnet-ov models``: list the zoo and download official inference models.

Only argument parsing and formatting live here; the cache inspection and the download itself
are :mod:`lcnet_ov.export.download`, so applications get the same behaviour as the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

_COLUMNS = (
    ("name", "Name"),
    ("task", "Task"),
    ("input_hw", "Input(HxW)"),
    ("source", "Source"),
    ("scale", "Scale"),
    ("num_classes", "Classes"),
    ("params_m", "Params(M)"),
    ("flops_m", "FLOPs(M)"),
    ("top1", "Top-1"),
    ("top5", "Top-5"),
    ("latency_ms", "Paper ms"),
    ("downloaded", "Downloaded"),
    ("converted", "Converted"),
)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "downloaded":
        return "yes" if value else "no"
    if key == "converted":
        return ",".join(value) if value else "no"
    if key == "input_hw":
        return f"{value[0]}x{value[1]}"
    if key in ("top1", "top5"):
        return f"{value:.2f}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain aligned columns: readable in a terminal and stable enough to grep."""
    from .._table import format_table as table

    left = {"name", "task", "input_hw", "source", "downloaded", "converted"}
    return table(
        [title for _, title in _COLUMNS],
        [[_cell(key, row[key]) for key, _ in _COLUMNS] for row in rows],
        right=[key not in left for key, _ in _COLUMNS],
    )


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON on stdout.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List the model zoo: official names, task, input (height x width), source (paddleclas,
    paddlex, pulc), paper figures and what is in the local cache.

    Figures are from the PP-LCNet paper (Intel Xeon Gold 6148, MKLDNN, batch 1); the task
    models publish none ("-").
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..export.download import zoo_summary

    rows = zoo_summary()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(format_table(rows))


@models.command("download")
@click.argument("name")
@click.option(
    "--from",
    "from_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this tarball (downloaded by hand) instead of the network.",
)
@click.option("--force", is_flag=True, help="Download and extract again even if cached.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
def download_cmd(
    name: str, from_file: Path | None, force: bool, as_json: bool, no_progress: bool
) -> None:
    """Download (or unpack --from FILE.tar) NAME's official inference model; print its folder.

    Honours LCNET_OV_MIRROR (base URL), LCNET_OV_OFFLINE=1 and LCNET_OV_TIMEOUT (seconds).
    """
    from ..export.download import download_model
    from ..zoo import get_spec

    spec = get_spec(name)
    path = download_model(spec, from_file=from_file, force=force, progress=not no_progress)
    if as_json:
        click.echo(json.dumps({"name": spec.name, "path": str(path)}))
    else:
        click.echo(str(path))
