"""The gateway's HTTP/1.1 transport to the services, against a scripted server: keep-alive,
framing (length, chunked, close), failures as httpx errors, what goes on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from gateway.transport import ServiceClient

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _request(reader: asyncio.StreamReader) -> bytes:
    """One request as it came on the wire (head and body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def _run(script: Script, test: Callable[[ServiceClient], Awaitable[None]]) -> None:
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await script(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed a connection it no longer wants
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with ServiceClient(f"http://127.0.0.1:{port}/base", timeout_s=2) as client:
            await test(client)
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()

    asyncio.run(main())


def test_answers_on_one_kept_alive_connection_with_every_kind_of_framing():
    seen: list[bytes] = []
    connections = 0
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\ngone",
    ]

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while answers:
            seen.append(await _request(reader))
            answer = answers.pop(0)
            writer.write(answer)
            if b"close" in answer:
                break
        writer.close()

    async def test(client: ServiceClient) -> None:
        first = await client.passthrough(
            "POST", "/v1/a b", b"x=1&y=%2F", [("Content-Type", "application/xml")], b"<x/>"
        )
        assert first == (
            200,
            [(b"Content-Length", b"5"), (b"Content-Type", b"text/plain")],
            b"hello",
        )
        status, headers, body = await client.passthrough("GET", "/v1/b", b"", [], b"")
        assert (status, body) == (202, b"abcde") and (b"X-A", b"2") in headers
        plain = await client.get("/v1/c", params={"q": "1"})  # httpx's API, same transport
        assert (plain.status_code, plain.content) == (404, b"gone")

    _run(script, test)
    assert connections == 1
    assert seen[0].startswith(b"POST /base/v1/a%20b?x=1&y=%2F HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Type: application/xml\r\nContent-Length: 4\r\n\r\n<x/>" in seen[0]
    assert seen[1].startswith(b"GET /base/v1/b HTTP/1.1\r\n") and b"Content-Length" not in seen[1]
    assert seen[2].startswith(b"GET /base/v1/c?q=1 HTTP/1.1\r\n")


def test_a_closed_keep_alive_connection_is_not_reused():
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # as uvicorn does after its keep-alive timeout

    async def test(client: ServiceClient) -> None:
        for _ in range(3):
            assert (await client.passthrough("GET", "/v1/x", b"", [], b""))[0] == 200
            await asyncio.sleep(0.05)

    _run(script, test)
    assert connections == 3


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", httpx.RemoteProtocolError),
        (b"NOT HTTP\r\n\r\n", httpx.RemoteProtocolError),
        (None, httpx.ReadTimeout),
    ],
)
def test_a_broken_or_silent_service_is_an_httpx_error(answer, error):
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        if answer is None:
            await asyncio.sleep(5)
        else:
            writer.write(answer)
            await writer.drain()
        writer.close()

    async def test(client: ServiceClient) -> None:
        with pytest.raises(error):
            await client.passthrough("GET", "/v1/x", b"", [], b"")

    _run(script, test)


def test_nothing_listening_and_a_line_break_in_a_header_are_httpx_errors():
    async def main() -> None:
        async with ServiceClient("http://127.0.0.1:9", timeout_s=2) as client:
            with pytest.raises(httpx.ConnectError):
                await client.passthrough("GET", "/v1/x", b"", [], b"")
            with pytest.raises(httpx.LocalProtocolError):
                await client.passthrough("GET", "/v1/x", b"", [("X-A", "a\r\nX-B: b")], b"")

    asyncio.run(main())


def test_a_service_behind_https_is_passed_through_by_httpx_itself():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, headers={"Location": "/v1/x/1"}, content=b"{}")

    async def main() -> None:
        async with ServiceClient("https://customs.example/base", timeout_s=2) as client:
            await client.lean.aclose()
            client._transport = httpx.MockTransport(answer)  # what httpx would send
            found = await client.passthrough("POST", "/v1/a b", b"q=1", [("X-A", "1")], b"<x/>")
            assert (
                found[0] == 201
                and found[2] == b"{}"
                and (b"location", b"/v1/x/1") in [(n.lower(), v) for n, v in found[1]]
            )

    asyncio.run(main())
    assert str(seen[0].url) == "https://customs.example/base/v1/a%20b?q=1"
    assert seen[0].content == b"<x/>" and seen[0].headers["x-a"] == "1"
