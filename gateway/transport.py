"""A lean HTTP/1.1 transport for the gateway's calls to the services behind it.

httpx's default transport (httpcore on anyio) costs the gateway more CPU per request than the
rest of a pass-through: cancel scopes around every read and write, and a pool that asks each
connection whether it expired on every request. The services answer plain HTTP/1.1 on a trusted
network, so this transport speaks just that: asyncio protocols on keep-alive connections, the
answer parsed by httptools (the C parser uvicorn uses). It plugs into `httpx.AsyncClient`, so
callers, timeouts-as-`httpx.HTTPError` and tests stay as they are. Anything else (https, HEAD,
upgrades) goes to httpx's own transport.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast
from urllib.parse import quote

import httptools
import httpx

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_OWN_METHODS = frozenset({"GET", "DELETE", *_BODY_METHODS})
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"  # what a path may hold as it is (RFC 3986), as httpx keeps


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._parser: Any = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self._headers_done = False
        self.keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # nothing was asked: a service does not speak first
            self._close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {exc}"))
            self._close()

    def eof_received(self) -> bool:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            framed = any(name.lower() in _FRAMING for name, _ in self.headers)
            if self._headers_done and not framed:  # an answer delimited by the close
                waiter.set_result(None)
            else:
                waiter.set_exception(httpx.RemoteProtocolError("the service closed early"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(httpx.ReadError(f"connection lost: {exc or 'closed'}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.status < 200:  # an interim answer (100 Continue): the real one follows
            self.headers, self.body, self._headers_done = [], [], False
            return
        self.keep_alive = self._parser.should_keep_alive()  # only valid until the callback ends
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # the client's side
    async def exchange(self, data: bytes) -> None:
        """Send one request and wait for its whole answer."""
        assert self.transport is not None
        self._parser = httptools.HttpResponseParser(self)
        self.status, self.headers, self.body, self._headers_done = 0, [], [], False
        self.keep_alive = False
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            await self._waiter
        finally:
            self._waiter = None

    def reusable(self) -> bool:
        return not self.closed and self.keep_alive

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http11Transport(httpx.AsyncBaseTransport):
    """Plain HTTP/1.1 with keep-alive to the services behind the gateway (see the module)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        max_connections: int = 200,
        max_idle: int = 100,
        idle_s: float = 4.0,  # under uvicorn's 5 s keep-alive: never reuse one it is closing
    ) -> None:
        self.timeout_s = timeout_s
        self.max_idle = max_idle
        self.idle_s = idle_s
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._fallback = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http" or request.method not in _OWN_METHODS:
            return await self._fallback.handle_async_request(request)
        body = await request.aread()
        headers = [(n, v) for n, v in request.headers.raw if n.lower() not in _FRAMING]
        status, answer_headers, content = await self.exchange(
            (url.host, url.port or 80), request.method, url.raw_path, headers, body, request=request
        )
        return httpx.Response(
            status, headers=answer_headers, stream=httpx.ByteStream(content), request=request
        )

    async def exchange(
        self,
        address: tuple[str, int],
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        request: httpx.Request | None = None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request (headers with Host, without framing) and its answer: status, headers,
        body. Failures raise `httpx.TransportError`s, as httpx's transport does."""
        head = [method.encode(), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            if b"\r" in value or b"\n" in value:
                raise httpx.LocalProtocolError("a header value holds a line break", request=request)
            head += [name, b": ", value, b"\r\n"]
        if body or method in _BODY_METHODS:
            head.append(b"Content-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        data = b"".join(head) + body
        async with self._slots:
            conn = await self._connection(address, request)
            try:
                async with asyncio.timeout(self.timeout_s):
                    await conn.exchange(data)
            except TimeoutError:
                conn._close()
                raise httpx.ReadTimeout(
                    "the service did not answer in time", request=request
                ) from None
            except BaseException:
                conn._close()
                raise
            self._release(address, conn)
        return conn.status, conn.headers, b"".join(conn.body)

    async def _connection(
        self, address: tuple[str, int], request: httpx.Request | None
    ) -> _Connection:
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_s:
                return conn
            conn._close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                _, conn = await loop.create_connection(_Connection, *address)
        except TimeoutError:
            raise httpx.ConnectTimeout("connecting timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        return conn

    def _release(self, address: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(address, [])
        if conn.reusable() and len(idle) < self.max_idle:
            conn.idle_since = time.monotonic()
            idle.append(conn)
        else:
            conn._close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn._close()
        self._idle.clear()
        await self._fallback.aclose()


class ServiceClient(httpx.AsyncClient):
    """An httpx client for one service over `Http11Transport`, with a pass-through that skips
    httpx's request and response models (the gateway's hot path)."""

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self.lean = Http11Transport(timeout_s=timeout_s)
        super().__init__(base_url=base_url, timeout=timeout_s, transport=self.lean)
        base = httpx.URL(base_url)
        self._plain = base.scheme == "http"  # else (https) httpx's own way, below
        self._address = (base.host, base.port or 80)
        self._host = base.netloc
        self._prefix = quote(base.path.rstrip("/"), safe=_PATH_SAFE)

    async def passthrough(
        self, method: str, path: str, query: bytes, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """`method` on `path` (percent-encoded here) with the raw `query` string: the answer's
        status, headers and body."""
        target = quote(path, safe=_PATH_SAFE).encode("ascii")
        if query:
            target += b"?" + query
        if not self._plain:
            answer = await self.request(
                method, target.decode("ascii"), content=body or None, headers=headers
            )
            return answer.status_code, answer.headers.raw, answer.content
        target = self._prefix.encode("ascii") + target
        raw = [(b"Host", self._host)]
        # latin-1: the bytes of an incoming header go on unchanged (Starlette decodes them so)
        raw += [(n.encode("ascii"), v.encode("latin-1")) for n, v in headers]
        return await self.lean.exchange(self._address, method, target, raw, body)
