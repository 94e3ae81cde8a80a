"""A TCP proxy that counts round trips as the wire sees them, to check the drivers' own count against it.

A round trip is a *turn*: the server answers after the client sent something since the server's last answer. A
pipelined batch the client sends in several writes, or an answer the server sends in several chunks, is one turn;
a client that waits for each statement's answer makes one turn per statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field


@dataclass
class _Connection:
    asked: bool = False  # the client sent something the server has not answered yet


@dataclass
class TurnCounter:
    target_host: str
    target_port: int
    port: int = 0
    _turns: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def turns(self) -> int:
        with self._lock:
            return self._turns

    def start(self) -> TurnCounter:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            server.close()

        self._thread = threading.Thread(target=run, name="turn-counter", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(self.target_host, self.target_port)
        state = _Connection()
        await asyncio.gather(
            self._pipe(client_r, server_w, state, answers=False),
            self._pipe(server_r, client_w, state, answers=True),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: _Connection, *, answers: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if not answers:
                    state.asked = True  # before forwarding: the answer may come back at once
                elif state.asked:
                    state.asked = False
                    with self._lock:
                        self._turns += 1
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
