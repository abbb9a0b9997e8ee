"""The closed-loop driver the serving benchmarks share (``benchmarks/_closed_loop.py``), against
a real keep-alive HTTP server on 127.0.0.1: one connection per client, client ``i`` sending items
``i, i + C, ...``, every connection closed, and a failure named and never a hang."""

from __future__ import annotations

import http.client
import importlib
import itertools
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def closed_loop():
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO))  # the benchmarks package lives in the checkout only
        yield importlib.import_module("benchmarks._closed_loop").closed_loop


@pytest.fixture
def server() -> Iterator[tuple[int, dict[int, list[int]]]]:
    """A keep-alive HTTP/1.1 server answering ``GET /N``; what each client port asked for, in
    order (one port = one connection). ``/fail`` answers 500."""
    seen: dict[int, list[int]] = defaultdict(list)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status = 500 if self.path == "/fail" else 200
            if status == 200:
                seen[self.client_address[1]].append(int(self.path[1:]))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv.server_address[1], seen
    finally:
        srv.shutdown()
        srv.server_close()


def _opener(port: int, closed: list[int], fail_at: int | None = None):
    @contextmanager
    def open_client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def send(n: int) -> None:
            conn.request("GET", "/fail" if n == fail_at else f"/{n}")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")

        try:
            yield send
        finally:
            conn.close()
            closed.append(1)

    return open_client


def test_each_client_sends_its_own_items_on_its_own_connection(closed_loop, server):
    port, seen = server
    closed: list[int] = []
    clients = 3
    res = closed_loop(_opener(port, closed), clients, 0.3)
    assert set(res) == {"ips", "p50", "p99", "n"}
    assert len(seen) == clients and len(closed) == clients  # one connection each, all closed
    firsts = sorted(items[0] for items in seen.values())
    assert firsts == list(range(clients))
    for items in seen.values():
        assert items == list(range(items[0], items[0] + clients * len(items), clients))
    assert res["n"] == sum(len(items) for items in seen.values()) > clients
    assert res["ips"] > 0 and 0 < res["p50"] <= res["p99"]


def test_a_failed_request_fails_the_measurement_with_the_route_named(closed_loop, server):
    port, _ = server
    closed: list[int] = []
    with pytest.raises(RuntimeError, match=r"^my route: 1 client errors, first: .*HTTP 500"):
        closed_loop(_opener(port, closed, fail_at=4), 2, 0.2, "my route")
    assert len(closed) == 2


def test_a_client_that_cannot_open_does_not_hang_the_others(closed_loop, server):
    port, _ = server
    closed: list[int] = []
    good = _opener(port, closed)
    opened = itertools.count()

    @contextmanager
    def flaky():
        if next(opened) == 1:  # the second client to open
            raise ConnectionRefusedError("no connection")
        with good() as send:
            yield send

    result: list[BaseException] = []

    def run() -> None:
        try:
            closed_loop(flaky, 3, 0.3, "flaky")
        except BaseException as exc:
            result.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=20)
    assert not t.is_alive(), "closed_loop hung on a client that failed to open"
    assert len(result) == 1 and "ConnectionRefusedError('no connection')" in str(result[0])
    assert str(result[0]).startswith("flaky: ")
    assert len(closed) == 2  # the two clients that did open closed their connections
