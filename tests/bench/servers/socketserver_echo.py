"""Line echo server on the standard library's `socketserver`: a thread per client.

    python socketserver_echo.py [--host HOST] [--port PORT]

Prints "listening on HOST:PORT" when ready. Every line ending in b"\\n" is sent
back. This is what the documentation's ThreadingTCPServer example grows into.
"""

from __future__ import annotations

import argparse
import socketserver

MAX_LINE = 1024 * 1024  # a longer line closes the connection: bounded memory


class LineEchoHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            # readline with a limit: a line without an end cannot grow forever.
            line = self.rfile.readline(MAX_LINE + 1)
            if not line.endswith(b"\n"):
                return  # end of stream, or a line over the limit
            self.wfile.write(line)


class LineEchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True  # a client still connected must not keep Ctrl-C from ending us
    request_queue_size = 128


def main() -> None:
    parser = argparse.ArgumentParser(description="Line echo server on socketserver.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    args = parser.parse_args()
    with LineEchoServer((args.host, args.port), LineEchoHandler) as server:
        print(f"listening on {args.host}:{server.server_address[1]}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("server stopped", flush=True)


if __name__ == "__main__":
    main()
