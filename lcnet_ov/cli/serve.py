"""``lcnet-ov serve``: an Open Inference Protocol (KServe v2) server for one model.

Thin: options → :class:`~lcnet_ov.serving.options.ServeOptions` →
:func:`lcnet_ov.serving.server.serve` (kserve is imported only there, so ``--help`` is instant).
"""

from __future__ import annotations

import click

from ..serving import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_INFLIGHT,
    DEFAULT_MAX_JSON_BYTES,
    DEFAULT_MAX_PENDING_IMAGES,
    DEFAULT_MEMORY_BUDGET_BYTES,
    MAX_IMAGES_PER_REQUEST,
    PERFORMANCE_HINTS,
)
from ._options import (
    fold_option,
    infer_precision_option,
    model_from_precision,
    model_option,
    precision_option,
)

_MB = 1024 * 1024


@click.command()
@model_option
@precision_option(auto=True)
@click.option("--name", help="Served model name (default: the IR's metadata name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--http-port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--grpc-port", type=click.IntRange(1, 65535), default=8081, show_default=True)
@click.option("--max-batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Most images per inference, gathered across concurrent requests.")  # fmt: skip
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="How long a batch's first image waits for company.")  # fmt: skip
@click.option("--threads", type=click.IntRange(min=1), help="Inference threads (default: all).")
@click.option(
    "--hint",
    type=click.Choice([h.lower() for h in PERFORMANCE_HINTS], case_sensitive=False),
    default="throughput",
    show_default=True,
    help="OpenVINO's PERFORMANCE_HINT: throughput (a stream per core; most images/s under "
    "many clients) or latency (one stream on every core; a lone request answered sooner). "
    "Measured in docs/serving.md.",
)
@click.option("--device", default="CPU", show_default=True, help="OpenVINO device.")
@infer_precision_option
@fold_option
@click.option(
    "--fast-decode/--exact-decode",
    default=False,
    show_default=True,
    help="Decode large JPEGs at 1/2-1/8 scale, as `infer --fast-decode`: faster on camera "
    "photos, answers no longer those of the exact decode (docs/fast_decode.md).",
)
@click.option("--max-body-mb", type=click.FloatRange(min=0.001),
              default=DEFAULT_MAX_BODY_BYTES / _MB, show_default=True,
              help="Largest binary request body (413 beyond) and gRPC message.")  # fmt: skip
@click.option("--max-json-mb", type=click.FloatRange(min=0.001),
              default=DEFAULT_MAX_JSON_BYTES / _MB, show_default=True,
              help="Largest body parsed as JSON (v2 JSON tensors, v1 :predict).")  # fmt: skip
@click.option("--max-inflight", type=click.IntRange(min=1), default=DEFAULT_MAX_INFLIGHT,
              show_default=True,
              help="Inference requests (REST) / RPCs (gRPC) at once; 503 / "
              "RESOURCE_EXHAUSTED beyond.")  # fmt: skip
@click.option("--memory-budget-mb", type=click.IntRange(min=1),
              default=DEFAULT_MEMORY_BUDGET_BYTES // _MB, show_default=True,
              help="Estimated memory of the REST requests in flight; 503 beyond.")  # fmt: skip
@click.option("--max-pending-images", type=click.IntRange(min=MAX_IMAGES_PER_REQUEST),
              default=DEFAULT_MAX_PENDING_IMAGES, show_default=True,
              help="Images in the pipeline at once; 503 / UNAVAILABLE beyond.")  # fmt: skip
@click.option("--grace-s", type=click.IntRange(min=0), default=30, show_default=True,
              help="On SIGTERM/SIGINT/SIGQUIT, how long running requests may take to "
              "finish.")  # fmt: skip
@click.option("--api-key-file", type=click.Path(dir_okay=False),
              help="File of API keys, one a line: inference and metadata then need "
              "'Authorization: Bearer KEY' (health probes stay open).")  # fmt: skip
@click.option("--metrics-public", is_flag=True,
              help="Serve /metrics without an API key.")  # fmt: skip
@click.option("--ssl-certfile", type=click.Path(dir_okay=False),
              help="TLS certificate (PEM): HTTPS and TLS gRPC.")  # fmt: skip
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False), help="TLS private key (PEM).")
@click.option("--enable-model-control", is_flag=True,
              help="Open kserve's model repository load/unload API (REST and gRPC); off, "
              "they are 404 / PERMISSION_DENIED.")  # fmt: skip
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
    hint: str,
    device: str,
    infer_precision: str,
    fold_preprocessing: bool | None,
    fast_decode: bool,
    max_body_mb: float,
    max_json_mb: float,
    max_inflight: int,
    memory_budget_mb: int,
    max_pending_images: int,
    grace_s: int,
    api_key_file: str | None,
    metrics_public: bool,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    enable_model_control: bool,
    access_log: bool,
) -> int:
    """Serve MODEL over REST and gRPC (Open Inference Protocol v2) until SIGTERM or Ctrl-C.

    Inputs: `image` (BYTES [N], encoded files), `pixels` (UINT8 [N,H,W,3] BGR) or `x`
    (FP32 [N,3,224,224], preprocessed); request parameter `topk` (default 5). Outputs:
    probabilities, class_ids, scores, label_names. Concurrent requests share batches.
    Answers equal `lcnet-ov infer`'s for the same file and options.
    For curl: `curl --data-binary @page.jpg localhost:8080/v2/models/NAME/classify`.
    """
    from ..export.resolve import resolve_ir
    from ..serving.options import ServeOptions, check_tls_files, read_api_keys
    from ..serving.server import serve as run

    if http_port == grpc_port:
        raise click.BadParameter("must differ from --http-port", param_hint="--grpc-port")
    keys = read_api_keys(api_key_file) if api_key_file else ()
    check_tls_files(ssl_certfile, ssl_keyfile)  # before the model is resolved or compiled
    model, precision = model_from_precision(click.get_current_context(), model, precision)
    auto = precision == "auto"  # the fastest IR present here: measured once, cached
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
        performance_hint=hint.upper(),
        inference_precision=infer_precision,
        fast_decode=fast_decode,
        fold_preprocessing=fold_preprocessing,
        max_body_bytes=int(max_body_mb * _MB),
        max_json_bytes=int(max_json_mb * _MB),
        max_inflight=max_inflight,
        memory_budget_bytes=memory_budget_mb * _MB,
        max_pending_images=max_pending_images,
        grace_s=grace_s,
        access_log=access_log,
        enable_model_control=enable_model_control,
        api_keys=keys,
        metrics_public=metrics_public,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    return run(options)
