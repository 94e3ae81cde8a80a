"""uvicorn's httptools protocol with the bounds uvicorn 0.54 lacks: request-head size and request read time.

uvicorn with httptools limits neither the size of a request head (URL and headers are buffered without limit) nor
the time a client may take to send it (its keep-alive timer only runs between requests and is cancelled by any byte),
so one slow client ("slowloris") holds a connection for ever, and enough of them exhaust ``limit_concurrency``.

Rules (settings ``max_header_bytes`` and ``read_timeout``, read once per process from ``LEVPREF_*``):
- A request head (request line and headers) over ``max_header_bytes`` → 414 (mostly URL) or 431, and the
  connection is closed. Counted on the reads that fall wholly within a head (a read in which a head or a message
  ends is not counted, so a head may exceed the bound by at most one read, never a body be taken for a head).
- A request must arrive whole (head and body) within ``read_timeout`` seconds of its first byte (of the connection
  opening, for the first request); else 408 and the connection is closed. If the application is already waiting
  for the body, it sees a disconnect and changes nothing (``read_body`` raises ``ClientDisconnected``).
- A request the parser rejects → 400. Every one of these answers is JSON in shape B with code 0, followed by a
  short lingering close (at most 2 s and 4 MiB of input discarded) so that the client reads it.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from levpref.adapters.http import render
from levpref.config import Config

_LINGER_SECONDS = 2.0
_LINGER_BYTES = 4 * 1024 * 1024


@cache
def limits() -> tuple[int, float]:
    """``(max_header_bytes, read_timeout)`` of this process's configuration."""
    config = Config.from_env()
    return config.max_header_bytes, float(config.read_timeout)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head, self._read_timeout = limits()
        self._awaiting_head = True  # between a message's end and the next one's headers
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None  # the read deadline, or the end of lingering
        self._lingering = False
        self._lingered = 0
        self._boundary = False  # a head or a message ended within the read being parsed

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
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

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
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True
        self._boundary = True
        self._disarm()

    def send_400_response(self, msg: str) -> None:
        """Bytes the parser rejects (maybe after a good pipelined request): 400 unless a response is under way."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the earlier request's answer is dropped, as uvicorn itself would
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        self._write_error(400)
        self._linger()


__all__ = ["BoundedHttpToolsProtocol", "limits"]
