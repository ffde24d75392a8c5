"""Line echo server on asyncio's Protocol API, the way its documentation shows it.

    python asyncio_echo.py [--host HOST] [--port PORT] [--uvloop]

Prints "listening on HOST:PORT" when ready. Every line ending in b"\\n" is sent
back; a partial line waits for its end. `--uvloop` runs the same protocol on
uvloop's event loop (libuv underneath) instead of asyncio's own.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Callable
from typing import cast

MAX_LINE = 1024 * 1024  # a longer partial line closes the connection: bounded memory


class LineEcho(asyncio.Protocol):
    def __init__(self) -> None:
        self.partial = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        pending = self.partial + data if self.partial else data
        # One write for every complete line in this chunk: the same bytes as
        # a write per line, and the usual way to answer a pipelining client.
        end = pending.rfind(b"\n") + 1
        if end:
            self.transport.write(pending[:end])
        self.partial = pending[end:]
        if len(self.partial) > MAX_LINE:
            self.transport.close()

    def pause_writing(self) -> None:
        # The client stopped reading its replies: stop reading its requests.
        assert self.transport is not None
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        assert self.transport is not None
        self.transport.resume_reading()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(LineEcho, host, port)
    bound_port = server.sockets[0].getsockname()[1]
    print(f"listening on {host}:{bound_port}", flush=True)
    async with server:
        await server.serve_forever()


def loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if not use_uvloop:
        return None
    # Imported by name so that the module type-checks where uvloop is not installed.
    uvloop = importlib.import_module("uvloop")
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main() -> None:
    parser = argparse.ArgumentParser(description="Line echo server on asyncio Protocols.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=loop_factory(args.uvloop)) as runner:
        try:
            runner.run(serve(args.host, args.port))
        except KeyboardInterrupt:
            print("server stopped", flush=True)


if __name__ == "__main__":
    main()
