"""The REST gate of `lcnet-ov serve` (lcnet_ov.serving.gate) driven as a plain ASGI app: no
server, no kserve, so every rule is checked in milliseconds; the server tests check the same
rules end to end."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from lcnet_ov.errors import ServerBusyError
from lcnet_ov.serving.gate import Gate, GatePolicy, bearer_ok, key_digests
from lcnet_ov.serving.options import read_api_keys

KEY = "k" * 20 + "secret"


class App:
    """A route behind the gate: reads the whole body, answers 200 (or raises ``fail``)."""

    def __init__(self, fail: BaseException | None = None, hold: asyncio.Event | None = None):
        self.fail, self.hold, self.calls = fail, hold, 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        while (await receive()).get("more_body"):
            pass
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def policy(**kw) -> GatePolicy:
    base = {"max_body": 1000, "max_json_body": 100, "max_inflight": 2, "memory_budget": 10**9}
    return GatePolicy(**{**base, **kw})


async def call(gate, path, body=b"", method="POST", headers=None, chunks=None):
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if chunks is None:
        if not any(k == b"content-length" for k, _ in raw):
            raw.append((b"content-length", str(len(body)).encode()))
        parts = [body]
    else:
        parts = chunks
    scope = {"type": "http", "method": method, "path": path, "headers": raw}
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await gate(scope, receive, send)
    status = sent[0]["status"]
    head = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    body_out = b"".join(m.get("body", b"") for m in sent[1:])
    return status, head, body_out


def run(coro):
    return asyncio.run(coro)


def test_control_plane_and_versioned_routes_are_404_unless_enabled():
    app = App()
    gate = Gate(app, policy())
    for path in ("/v2/repository/models/m/unload", "/v2/repository/models/m/load",
                 "/v2/repository/index"):  # fmt: skip
        status, _, body = run(call(gate, path))
        assert status == 404 and b"--enable-model-control" in body
    status, _, body = run(call(gate, "/v2/models/m/versions/1/infer", b"{}"))
    assert status == 404 and b"/v2/models/m/..." in body
    assert app.calls == 0
    opened = Gate(app, policy(model_control=True))
    assert run(call(opened, "/v2/repository/models/m/load"))[0] == 200


def test_api_keys_guard_everything_but_health():
    app = App()
    gate = Gate(app, policy(api_keys=(KEY, "another-key-0123456789")))
    for path in ("/v2/models/m/infer", "/v1/models/m:predict", "/v2/models/m/classify"):
        status, head, _ = run(call(gate, path, b"{}"))
        assert (status, head.get("www-authenticate")) == (401, "Bearer")
        for auth in (f"Bearer {KEY}x", f"Basic {KEY}", KEY, "Bearer "):
            assert run(call(gate, path, b"{}", headers={"Authorization": auth}))[0] == 401
        assert run(call(gate, path, b"{}", headers={"Authorization": f"Bearer {KEY}"}))[0] == 200
        good = {"Authorization": "bearer another-key-0123456789"}
        assert run(call(gate, path, b"{}", headers=good))[0] == 200
    for path in ("/v2/models/m", "/v2", "/v2/models", "/metrics"):
        assert run(call(gate, path, method="GET"))[0] == 401
    for path in ("/", "/v2/health/live", "/v2/health/ready", "/v2/models/m/ready", "/v1/models/m"):
        assert run(call(gate, path, method="GET"))[0] == 200
    public = Gate(app, policy(api_keys=(KEY,), metrics_public=True))
    assert run(call(public, "/metrics", method="GET"))[0] == 200
    assert run(call(public, "/v2/models/m", method="GET"))[0] == 401


def test_bearer_compare():
    digests = key_digests((KEY,))
    assert bearer_ok(f"Bearer {KEY}".encode(), digests)
    assert not bearer_ok(None, digests) and not bearer_ok(b"Bearer", digests)
    assert not bearer_ok(f"Bearer {KEY[:-1]}", digests)


def test_json_bodies_have_the_lower_limit():
    app = App()
    gate = Gate(app, policy())
    binary = {"Inference-Header-Content-Length": "2"}
    assert run(call(gate, "/v2/models/m/infer", b"x" * 500, headers=binary))[0] == 200
    status, _, body = run(call(gate, "/v2/models/m/infer", b"x" * 500))  # JSON: limit 100
    assert status == 413 and b"over the limit of 100 for JSON" in body and b"--max-json-mb" in body
    assert run(call(gate, "/v1/models/m:predict", b"x" * 101))[0] == 413
    assert run(call(gate, "/v2/models/m/classify", b"x" * 1000))[0] == 200
    assert run(call(gate, "/v2/models/m/classify", b"x" * 1001))[0] == 413
    # chunked: cut off while streaming
    chunks = [b"y" * 60, b"y" * 60]
    assert run(call(gate, "/v2/models/m/infer", chunks=chunks))[0] == 413
    assert run(call(gate, "/v2/models/m/infer", b"x", headers={"Content-Length": "-1"}))[0] == 413


def test_admission_answers_503_with_retry_after_at_once():
    async def scenario():
        hold = asyncio.Event()
        gate = Gate(App(hold=hold), policy(max_inflight=2))
        first = [asyncio.create_task(call(gate, "/v2/models/m/infer", b"{}")) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert gate.budget.inflight == 2
        refused = await asyncio.wait_for(call(gate, "/v2/models/m/infer", b"{}"), 1)
        hold.set()
        done = await asyncio.gather(*first)
        after = await call(gate, "/v2/models/m/infer", b"{}")
        return refused, done, after, gate

    (status, head, body), done, after, gate = run(scenario())
    assert status == 503 and head["retry-after"] == "1" and b"busy" in body
    assert [d[0] for d in done] == [200, 200] and after[0] == 200
    assert gate.budget.inflight == 0 and gate.budget.reserved == 0


def test_memory_budget_admits_one_request_always_and_bounds_the_rest():
    async def scenario():
        hold = asyncio.Event()
        # JSON costs 16x its size: a 100-byte body reserves 1600 of a 2000-byte budget
        gate = Gate(App(hold=hold), policy(max_inflight=10, memory_budget=2000))
        first = asyncio.create_task(call(gate, "/v2/models/m/infer", b"x" * 100))
        await asyncio.sleep(0.01)
        second = await call(gate, "/v2/models/m/infer", b"x" * 100)
        small = asyncio.create_task(call(gate, "/v2/models/m/infer", b"x" * 10))
        await asyncio.sleep(0.01)
        hold.set()
        return second, await first, await small

    second, first, small = run(scenario())
    assert (first[0], second[0], small[0]) == (200, 503, 200)
    lone = Gate(App(), policy(memory_budget=1))  # over budget alone: still admitted
    assert run(call(lone, "/v2/models/m/infer", b"x" * 100))[0] == 200


def test_errors_escaping_a_route(caplog):
    busy = Gate(App(fail=ServerBusyError("server busy: 512 images")), policy())
    status, head, body = run(call(busy, "/v2/models/m/infer", b"{}"))
    assert (status, head["retry-after"], orjson.loads(body)["error"]) == (
        503, "1", "server busy: 512 images")  # fmt: skip
    bug = Gate(App(fail=ValueError("a bug of ours")), policy())
    with caplog.at_level(logging.ERROR, logger="lcnet_ov.serve"):
        status, _, body = run(call(bug, "/v2/models/m/infer", b"{}"))
    assert status == 500 and b"ValueError" in body and b"a bug of ours" not in body
    (record,) = caplog.records
    text = record.getMessage()
    assert "ValueError: a bug of ours" in text and "test_serve_gate.py" in text
    assert record.exc_info is None and "\n" not in text


def test_api_key_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# operators\n{KEY}\n\n  another-key-0123456789  \n")
    assert read_api_keys(path) == (KEY, "another-key-0123456789")
    from lcnet_ov.errors import ServeError

    path.write_text("short\n")
    with pytest.raises(ServeError, match=r"keys:1: an API key must be") as err:
        read_api_keys(path)
    assert "short" not in str(err.value)  # the key itself is never printed
    path.write_text("# none\n")
    with pytest.raises(ServeError, match="no API key"):
        read_api_keys(path)
    with pytest.raises(ServeError, match="cannot read"):
        read_api_keys(tmp_path / "missing")


def test_options_never_show_the_keys():
    from lcnet_ov.serving.options import ServeOptions

    assert KEY not in repr(ServeOptions(api_keys=(KEY,)))
    assert KEY not in repr(policy(api_keys=(KEY,)))
