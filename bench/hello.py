"""The ceiling: a raw ASGI hello world served exactly the way ``levpref serve`` serves levpref.

Same HTTP server and settings as ``levpref.cli._serve`` (uvicorn, uvloop, httptools, no access log, keep-alive 30 s,
limit_concurrency 2048, same worker count). It answers every request with a fixed JSON body of the size of a PUT
success (with the same three headers), so the difference between this and levpref is the application's own cost.

    python -m bench.hello --port 8788 [--workers 1]
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
BODY = b'{"result":"success","serverTime":"2026-01-01T00:00:00.000Z"}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"x-request-id", b"0123456789abcdef"),
]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.hello:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=30,
        limit_concurrency=2048,
        h11_max_incomplete_event_size=65536,
    )


if __name__ == "__main__":
    main()
