"""Step 06: frames far larger than one recv(), files to many clients, bounded memory."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.checks.common import (
    expect_client_finished,
    expect_client_gives_up,
    expect_client_printed,
    expect_no_leak,
    never_reply,
    run_client_against,
    shorten,
)
from grader.checks.framed import (
    DATA,
    DONE,
    ECHO,
    ERROR,
    FRAME_HINT,
    GET,
    HEADER,
    frame,
    kind_name,
    read_frame_from_client,
    receive_frame,
)
from grader.diagnosis import CheckFailed, Diagnosis
from grader.harness import ClientRun, Harness, Server, last_line
from grader.peers import FakeConnection, Peer
from grader.plugin import check
from grader.timing import REPLY_SECONDS, SCALE

STEP = "06_streaming"
# The basic exchanges: a check that needs one would hang where it hung.
SERVER_ECHOES = "server echoes a small frame"
CLIENT_PRINTS = "client prints each reply"
FILE_NAME = "big.bin"
FILE_SIZE = 8 * 1024 * 1024
ECHO_SIZE = 5 * 1024 * 1024
CLIENTS_AT_ONCE = 5
TRANSFER_SECONDS = 20.0 * SCALE
# A server that streams holds a few hundred KiB per client; one that holds a
# file whole holds at least the file. The limit sits between the two.
MEMORY_GROWTH_LIMIT_KIB = FILE_SIZE // 1024
BOUNDED_HINT = ("never hold a whole file or frame in memory: read the file a chunk at a time "
                "when the client's outbox is nearly empty, and stop reading a client whose "
                "outbox is full")


def memory_now_kib(harness: Harness, server: Server, when: str) -> int:
    """The server's resident memory now; the check is skipped where it cannot be told."""
    facts = harness.facts(server.program, when)
    # A peak far above the present size was inherited (the grader's own, through
    # fork), not reached: the growth could not be told from it.
    if facts.memory_kib is None or facts.peak_memory_kib is None \
            or facts.peak_memory_kib > 2 * facts.memory_kib:
        pytest.skip("this system cannot tell how much memory a program uses")
    return facts.memory_kib


def peak_memory_kib(harness: Harness, server: Server, when: str) -> int:
    return harness.facts(server.program, when).peak_memory_kib or 0


def start_file_server(harness: Harness) -> tuple[Server, bytes]:
    root = harness.workdir / "root"
    root.mkdir(exist_ok=True)
    contents = os.urandom(FILE_SIZE)
    (root / FILE_NAME).write_bytes(contents)
    return harness.start_server("--root", str(root)), contents


def expect_frame(peer: Peer, kind: int, payload: bytes, what: str,
                 timeout: float = REPLY_SECONDS) -> None:
    got_kind, got = receive_frame(peer, what, timeout=timeout)
    if (got_kind, got) != (kind, payload):
        peer.server.raise_if_stopped(f"after it was sent {what}")
        raise CheckFailed(Diagnosis(
            happened=f"to {what}, your server replied a {kind_name(got_kind)} frame holding "
                     f"{shorten(got)}",
            expected=f"a {kind_name(kind)} frame holding {shorten(payload)}",
            where=[peer.server.program.shown], hint=FRAME_HINT))


def frame_exchange(peer: Peer) -> None:
    peer.send(frame(ECHO, b"ping"))
    expect_frame(peer, DATA, b"ping", "an ECHO frame of b'ping'")


# -- the server --------------------------------------------------------------

@check(points=1, program="server", gate=True)
def check_server_listens(harness: Harness) -> None:
    harness.start_server()


@check(points=1, program="server")
def check_server_echoes_a_small_frame(harness: Harness) -> None:
    frame_exchange(harness.connect(harness.start_server()))


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_reads_a_header_split_across_recv_calls(harness: Harness) -> None:
    peer = harness.connect(harness.start_server())
    whole = frame(ECHO, b"split header")
    peer.send_in_pieces([whole[:2], whole[2:4], whole[4:7], whole[7:]])
    expect_frame(peer, DATA, b"split header", "an ECHO frame whose 5-byte header came in "
                                              "pieces of 2, 2 and 1 bytes")


@check(points=2, program="server",
       name="server echoes a 5 MB frame sent in chunks", needs=(SERVER_ECHOES,))
