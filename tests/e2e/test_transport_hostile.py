"""Both transports against a misbehaving server (tests/_support/hostile.py): what goes on the wire is
what the script wrote, made valid as httpx makes it, credentials never follow a redirect to another
origin, a POST is never sent twice, and no body can take the generator's memory. Each case failed
on the lean transport before issue #36."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterator
from typing import Any

import pytest

from perfmon import Metrics
from perfmon.load import Client, RequestError
from perfmon.loadgen.transports import TRANSPORTS, open_transport
from tests._support.hostile import Hostile, on_own_loop, serve_hostile

LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with serve_hostile() as server:
        yield server


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Hostile]:
    """A second origin (another port) a redirect can point to."""
    with serve_hostile() as server:
        yield server


async def _with_client(base_url: str, transport_name: str, work: Any, **client: Any) -> Any:
    transport = open_transport(transport_name, "perfmon-test", max_body=LIMIT)
    metrics = Metrics()
    try:
        return await work(Client(transport, metrics, base_url=base_url, timeout_s=10, **client)), metrics
    finally:
        await transport.close()


def _errors(metrics: Metrics) -> dict[str, float]:
    return {tags["error"]: metric.count for _, tags, metric in metrics.series("http_req_errors")}  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("code", ["302", "307"])
def test_credentials_do_not_follow_a_redirect_to_another_origin(hostile: Hostile, elsewhere: Hostile, transport: str,
                                                                 code: str) -> None:
    hostile.redirect_to = f"{elsewhere.url}/landing"
    elsewhere.requests.clear()

    async def work(client: Client) -> int:
        client.headers["Authorization"] = "Bearer s3cret-token"
        r = await client.post(f"/away/{code}", content=b"the body", headers={"Cookie": "session=s3cret-cookie"})
        return r.status_code

    status, _ = on_own_loop(_with_client(hostile.url, transport, work))
    assert status == 200
    (arrived,) = elsewhere.received("/landing")
    assert b"s3cret" not in arrived, arrived
    assert arrived.startswith(b"POST" if code == "307" else b"GET"), arrived
    assert arrived.endswith(b"the body") == (code == "307"), arrived  # a 307 repeats the body; a 302 drops it


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_credentials_follow_a_redirect_within_the_origin(hostile: Hostile, transport: str) -> None:
    hostile.redirect_to = f"{hostile.url}/echo/landed"

    async def work(client: Client) -> bytes:
        client.headers["Authorization"] = "Bearer same-origin"
        return (await client.get("/away/302")).content

    body, _ = on_own_loop(_with_client(hostile.url, transport, work))
    assert body.startswith(b"GET /echo/landed") and b"Bearer same-origin" in body, body


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("value", ["x\r\nX-Injected: 1", "x\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a", "x\nY", "x\0"])
def test_a_header_value_that_would_end_the_header_is_refused_unsent(hostile: Hostile, transport: str,
                                                                    value: str) -> None:
    before = len(hostile.requests)

    async def work(client: Client) -> str:
        with pytest.raises(RequestError) as caught:
            await client.get("/echo/crlf", headers={"X-Note": value})
        return caught.value.kind

    kind, metrics = on_own_loop(_with_client(hostile.url, transport, work))
    assert kind == "InvalidHeader"
    assert _errors(metrics) == {"InvalidHeader": 1}  # counted as a failed request, not lost
    assert len(hostile.requests) == before and not hostile.received("/smuggled")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("method", "sent"), [("POST", 1), ("GET", 2)])
def test_only_idempotent_requests_are_retried_when_a_kept_alive_connection_drops(
        hostile: Hostile, transport: str, method: str, sent: int) -> None:
    path = f"/drop/{transport}/{method}"

    async def work(client: Client) -> str:
        await client.get("/echo/warm")  # the connection is now kept alive and reused next
        with pytest.raises(RequestError) as caught:
            await client.request(method, path, content=b"order=1")
        return caught.value.kind

    kind, _ = on_own_loop(_with_client(hostile.url, transport, work))
    assert kind == "ServerDisconnectedError"
    assert len(hostile.received(path)) == sent


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("written", "on_the_wire"), [
    ("/echo/a b", b"GET /echo/a%20b HTTP/1.1"),
    ("/echo/caf\u00e9?q=cr\u00e8me br\u00fbl\u00e9e", b"GET /echo/caf%C3%A9?q=cr%C3%A8me%20br%C3%BBl%C3%A9e HTTP/1.1"),
    ("/echo/already%20escaped?a=1&b=%2F", b"GET /echo/already%20escaped?a=1&b=%2F HTTP/1.1"),
    ("/echo/page#section", b"GET /echo/page HTTP/1.1"),
])
def test_a_url_goes_out_percent_encoded_as_httpx_sends_it(hostile: Hostile, transport: str, written: str,
                                                          on_the_wire: bytes) -> None:
    async def work(client: Client) -> bytes:
        r = await client.get(written)
        assert r.status_code == 200
        return r.content

    body, _ = on_own_loop(_with_client(hostile.url, transport, work))
    assert body.split(b"\r\n", 1)[0] == on_the_wire


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_script_set_host_is_the_only_host(hostile: Hostile, transport: str) -> None:
    async def work(client: Client) -> bytes:
        return (await client.get("/echo/vhost", headers={"Host": "tenant.example"})).content

    body, _ = on_own_loop(_with_client(hostile.url, transport, work))
    hosts = [line for line in body.split(b"\r\n") if line.lower().startswith(b"host:")]
    assert hosts == [b"Host: tenant.example"], body


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_ipv6_target_gets_a_bracketed_host(transport: str) -> None:
    with serve_hostile("::1") as six:
        async def work(client: Client) -> bytes:
            r = await client.get("/echo/six")
            assert r.status_code == 200
            return r.content

        body, _ = on_own_loop(_with_client(six.url, transport, work))
    port = six.url.rsplit(":", 1)[1]
    assert f"\r\nHost: [::1]:{port}\r\n".encode() in body, body


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("path", ["/endless", "/huge", "/bomb"])
def test_no_body_can_take_the_generators_memory(hostile: Hostile, transport: str, path: str) -> None:
    """Each answer would be 256 MiB to 2 GiB held in memory; the request fails past the limit instead,
    recorded, and the process grows by far less than the body."""
    grown_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def work(client: Client) -> tuple[str, float]:
        with pytest.raises(RequestError) as caught:
            await client.get(path)
        return caught.value.kind, (await client.get("/echo/after")).status_code

    (kind, after), metrics = on_own_loop(_with_client(hostile.url, transport, work))
    assert kind == "ResponseTooLarge" and after == 200
    assert _errors(metrics) == {"ResponseTooLarge": 1}
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - grown_before
    assert grown_kib < 128 * 1024, f"the process grew by {grown_kib} KiB"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_101_is_an_answer_not_a_traceback(hostile: Hostile, transport: str, capfd: pytest.CaptureFixture[str]
                                            ) -> None:
    async def work(client: Client) -> int:
        status = (await client.get("/upgrade")).status_code
        await asyncio.sleep(0.2)  # anything the upgraded bytes would make asyncio log comes out here
        return status

    status, _ = on_own_loop(_with_client(hostile.url, transport, work))
    assert status == 101
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Fatal error" not in out + err, err


@pytest.mark.parametrize(("max_body_mb", "errors"), [(0.5, {"ResponseTooLarge"}), (2.0, set())])
def test_a_scenarios_max_body_mb_is_the_limit(hostile: Hostile, max_body_mb: float, errors: set[str]) -> None:
    """The 10-MiB default is a scenario key: a download test sets it higher, a test of small answers lower."""
    from perfmon.core.config import Scenario
    from perfmon.load import EngineOptions, VirtualUser, run_scenario

    async def fetch(client: Client, user: VirtualUser) -> None:
        try:
            await client.get("/bytes/1048576")
        except RequestError:
            pass

    scenario = Scenario(name="download", executor="per-vu-iterations", vus=1, iterations=3, think_time_s=0,
                        max_body_mb=max_body_mb)
    res = run_scenario(fetch, scenario, base_url=hostile.url, options=EngineOptions(progress=False))
    assert res.run is not None
    assert _errors(res.run.metrics).keys() == errors


@pytest.mark.parametrize("path", ["/cut", "/drop/fresh"])
def test_the_same_failure_has_the_same_error_kind_through_both_transports(hostile: Hostile, path: str) -> None:
    """A body cut short after its headers, and a connection closed before any answer, are named alike by
    both transports, so a run's http_req_errors{error} compares with history whichever measured it."""
    async def kind_of(client: Client) -> str:
        with pytest.raises(RequestError) as caught:
            await client.get(path)
        return caught.value.kind

    kinds = {name: on_own_loop(_with_client(hostile.url, name, kind_of))[0] for name in TRANSPORTS}
    assert len(set(kinds.values())) == 1, kinds


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once it is closed


@pytest.mark.parametrize("case", ["refused", "timeout"])
def test_a_refused_connection_and_a_timeout_have_the_same_kind_through_both_transports(hostile: Hostile,
                                                                                      case: str) -> None:
    """#36: the probe saw the same failure named differently by the two transports."""
    url = _closed_port_url() if case == "refused" else hostile.url

    async def kind_of(client: Client) -> str:
        with pytest.raises(RequestError) as caught:
            await client.get("/silent" if case == "timeout" else "/", timeout=0.5)
        return caught.value.kind

    kinds = {name: on_own_loop(_with_client(url, name, kind_of))[0] for name in TRANSPORTS}
    assert set(kinds.values()) == {"ClientConnectorError" if case == "refused" else "TimeoutError"}, kinds
