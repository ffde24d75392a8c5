"""Step 06 under load: the reference server sends one large file to many
clients at once. Prints the total throughput and the server's peak memory.

    python -m tests.bench.streaming [--size-mb 200] [--clients 20]
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.grading import SOLUTIONS

HEADER = struct.Struct("!BI")
GET, DATA, DONE = 2, 3, 4
SERVER = SOLUTIONS / "06_streaming" / "server.py"


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as stream:
        for _ in range(size // len(block)):
            stream.write(block)
        stream.write(block[:size % len(block)])


def start_server(root: Path) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", "--root", str(root)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()  # "listening on 127.0.0.1:PORT"
    return server, int(line.rsplit(":", 1)[1])


def peak_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def fetch_all(port: int, clients: int, name: bytes, size: int) -> int:
    """Every client GETs the file at once; received bytes are counted, not kept."""
    selector = selectors.DefaultSelector()
    expected = HEADER.size + size + HEADER.size + 64  # DATA frame, then DONE with hex SHA-256
    received: dict[socket.socket, int] = {}
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(HEADER.pack(GET, len(name)) + name)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, data=sock)
        received[sock] = 0
    buffer = bytearray(1024 * 1024)
    done = 0
    deadline = time.monotonic() + 600
    while done < clients and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            client: socket.socket = key.data
            count = client.recv_into(buffer)
            received[client] += count
            if count == 0 or received[client] >= expected:
                selector.unregister(client)
                client.close()
                done += 1
    selector.close()
    return sum(received.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_file(root / "big.bin", size)
        server, port = start_server(root)
        try:
            started = time.perf_counter()
            total = fetch_all(port, args.clients, b"big.bin", size)
            elapsed = time.perf_counter() - started
            peak = peak_memory_kib(server.pid)
        finally:
            server.kill()
            server.wait()
    expected = args.clients * (size + 2 * HEADER.size + 64)
    print(f"streaming: {args.size_mb} MB file to {args.clients} clients at once")
    print(f"  received        {total / 2**20:,.0f} MiB of {expected / 2**20:,.0f} MiB expected")
    print(f"  wall time       {elapsed:.1f} s")
    print(f"  throughput      {total / 2**20 / elapsed:,.0f} MiB/s in total")
    print(f"  server peak RSS {peak / 1024:.1f} MiB (file x clients = "
          f"{size * args.clients / 2**20:,.0f} MiB)")


if __name__ == "__main__":
    main()
