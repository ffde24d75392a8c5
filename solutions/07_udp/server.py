"""Step 07: the echo service over UDP.

No listen, no accept, no connection: one socket receives every client's
datagrams with `recvfrom`, which also says who sent each, and `sendto`
answers that address. Each datagram is echoed back unchanged, id included.
"""

import argparse
import socket

from datagrams import MAX_DATAGRAM


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="UDP echo server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to receive on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    return parser.parse_args()


def serve_forever(host: str, port: int) -> None:
    """Echo every datagram to its sender until interrupted."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        print(f"listening on {host}:{sock.getsockname()[1]} (UDP)", flush=True)
        while True:
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
                sock.sendto(data, sender)
            except OSError as error:
                # One sender's trouble must not stop the server: an unreachable
                # address, or (on Windows) an earlier reply "refused" by a
                # client that had gone, reported on this recvfrom.
                print(f"a datagram could not be answered: {error}", flush=True)
    finally:
        sock.close()


def main() -> None:
    args = parse_args()
    try:
        serve_forever(args.host, args.port)
    except KeyboardInterrupt:
        print("server stopped", flush=True)


if __name__ == "__main__":
    main()
