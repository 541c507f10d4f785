"""Lean HTTP/1.1 peers for the pipeline benchmark, on loopback.

The load generator and the fake Twilio share two cores with the app they
measure: written with aiohttp they cost as much CPU per message as a bare
endpoint does, and the app would be measured starved of the core they take.
These speak just enough HTTP/1.1 (keep-alive, Content-Length bodies) and
precompute what they can, so that nearly all the CPU goes to the servers under
test. The app and the baseline are measured with the same generator.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from urllib.parse import parse_qs, urlencode, urlsplit


def _head_and_body(buffer: bytearray) -> tuple[bytes, dict[bytes, bytes], bytes] | None:
    """(first line, headers, body) of the first complete message in `buffer`,
    removed from it; None while incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    if len(buffer) < end + 4 + length:
        return None
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    return lines[0], headers, body


class _ClientConnection(asyncio.Protocol):
    def __init__(self, on_response):
        self.buffer = bytearray()
        self.on_response = on_response
        self.transport: asyncio.Transport | None = None
        self.started = 0.0
        self.future: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        message = _head_and_body(self.buffer)
        if message is not None:
            status = int(message[0].split()[1])
            self.on_response(self, status, time.perf_counter() - self.started)

    def connection_lost(self, exc):
        self.closed = True
        self.on_response(self, 0, 0.0)


class LoadGenerator:
    """Signed form POSTs from a list of prebuilt requests, over keep-alive
    connections, one request in flight per connection."""

    def __init__(self, url: str, max_connections: int = 256):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.max_connections = max_connections
        self.idle: list[_ClientConnection] = []
        self.open = 0
        self.latencies: list[float] = []
        self.errors = 0
        self.in_flight = 0
        self.done = asyncio.Event()

    def build(self, fields: dict[str, str], headers: dict[str, str]) -> bytes:
        body = urlencode(fields).encode()
        head = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def _response(self, connection: _ClientConnection, status: int, latency: float) -> None:
        if connection.transport is None or connection.started == 0.0:
            return  # a connection closed while idle
        connection.started = 0.0
        connection.future.set_result(status)
        self.in_flight -= 1
        if status == 200:
            self.latencies.append(latency)
            self.idle.append(connection)
        else:
            self.errors += 1
            self.open -= 1
            connection.transport.close()
            connection.transport = None
        if self.in_flight == 0:
            self.done.set()

    async def _connection(self) -> _ClientConnection | None:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
            self.open -= 1
        if self.open >= self.max_connections:
            return None
        self.open += 1
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: _ClientConnection(self._response), self.host, self.port
        )
        return protocol

    async def send(self, request: bytes) -> asyncio.Future | None:
        """Send one request; a future of its status (None when no connection is left)."""
        connection = await self._connection()
        if connection is None:
            self.errors += 1  # more than max_connections waiting: the server is drowning
            return None
        self.in_flight += 1
        self.done.clear()
        connection.future = asyncio.get_running_loop().create_future()
        connection.started = time.perf_counter()
        connection.transport.write(request)
        return connection.future

    async def at_rate(self, requests, rate: float, seconds: float) -> int:
        """Open loop: one request every 1/rate s, whatever the answers' pace."""
        start = time.perf_counter()
        sent = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate) + 1
            while sent < due:
                await self.send(next(requests))
                sent += 1
            await asyncio.sleep(0.001)
        await self.drained(30)
        return sent

    async def flat_out(self, requests, seconds: float, concurrency: int = 64) -> float:
        """Closed loop, `concurrency` requests always in flight: answered requests per second."""
        count = 0
        start = time.perf_counter()
        deadline = start + seconds

        async def worker():
            nonlocal count
            while time.perf_counter() < deadline:
                future = await self.send(next(requests))
                if future is not None and await future == 200:
                    count += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - start)

    async def drained(self, timeout: float) -> None:
        if self.in_flight:
            await asyncio.wait_for(self.done.wait(), timeout)

    def close(self) -> None:
        for connection in self.idle:
            if connection.transport is not None:
                connection.transport.close()
        self.idle.clear()


class _TwilioConnection(asyncio.Protocol):
    def __init__(self, fake: LeanFakeTwilio):
        self.fake = fake
        self.buffer = bytearray()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while (message := _head_and_body(self.buffer)) is not None:
            self.transport.write(self.fake.answer(*message))


class LeanFakeTwilio:
    """Twilio's Messages resource: checks the account and the credentials, counts
    accepted messages (To and Body present), answers 201 with a sid."""

    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        self.path = f"/2010-04-01/Accounts/{account_sid}/Messages.json".encode()
        self.authorization = b"Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode())
        self.messages = 0
        self.refused = 0
        self._sids = itertools.count(1)
        self.server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> LeanFakeTwilio:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _TwilioConnection(self), "127.0.0.1", 0)
        return self

    def answer(self, first_line: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        method, path, _ = first_line.split(b" ", 2)
        form = parse_qs(body.decode())
        if (
            method != b"POST"
            or path != self.path
            or headers.get(b"authorization") != (self.authorization)
        ):
            self.refused += 1
            return _response(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
        if not form.get("To") or not form.get("Body"):
            self.refused += 1
            return _response(400, b'{"code": 21602, "message": "Body required", "status": 400}')
        self.messages += 1
        sid = f"SM{next(self._sids):032d}"
        return _response(201, b'{"sid": "%s", "status": "queued"}' % sid.encode())

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def _response(status: int, body: bytes) -> bytes:
    reason = {201: b"Created", 400: b"Bad Request", 401: b"Unauthorized"}[status]
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        reason,
        len(body),
        body,
    )
