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
    """Echo every datagram to its sender until interrupted.

    1. sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.bind((host, port)).
       No listen(), no accept(): this one socket serves every client.
    2. Print the port it is bound to: sock.getsockname()[1] (flush=True).
    3. Loop forever: data, sender = sock.recvfrom(MAX_DATAGRAM);
       sock.sendto(data, sender), unchanged (an empty datagram too).
    4. Around recvfrom and sendto: except OSError: print a note, go on to the next one.
    5. finally: sock.close().
    """
    raise NotImplementedError("step 07_udp: write serve_forever")


def main() -> None:
    args = parse_args()
    try:
        serve_forever(args.host, args.port)
    except KeyboardInterrupt:
        print("server stopped", flush=True)


if __name__ == "__main__":
    main()
