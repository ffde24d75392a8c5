"""No false alarms: correct programs written another way keep full marks.

Each variation is a reference solution rewritten the way a good student
might: `with` blocks instead of close(), other buffer sizes, logging on
stderr, other names, the short socket helpers, another structure altogether.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grading import Mutation, grade, processes_running_from

WITH_BLOCKS_SERVER_01 = '''
def serve_one_client(host: str, port: int) -> None:
    with socket.create_server((host, port)) as server_socket:
        print(f"waiting on port {server_socket.getsockname()[1]}", flush=True)
        client_socket, _ = server_socket.accept()
        with client_socket:
            received = client_socket.recv(4096)
            client_socket.sendall(received)
'''

SHORT_CLIENT_01 = '''
def ask_server(host: str, port: int, message: str) -> str:
    with socket.create_connection((host, port)) as connection:
        connection.sendall(message.encode())
        return connection.recv(65536).decode(errors="replace")
'''

LOGGING_SERVER_02 = '''
def serve_client(conn: socket.socket, idle_timeout: float) -> None:
    import logging
    logging.basicConfig(level=logging.DEBUG)
    log = logging.getLogger("server")
    with conn:
        conn.settimeout(idle_timeout)
        try:
            data = conn.recv(16)
            log.debug("got %r", data)
            if data:
                conn.sendall(data)
        except OSError as problem:
            log.warning("dropping a client: %s", problem)
'''

TINY_READS_SERVER_03 = ("BUFFER_SIZE = 4096\n", "BUFFER_SIZE = 7\n")

SOCKETSERVER_04 = '''
def serve_forever(host: str, port: int, idle_timeout: float) -> None:
    import socketserver

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            serve_client(self.request, idle_timeout)

    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((host, port), Handler) as server:
        print(f"listening on {host}:{server.server_address[1]}", flush=True)
        server.serve_forever()
'''

# A selectors server in another style, with none of step 05's safeguards (idle
# timeout, line limit, client cap, SIGTERM): tests/test_buggy_submissions.py
# grades it and expects exactly those checks to fail.
FUNCTIONS_AND_DICTS_05 = '''
def main() -> None:
    args = parse_args()
    selector = selectors.DefaultSelector()
    listening = socket.create_server((args.host, args.port), backlog=64)
    listening.setblocking(False)
    selector.register(listening, selectors.EVENT_READ)
    print(f"listening on {args.host}:{listening.getsockname()[1]}", flush=True)
    buffers: dict[socket.socket, tuple[bytearray, bytearray]] = {}

    done_sending: set[socket.socket] = set()  # replies still owed after their EOF

    def drop(sock: socket.socket) -> None:
        selector.unregister(sock)
        sock.close()
        del buffers[sock]
        done_sending.discard(sock)

    try:
        while True:
            for key, mask in selector.select():
                sock = key.fileobj
                if sock is listening:
                    try:
                        new, _ = listening.accept()
                    except BlockingIOError:
                        continue
                    new.setblocking(False)
                    buffers[new] = (bytearray(), bytearray())
                    selector.register(new, selectors.EVENT_READ)
                    continue
                incoming, outgoing = buffers[sock]
                try:
                    if mask & selectors.EVENT_READ and sock not in done_sending:
                        data = sock.recv(1 << 20)
                        if not data:
                            done_sending.add(sock)
                        incoming += data
                        *complete, rest = incoming.split(b"\\n")
                        for line in complete:
                            outgoing += line + b"\\n"
                        incoming[:] = rest
                    if outgoing:
                        del outgoing[:sock.send(outgoing)]
                except BlockingIOError:
                    pass
                except OSError:
                    drop(sock)
                    continue
                if sock in done_sending and not outgoing:
                    drop(sock)
                    continue
                wanted = selectors.EVENT_WRITE if outgoing else 0
                if len(outgoing) < 1_000_000 and sock not in done_sending:
                    wanted |= selectors.EVENT_READ
                selector.modify(sock, wanted)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in list(buffers):
            drop(sock)
        selector.close()
        listening.close()
'''

RANDOM_IDS_07 = ('        first_id = random.randrange(1, 2**31)\n'
                 '        for number, message in enumerate(messages):\n'
                 '            print(ask(sock, first_id + number, message, timeout, retries), '
                 'flush=True)\n',
                 '        for message in messages:\n'
                 '            print(ask(sock, random.randrange(10**9), message, timeout, retries), '
                 'flush=True)\n')

LOG_EVERY_LINE_05 = ("        self.outbox += self.lines.feed_whole_lines(data)\n",
                     "        replies = self.lines.feed_whole_lines(data)\n"
                     "        for line in bytes(replies).splitlines():\n"
                     "            print(f'{self.address}: echoing {line!r}', flush=True)\n"
                     "        self.outbox += replies\n")

VARIATIONS = [
    Mutation("with blocks and create_server instead of close()", "01_hello", "server.py",
             functions={"serve_one_client": WITH_BLOCKS_SERVER_01}),
    Mutation("create_connection and a larger recv", "01_hello", "client.py",
             functions={"ask_server": SHORT_CLIENT_01}),
    Mutation("logging on stderr, a with block, a small recv", "02_timeouts", "server.py",
             functions={"serve_client": LOGGING_SERVER_02}),
    Mutation("recv of 7 bytes at a time", "03_messages", "server.py",
             replacements=[TINY_READS_SERVER_03]),
    Mutation("socketserver.ThreadingTCPServer", "04_threads", "server.py",
             functions={"serve_forever": SOCKETSERVER_04}),
    Mutation("random ids instead of consecutive ones", "07_udp", "client.py",
             replacements=[RANDOM_IDS_07]),
    # A tutorial's habit: a log line per echoed line, the line in it. The
    # 10,000-line check makes it print 10 MB: output is never a crime.
    Mutation("a log line with every line it echoes", "05_event_loop", "connection.py",
             replacements=[LOG_EVERY_LINE_05]),
]


@pytest.mark.parametrize("variation", VARIATIONS, ids=[v.name for v in VARIATIONS])
def test_a_correct_variation_keeps_full_marks(variation: Mutation, tmp_path: Path) -> None:
    submission = variation.apply(tmp_path / "submission")
    graded = grade(submission, variation.step, json_path=tmp_path / "results.json")
    assert graded.failed() == {}, graded.output
    assert graded.results["score"] == graded.results["max_score"]
    assert processes_running_from(submission) == []
