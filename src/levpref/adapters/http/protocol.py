"""uvicorn's httptools protocol with the bounds uvicorn 0.54 lacks: connections per address, idle connections,
requests in progress, request-head size and count, and request read time (SPEC §2.5).

uvicorn with httptools limits neither the size of a request head (URL and headers are buffered without limit) nor
the time a client may take to send it (its keep-alive timer only runs between requests and is cancelled by any byte),
so one slow client ("slowloris") holds a connection for ever, and enough of them exhaust ``limit_concurrency``.

uvicorn's own ``limit_concurrency`` counts open connections, so idle connections that never send a byte exhaust it
and every other client gets a text/plain 503; it is disabled here and replaced by the bounds below.

Rules (settings read once per process from ``LEVPREF_*``):
- At most ``max_connections_per_ip`` open connections per client address (per server process): one more is
  answered 429 ``TOO_MANY_CONNECTIONS`` and closed. The address is the TCP peer's (behind a proxy, every
  connection comes from the proxy: raise the bound there, and let the proxy limit its clients).
- A connection must send a complete request head within ``idle_timeout`` seconds of opening, or of the end of its
  previous response; else it is closed (with 408 when part of a head had arrived).
- At most ``max_requests_in_progress`` requests run at once (idle keep-alive connections do not count); one more is
  answered 503 ``SERVICE_UNAVAILABLE``.
- A request head (URL and headers, counted exactly as the parser delivers them, and also per read while a head is
  arriving so that a never-ending header is caught) over ``max_header_bytes`` → 414 (mostly URL) or 431; more than
  ``max_headers`` header lines → 431. The connection is closed.
- A request must arrive whole (head and body) within ``read_timeout`` seconds of its first byte (of the connection
  opening, for the first request); else 408 and the connection is closed. If the application is already waiting
  for the body, it sees a disconnect and changes nothing (``read_body`` raises ``ClientDisconnected``).
- A request the parser rejects → 400. Every one of these answers is JSON in shape B with code 0, followed by a
  short lingering close (at most 2 s and 4 MiB of input discarded) so that the client reads it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from levpref.adapters.http import render
from levpref.adapters.http.asgi import Receive, Scope, Send
from levpref.config import Config

_LINGER_SECONDS = 2.0
_LINGER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_header_bytes: int
    max_headers: int
    read_timeout: float
    idle_timeout: float
    max_connections_per_ip: int
    max_requests_in_progress: int


@cache
def limits() -> Limits:
    """The connection and request bounds of this process's configuration."""
    c = Config.from_env()
    return Limits(
        c.max_header_bytes,
        c.max_headers,
        float(c.read_timeout),
        float(c.idle_timeout),
        c.max_connections_per_ip,
        c.max_requests_in_progress,
    )


_OPEN_PER_ADDRESS: Counter[str] = Counter()  # open connections per client address, in this process


