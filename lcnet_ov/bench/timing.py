"""Loop bookkeeping shared by every backend, written to match ``benchmark_app``'s main loop.

Keeping the stop condition, the clock and the progress throttle in one place means OpenVINO
and its peers are timed by the same rules, so their numbers compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .inputs import ImageBatches

#: called with the fraction of the measured loop done (0..1)
Tick = Callable[[float], None]

clock = time.perf_counter
RESOLUTION = time.get_clock_info("perf_counter").resolution
#: seconds between progress callbacks, so a progress bar never costs measurable time
TICK_INTERVAL_S = 0.2


@dataclass
class Limits:
    """Stop after ``duration_s`` seconds or ``iterations`` inferences (benchmark_app's rule:
    keep going while either target is unmet; async also finishes a whole round of requests)."""

    duration_s: float | None
    iterations: int | None
    tick: Tick | None = None
    _last_tick: float = 0.0

    def align(self, nireq: int) -> None:
        """Round an iteration target up to whole rounds of requests, as benchmark_app does."""
        if self.iterations:
            self.iterations = -(-self.iterations // nireq) * nireq

    def running(self, iteration: int, elapsed: float) -> bool:
        return bool(
            (self.iterations and iteration < self.iterations)
            or (self.duration_s and elapsed < self.duration_s)
        )

    def report(self, iteration: int, elapsed: float) -> None:
        """Forward progress to ``tick`` at most every :data:`TICK_INTERVAL_S` seconds."""
        if self.tick is None or elapsed - self._last_tick < TICK_INTERVAL_S:
            return
        self._last_tick = elapsed
        fractions = []
        if self.iterations:
            fractions.append(iteration / self.iterations)
        if self.duration_s:
            fractions.append(elapsed / self.duration_s)
        self.tick(min(max(fractions, default=0.0), 1.0))

    def done(self) -> None:
        if self.tick is not None:
            self.tick(1.0)


def total_duration(start: float) -> float:
    """Seconds since ``start``, never zero (benchmark_app divides by it)."""
    return max(clock() - start, RESOLUTION)


#: what a timed loop returns: per-iteration ms, total seconds, iterations, first-inference ms,
#: per-batch preprocessing ms (empty for synthetic input)
Run = tuple[list[float], float, int, float, list[float]]


def timed_loop(
    step: Callable[[Any], float | None],
    images: ImageBatches | None,
    batch: int,
    limits: Limits,
    first_ms: float | None,
) -> Run:
    """The measured synchronous loop every backend shares.

    ``step`` runs one inference on the batch it is given (``None`` for bound synthetic input)
    and returns its own latency in ms when the runtime has a per-request timer, else ``None``,
    and the wall time of the call is used. With ``images`` each call's wall time includes
    reading and preprocessing its batch (end to end).
    """
    times: list[float] = []
    pre: list[float] = []
    iteration = 0
    elapsed = 0.0
    start = clock()
    while limits.running(iteration, elapsed):
        t0 = clock()
        x = None
        if images is not None:
            x, pre_ms = images.next_batch(batch)
            pre.append(pre_ms)
        own_ms = step(x)
        times.append(own_ms if own_ms is not None else (clock() - t0) * 1000.0)
        iteration += 1
        elapsed = clock() - start
        limits.report(iteration, elapsed)
    duration = total_duration(start)
    limits.done()
    return times, duration, iteration, first_ms if first_ms is not None else times[0], pre
