"""A TCP proxy that delays every chunk by half a round trip in each direction: PostgreSQL "on another machine"
for the benchmark (these kernels have no netem).

    python -m bench.delay_proxy --listen 6000 --target 127.0.0.1:5432 --rtt-ms 0.5

Each direction of each connection is a queue: a chunk read at time t is written at t + rtt/2, in order, so the
delay adds to every round trip and never reorders bytes. It prints ``ready`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def forward() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()

    sender = asyncio.create_task(forward())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, chunk))
    finally:
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(Exception):
            await sender
        writer.close()


async def _serve(listen: int, host: str, port: int, delay: float) -> None:
    async def connection(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w, delay), _pipe(server_r, client_w, delay), return_exceptions=True)

    server = await asyncio.start_server(connection, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delay_proxy")
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--rtt-ms", type=float, required=True, help="the round trip to add (half each way)")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(args.listen, host, int(port), args.rtt_ms / 2000))


if __name__ == "__main__":
    main()