async def _service_unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """503 in shape B, for a request beyond ``max_requests_in_progress``."""
    _, body = render.routing_error(503)
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _HeadTooLarge(Exception):
    """Raised from a parser callback: the head is over a bound (the status to answer is kept on the protocol)."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits()
        self._max_head, self._read_timeout = self._limits.max_header_bytes, self._limits.read_timeout
        self.limit_concurrency = None  # uvicorn's counts idle connections; requests in progress are bounded below
        self._awaiting_head = True  # between a message's end and the next one's headers
        self._head_bytes = 0
        self._parsed_head_bytes = 0  # URL and headers delivered by the parser for the head being read
        self._header_count = 0
        self._refusal = 400  # what send_400_response answers (a callback may have found a head too large)
        self._address: str | None = None  # counted in _OPEN_PER_ADDRESS
        self._deadline: asyncio.TimerHandle | None = None  # the read deadline, or the end of lingering
        self._idle: asyncio.TimerHandle | None = None  # the deadline for a complete request head
        self._lingering = False
        self._lingered = 0
        self._boundary = False  # a head or a message ended within the read being parsed
        self._head_started = False  # part of a request head has been parsed

    # --- timers -------------------------------------------------------------------------------------------------
    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        self._abandon(408)

    def _arm_idle(self) -> None:
        self._disarm_idle()
        self._idle = self.loop.call_later(self._limits.idle_timeout, self._idle_timed_out)

    def _disarm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _idle_timed_out(self) -> None:
        """No complete request head in time: close (408 if part of one had arrived)."""
        self._idle = None
        cycle = self.cycle
        if not self._awaiting_head or (cycle is not None and not cycle.response_complete) or self._lingering:
            return
        if self._head_bytes > 0 or self._head_started:
            self._abandon(408)
        elif not self.transport.is_closing():
            self.transport.close()

    # --- refusing a request that is still arriving ------------------------------------------------------------
    def _abandon(self, status: int) -> None:
        """Stop reading this connection: answer ``status`` unless another answer is under way on it, then close."""
        if self._lingering or self.transport.is_closing():
            return
        cycle = self.cycle
        busy = cycle is not None and not cycle.response_complete
        if cycle is not None and busy:
            cycle.disconnected = True  # the application's next receive() is a disconnect, its send() a no-op
            cycle.message_event.set()
            if cycle.response_started or self.pipeline or self._awaiting_head:
                self.transport.close()  # a response is (or would be) under way on this connection: hang up
                return
        if busy or self._awaiting_head:
            self._write_error(status)
        self._linger()

    def _linger(self) -> None:
        """Half-close, and discard what the client still sends for a moment before closing: closing a socket with
        unread input sends a reset, which can destroy the answer before the client reads it."""
        self._disarm()
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._deadline = self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _write_error(self, status: int) -> None:
        _, body = render.routing_error(status)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: ",
            str(len(body)).encode(),
            b"\r\nx-request-id: ",
            secrets.token_hex(8).encode(),
            b"\r\nconnection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)

    # --- uvicorn's protocol ---------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else "unknown"
        _OPEN_PER_ADDRESS[self._address] += 1
        if _OPEN_PER_ADDRESS[self._address] > self._limits.max_connections_per_ip:
            self._write_error(429)
            self._linger()
            return
        self._arm()
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._disarm_idle()
        if self._address is not None:
            _OPEN_PER_ADDRESS[self._address] -= 1
            if _OPEN_PER_ADDRESS[self._address] <= 0:
                del _OPEN_PER_ADDRESS[self._address]
            self._address = None
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_idle()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_head(len(url), header=False)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count_head(len(name) + len(value) + 4, header=True)

    def _count_head(self, size: int, *, header: bool) -> None:
        """Bound the head exactly as the parser delivers it; raising aborts the parse (see send_400_response)."""
        self._parsed_head_bytes += size
        self._header_count += header
        if self._parsed_head_bytes > self._max_head:
            url = getattr(self, "url", b"") or b""
            self._refusal = 414 if 2 * len(url) > self._parsed_head_bytes else 431
            raise _HeadTooLarge
        if self._header_count > self._limits.max_headers:
            self._refusal = 431
            raise _HeadTooLarge

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._lingered += len(data)
            if self._lingered > _LINGER_BYTES:
                self.transport.close()
            return
        if self._awaiting_head:
            self._arm()
        self._boundary = False
        super().data_received(data)
        if self._awaiting_head and not self._boundary and not self._lingering and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head:
                url = getattr(self, "url", b"") or b""
                self._abandon(414 if 2 * len(url) > self._head_bytes else 431)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._boundary = True
        self._head_bytes = self._parsed_head_bytes = self._header_count = 0
        self._head_started = False
        self._disarm_idle()
        if len(self.tasks) < self._limits.max_requests_in_progress:
            super().on_headers_complete()
            return
        app, self.app = self.app, _service_unavailable  # this one request only: too many in progress
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True
        self._boundary = True
        self._disarm()

    def send_400_response(self, msg: str) -> None:
        """Bytes the parser rejects (maybe after a good pipelined request): 400 unless a response is under way; or
        a head a parser callback found too large (414/431)."""
        status, self._refusal = self._refusal, 400
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the earlier request's answer is dropped, as uvicorn itself would
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        self._write_error(status)
        self._linger()


assert issubclass(httptools.HttpParserCallbackError, httptools.HttpParserError)  # what data_received catches

__all__ = ["BoundedHttpToolsProtocol", "limits"]
