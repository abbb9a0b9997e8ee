"""Closed-loop clients against a server (or an in-process pool): images/s and latency percentiles.

Closed loop means each client waits for its answer before it sends the next request, so at most
``clients`` requests are ever in flight. The offered load adapts to what the server sustains
(a slower server is simply sent less) instead of a fixed-rate sender piling up a queue the
server cannot drain, so a request's latency is the time a caller really waits for it and the
p50/p99 are honest and comparable between servers at the same ``clients``.

Used by ``benchmarks.serve_load`` (lcnet-ov's server vs in-process) and
``benchmarks.paddlex_serve`` (lcnet-ov's server vs PaddleX's basic serving).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress

import numpy as np

#: one client's way to send item ``n`` and wait for (and check) its answer
Send = Callable[[int], object]


def closed_loop(
    open_client: Callable[[], AbstractContextManager[Send]],
    clients: int,
    seconds: float,
    label: str = "",
) -> dict:
    """``clients`` threads sending back to back for ``seconds``; their rate and latencies.

    Every thread enters its own ``open_client()`` (its own connection or client object, closed
    when the context ends) before the clock starts, then client ``i`` sends items ``i``,
    ``i + clients``, ``i + 2 * clients``, ... until the window ends, so together the clients
    cycle through the items in order. Any client error (``label`` names the route in the
    message) fails the whole measurement: a rate with failed requests in it is not a rate.

    Returns ``ips`` (answered requests per second over the window, the last answers included),
    ``p50``/``p99`` latency per request in ms and ``n`` requests answered.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        try:
            with open_client() as send:
                gate.wait()
                n = i
                while True:
                    t = time.perf_counter()
                    if t >= stop_at[0]:
                        return
                    send(n)
                    latencies[i].append(time.perf_counter() - t)
                    n += clients
        except BaseException as exc:
            errors.append(exc)
            gate.abort()  # a client that never reached the gate must not hang the others

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    with suppress(threading.BrokenBarrierError):  # a client failed before the start: in errors
        gate.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        prefix = f"{label}: " if label else ""
        raise RuntimeError(f"{prefix}{len(errors)} client errors, first: {errors[0]!r}")
    lat = np.concatenate([np.asarray(x) for x in latencies]) * 1e3
    return {
        "ips": lat.size / wall,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "n": int(lat.size),
    }
