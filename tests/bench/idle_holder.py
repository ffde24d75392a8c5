"""Hold many idle connections to a server, for the C10K benchmark.

    python -m tests.bench.idle_holder PORT COUNT

Connects COUNT sockets to 127.0.0.1:PORT in batches of non-blocking connects,
prints "holding COUNT" once every one is established, then sends nothing and
holds them until its standard input closes (or it is signalled). The caller
raises RLIMIT_NOFILE for this process: COUNT descriptors are far above the
usual 1024.
"""

from __future__ import annotations

import argparse
import errno
import selectors
import socket
import sys
import time

BATCH = 100  # under the server's listen backlog: no SYN is dropped and retried a second later
BATCH_SECONDS = 10.0  # for one batch to be established


def connect_batch(port: int, count: int) -> list[socket.socket]:
    """`count` established connections, or an OSError naming the first failure."""
    batch: list[socket.socket] = []
    try:
        with selectors.DefaultSelector() as selector:
            for _ in range(count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                batch.append(sock)
                sock.setblocking(False)
                code = sock.connect_ex(("127.0.0.1", port))
                if code not in (0, errno.EINPROGRESS):
                    raise OSError(code, f"connect failed: {errno.errorcode.get(code, code)}")
                selector.register(sock, selectors.EVENT_WRITE, data=sock)
            waiting = count
            deadline = time.monotonic() + BATCH_SECONDS
            while waiting and (left := deadline - time.monotonic()) > 0:
                for key, _ in selector.select(timeout=left):
                    ready: socket.socket = key.data
                    code = ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise OSError(code, f"connect failed: {errno.errorcode.get(code, code)}")
                    selector.unregister(ready)
                    waiting -= 1
            if waiting:
                raise OSError(errno.ETIMEDOUT, f"{waiting} connects unfinished after "
                                               f"{BATCH_SECONDS:.0f} s")
    except BaseException:
        for sock in batch:
            sock.close()
        raise
    return batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    args = parser.parse_args()
    held: list[socket.socket] = []
    try:
        while len(held) < args.count:
            held += connect_batch(args.port, min(BATCH, args.count - len(held)))
        print(f"holding {len(held)}", flush=True)
        sys.stdin.read()  # until the caller closes our stdin: it is done measuring
    except OSError as error:
        print(f"failed after {len(held)} connections: {error}", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in held:
            sock.close()


if __name__ == "__main__":
    main()
