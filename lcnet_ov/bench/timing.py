"""Loop bookkeeping shared by every backend, written to match ``benchmark_app``'s main loop.

Keeping the stop condition, the clock and the progress throttle in one place means OpenVINO
and its peers are timed by the same rules, so their numbers compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

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
