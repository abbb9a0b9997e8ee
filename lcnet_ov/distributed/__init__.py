"""Ray Data batch inference (``lcnet-ov infer --engine ray``).

:mod:`.job` runs the job (one compiled model per actor), :mod:`.output` writes its rows. The
job takes an IR: resolving a name (and converting) happens in the CLI, so an actor never
imports the export side. Ray itself is imported only when a job runs.
"""

from .job import (
    ShippedModel,
    check_address,
    classify,
    connect,
    plan_actors,
    ray_session,
    ship_model,
)
from .output import OUTPUT_FORMATS, JobSummary, check_output, write_results

__all__ = [
    "OUTPUT_FORMATS",
    "JobSummary",
    "ShippedModel",
    "check_address",
    "check_output",
    "classify",
    "connect",
    "plan_actors",
    "ray_session",
    "ship_model",
    "write_results",
]