def check_server_echoes_a_5_mb_frame_sent_in_chunks(harness: Harness) -> None:
    peer = harness.connect(harness.start_server())
    payload = os.urandom(ECHO_SIZE)
    sender = threading.Thread(target=send_quietly, args=(peer, frame(ECHO, payload)),
                              daemon=True)
    sender.start()  # sends while the grader reads: neither side may wait for the other
    kind, echoed = receive_frame(peer, "the echo of a 5 MB ECHO frame",
                                 timeout=TRANSFER_SECONDS)
    sender.join(timeout=REPLY_SECONDS)
    if kind != DATA or echoed != payload:
        raise CheckFailed(Diagnosis(
            happened=f"the echo of a 5 MB frame came back as a {kind_name(kind)} frame of "
                     f"{len(echoed):,} bytes that {'differ' if echoed else 'is empty'}",
            expected=f"a DATA frame holding the same {ECHO_SIZE:,} bytes",
            where=[peer.server.program.shown], hint=FRAME_HINT))


def send_quietly(peer: Peer, data: bytes) -> None:
    """Send in 64 KiB chunks; a failure is left to the reading side to explain."""
    try:
        for start in range(0, len(data), 64 * 1024):
            peer.sock.sendall(data[start:start + 64 * 1024])
    except OSError:
        pass


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_refuses_an_oversized_frame_with_an_error(harness: Harness) -> None:
    server = harness.start_server()
    peer = harness.connect(server)
    peer.send(HEADER.pack(ECHO, 2**31) + b"x" * 1000)
    time.sleep(0.05)
    # More bytes after the server has seen the header: closing on them at once
    # would reset the connection and could destroy the ERROR before it is read.
    send_quietly(peer, b"x" * 200_000)
    kind, reason = receive_frame(peer, "the answer to a header announcing a 2 GiB frame")
    if kind != ERROR:
        raise CheckFailed(Diagnosis(
            happened=f"to a header announcing 2 GiB, your server replied {kind_name(kind)}",
            expected="an ERROR frame saying the frame is too large, then a close",
            where=[server.program.shown],
            hint="check the announced length against your limit as soon as the header is "
                 "in: refuse before reading (or allocating) anything; after the ERROR, "
                 "shut down your sending side and read what the client still sends"))
    rest = peer.receive_until_closed(waiting_for="the end of the connection after the ERROR",
                                     hint="close the connection once the ERROR is sent")
    if rest:
        raise CheckFailed(Diagnosis(
            happened=f"after the ERROR frame, your server sent {shorten(rest)}",
            expected="nothing more: it closes the connection",
            where=[server.program.shown], hint="stop reading a refused client"))
    harness.server_must_be_running(server, "after refusing an oversized frame")
    frame_exchange(harness.connect(server))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_refuses_a_file_outside_its_root(harness: Harness) -> None:
    server, _ = start_file_server(harness)
    peer = harness.connect(server)
    peer.send(frame(GET, b"../" + FILE_NAME.encode()))
    kind, _reason = receive_frame(peer, "the answer to a GET of '../big.bin'")
    if kind != ERROR:
        raise CheckFailed(Diagnosis(
            happened=f"to a GET of '../{FILE_NAME}', your server replied {kind_name(kind)}",
            expected="an ERROR frame: a client may only fetch plain file names in --root",
            where=[server.program.shown],
            hint="accept a name only if Path(name).name == name, so it cannot climb out"))


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_sends_a_file_to_many_clients_at_once_in_bounded_memory(
        harness: Harness) -> None:
    server, contents = start_file_server(harness)
    expected_digest = hashlib.sha256(contents).hexdigest()
    before = memory_now_kib(harness, server, "before the clients came")
    peers = [harness.connect(server) for _ in range(CLIENTS_AT_ONCE)]
    for peer in peers:
        peer.send(frame(GET, FILE_NAME.encode()))
    results: list[tuple[bytes, str] | CheckFailed | None] = [None for _ in peers]

    def fetch(index: int) -> None:
        try:
            results[index] = download_after_request(peers[index])
        except CheckFailed as failure:
            results[index] = failure

    threads = [threading.Thread(target=fetch, args=(index,), daemon=True)
               for index in range(len(peers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TRANSFER_SECONDS + 1)
    for result in results:
        if isinstance(result, CheckFailed):
            raise result
        payload, digest = result or (b"", "nothing: the transfer did not end in time")
        if payload != contents or digest != expected_digest:
            raise CheckFailed(Diagnosis(
                happened=f"a client got {len(payload):,} bytes (of {FILE_SIZE:,}) and the "
                         f"SHA-256 {digest[:16]}...",
                expected=f"the file's {FILE_SIZE:,} bytes and its SHA-256 "
                         f"{expected_digest[:16]}...",
                where=[server.program.shown],
                hint="send each client the whole file from its start, and hash what you send"))
    growth = peak_memory_kib(harness, server, "after sending the file") - before
    if growth >= MEMORY_GROWTH_LIMIT_KIB:
        raise CheckFailed(Diagnosis(
            happened=f"sending an {FILE_SIZE // 2**20} MB file to {CLIENTS_AT_ONCE} clients "
                     f"at once, your server's memory grew by {growth // 1024} MB",
            expected=f"less than {MEMORY_GROWTH_LIMIT_KIB // 1024} MB: a few hundred KB per "
                     "client, whatever the file's size",
            where=[server.program.shown], hint=BOUNDED_HINT))


def download_after_request(peer: Peer) -> tuple[bytes, str]:
    kind, payload = receive_frame(peer, f"the file {FILE_NAME!r}", timeout=TRANSFER_SECONDS)
    done_kind, digest = receive_frame(peer, "the DONE frame", timeout=TRANSFER_SECONDS)
    if kind != DATA or done_kind != DONE:
        raise CheckFailed(Diagnosis(
            happened=f"to a GET, your server replied {kind_name(kind)} then "
                     f"{kind_name(done_kind)}",
            expected="a DATA frame with the file, then a DONE frame with its SHA-256",
            where=[peer.server.program.shown], hint=FRAME_HINT))
    return payload, digest.decode(errors="replace")


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_stops_reading_a_client_that_never_reads_its_replies(
        harness: Harness) -> None:
    server, _ = start_file_server(harness)
    before = memory_now_kib(harness, server, "before the client came")
    hog = harness.connect(server)
    hog.sock.setblocking(False)
    request = frame(GET, FILE_NAME.encode()) + frame(ECHO, b"e" * 60_000) * 200
    sent = 0
    deadline = time.monotonic() + 1.0 * SCALE
    while sent < len(request) and time.monotonic() < deadline:
        try:
            sent += hog.sock.send(request[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    frame_exchange(harness.connect(server))
    growth = peak_memory_kib(harness, server, "after a client read none of its replies") - before
    if growth >= MEMORY_GROWTH_LIMIT_KIB:
        raise CheckFailed(Diagnosis(
            happened=f"a client that asked for an {FILE_SIZE // 2**20} MB file and "
                     f"{sent // 1000:,} KB of echoes, and read none of it, made your server "
                     f"grow by {growth // 1024} MB",
            expected=f"less than {MEMORY_GROWTH_LIMIT_KIB // 1024} MB: replies it cannot "
                     "send yet stay bounded",
            where=[server.program.shown], hint=BOUNDED_HINT))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_answers_requests_sent_together_in_order(harness: Harness) -> None:
    server, contents = start_file_server(harness)
    peer = harness.connect(server)
    peer.send(frame(GET, FILE_NAME.encode()) + frame(ECHO, b"after the file"))
    payload, digest = download_after_request(peer)
    if payload != contents:
        raise CheckFailed(Diagnosis(
            happened=f"a GET and an ECHO sent together: the file came back as "
                     f"{len(payload):,} bytes that differ from the file",
            expected="the whole file, its DONE, and only then the echo",
            where=[server.program.shown],
            hint="while a file is on its way, keep the requests that came after it "
                 "waiting: handle them once its DONE is queued"))
    expect_frame(peer, DATA, b"after the file", "an ECHO sent right behind a GET")


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_survives_a_client_that_resets_mid_frame(harness: Harness) -> None:
    server = harness.start_server()
    crasher = harness.connect(server)
    crasher.send(HEADER.pack(ECHO, 1000) + b"only part")
    time.sleep(0.05)
    crasher.reset()
    time.sleep(0.1)
    harness.server_must_be_running(server, "after a client reset its connection mid-frame")
    frame_exchange(harness.connect(server))


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_closes_every_client_socket(harness: Harness) -> None:
    expect_no_leak(harness, harness.start_server(), connections=30, talk=frame_exchange)


# -- the client --------------------------------------------------------------

def upper_frames(connection: FakeConnection) -> None:
    """Answers each ECHO frame in capitals, its header cut in two pieces."""
    while (request := read_frame_from_client(connection)) is not None:
        reply = frame(DATA, request[1].upper())
        connection.sendall(reply[:3])
        time.sleep(0.05)
        connection.sendall(reply[3:])


def serve_file(contents: bytes, announced_digest: str,
               cut_after: int | None = None) -> Callable[[FakeConnection], None]:
    """Answers a GET with the file in odd-sized pieces, then DONE (or closes early)."""
    def handle(connection: FakeConnection) -> None:
        if read_frame_from_client(connection) is None:
            return
        data = HEADER.pack(DATA, len(contents)) + contents
        if cut_after is not None:
            connection.sendall(data[:cut_after])
            return
        for start in range(0, len(data), 100_003):
            connection.sendall(data[start:start + 100_003])
        connection.sendall(frame(DONE, announced_digest.encode()))
        connection.wait_until_stopped()
    return handle


def run_download(harness: Harness,
                 handle: Callable[[FakeConnection], None]) -> tuple[ClientRun, Path]:
    out = harness.workdir / "downloaded.bin"
    fake = harness.fake_server(handle)
    run = run_client_against(harness, fake, "--get", FILE_NAME, "--out", str(out))
    expect_client_finished(harness, run, "downloading a file from the grader's server",
                           expected="it downloads the file, checks it and exits",
                           hint="after the DATA frame's payload, read the DONE frame")
    return run, out


@check(points=1, program="client")
def check_client_prints_each_reply(harness: Harness) -> None:
    fake = harness.fake_server(upper_frames)
    run = run_client_against(harness, fake, "one", "two words")
    expect_client_finished(harness, run, "talking to the grader's server",
                           expected="it sends each message as an ECHO frame and prints each "
                                    "reply", hint=FRAME_HINT)
    expect_client_printed(run, ["ONE", "TWO WORDS"], "talking to a server that cuts its "
                                                     "frame headers in two")


@check(points=2, program="client", needs=(CLIENT_PRINTS,))
def check_client_downloads_a_file_and_checks_it(harness: Harness) -> None:
    contents = os.urandom(3 * 1024 * 1024)
    digest = hashlib.sha256(contents).hexdigest()
    run, out = run_download(harness, serve_file(contents, digest))
    saved = out.read_bytes() if out.exists() else b""
    if not run.exited or not run.exited.ok or saved != contents:
        status = run.exited.code if run.exited else "?"
        same = "the same" if saved == contents else "not the same"
        raise CheckFailed(Diagnosis(
            happened=f"your client exited with status {status} and saved {len(saved):,} "
                     f"bytes ({same} as the {len(contents):,} sent); stderr: "
                     f"{last_line(run.program.stderr()) or 'nothing'}",
            expected="the file saved at --out, byte for byte, and exit status 0",
            where=[run.program.shown],
            hint="write each payload piece to the file as it arrives, until the frame's "
                 "announced length is reached"))
    if "%" not in run.program.stderr():
        raise CheckFailed(Diagnosis(
            happened="your client downloaded 3 MB without showing any progress",
            expected="progress on stderr during long transfers, such as 'received 50%'",
            where=[run.program.shown],
            hint="print a line to sys.stderr every 10% of the announced length"))


@check(points=2, program="client", needs=(CLIENT_PRINTS,))
def check_client_rejects_a_damaged_download(harness: Harness) -> None:
    contents = os.urandom(1024 * 1024)
    run, out = run_download(harness, serve_file(contents, "0" * 64))
    expect_transfer_refused(run, out, "a file whose SHA-256 does not match the DONE frame",
                            "compute the SHA-256 of what you received (hashlib.sha256) and "
                            "compare it with the DONE frame's")


@check(points=1, program="client", needs=(CLIENT_PRINTS,))
def check_client_reports_a_file_cut_short(harness: Harness) -> None:
    contents = os.urandom(1024 * 1024)
    run, out = run_download(harness, serve_file(contents, "", cut_after=300_000))
    expect_transfer_refused(run, out, "a file cut short: the server closed after 300 KB of "
                                      "an announced 1 MB",
                            "recv() returning b'' before the announced length is an error")


def expect_transfer_refused(run: ClientRun, out: Path, what: str, hint: str) -> None:
    assert run.exited is not None
    if not run.ended_with_one_clear_error():
        raise CheckFailed(Diagnosis(
            happened=f"given {what}, your client exited with status {run.exited.code} and "
                     f"printed {run.stderr_shown} on stderr",
            expected="one clear error line on stderr and a non-zero exit status",
            where=[run.program.shown], hint=hint))
    if out.exists():
        raise CheckFailed(Diagnosis(
            happened=f"given {what}, your client reported the error but left a file at "
                     f"--out ({out.stat().st_size:,} bytes) that looks like a good download",
            expected="no file at --out: only a checked download is saved there",
            where=[run.program.shown],
            hint="write to another name (e.g. PATH.part) and rename it only once the "
                 "SHA-256 matches; remove it on any error"))


@check(points=1, program="client")
def check_client_gives_up_when_the_server_never_replies(harness: Harness) -> None:
    fake = harness.fake_server(never_reply)
    expect_client_gives_up(harness, fake.port, "never replied")
