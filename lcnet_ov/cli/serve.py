"""``lcnet-ov serve``: an Open Inference Protocol (KServe v2) server for one model.

Thin: options → :class:`~lcnet_ov.serving.options.ServeOptions` →
:func:`lcnet_ov.serving.server.serve` (kserve is imported only there, so ``--help`` is instant).
"""

from __future__ import annotations

import click

from ..paths import PRECISIONS
from ._options import infer_precision_option, model_option


@click.command()
@model_option
@click.option(
    "--precision",
    type=click.Choice([*PRECISIONS, "auto"]),
    help="Which IR to serve; auto: the fastest present here (measured once, cached).",
)
@click.option("--name", help="Served model name (default: the IR's metadata name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--http-port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--grpc-port", type=click.IntRange(1, 65535), default=8081, show_default=True)
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Most images per inference, gathered across concurrent requests.",
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="How long a batch's first image waits for company.",
)
@click.option("--threads", type=click.IntRange(min=1), help="Inference threads (default: all).")
@click.option("--device", default="CPU", show_default=True, help="OpenVINO device.")
@infer_precision_option
@click.option(
    "--max-body-mb",
    type=click.FloatRange(min=0.001),
    default=64.0,
    show_default=True,
    help="Largest request body (REST, 413 beyond) and gRPC message.",
)
@click.option(
    "--grace-s",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="On SIGTERM/Ctrl-C, how long running requests may take to finish.",
)
@click.option("--access-log", is_flag=True, help="Log one line per HTTP request.")
def serve(
    model: str,
    precision: str | None,
    name: str | None,
    host: str,
    http_port: int,
    grpc_port: int,
    max_batch: int,
    max_wait_ms: float,
    threads: int | None,
    device: str,
    infer_precision: str,
    max_body_mb: float,
    grace_s: int,
    access_log: bool,
) -> int:
    """Serve MODEL over REST and gRPC (Open Inference Protocol v2) until SIGTERM or Ctrl-C.

    Inputs: `image` (BYTES [N], encoded files), `pixels` (UINT8 [N,H,W,3] BGR) or `x`
    (FP32 [N,3,224,224], preprocessed); request parameter `topk` (default 5). Outputs:
    probabilities, class_ids, scores, label_names. Concurrent requests share batches.
    For curl: `curl --data-binary @page.jpg localhost:8080/v2/models/NAME/classify`.
    """
    from ..export.resolve import resolve_ir
    from ..serving.options import ServeOptions
    from ..serving.server import serve as run

    if http_port == grpc_port:
        raise click.BadParameter("must differ from --http-port", param_hint="--grpc-port")
    auto = precision == "auto"
    xml = resolve_ir(
        model, None if auto else precision, on_step=lambda msg: click.echo(f"• {msg}", err=True)
    )
    options = ServeOptions(
        model=xml,
        precision="auto" if auto else None,
        name=name,
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        threads=threads,
        device=device,
        inference_precision=infer_precision,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        grace_s=grace_s,
        access_log=access_log,
    )
    return run(options)
