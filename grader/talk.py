"""Talk to a server by hand, or play the server: a small netcat for every system.

Run it from the kit's folder; it needs nothing but Python (3.11 or newer):

    python -m grader.talk 127.0.0.1 2000      type lines: each goes out with a \\n

It uses only the socket calls the steps teach: connect, sendall, recv,
shutdown, close; bind, listen, accept; sendto and recvfrom for UDP.
"""

from __future__ import annotations

import argparse
import codecs
import io
import select
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator

LISTEN_HOST = "127.0.0.1"
CONNECT_SECONDS = 10  # a server that never answers the connection: give up after this long
READ_SIZE = 65536  # TCP: the most bytes one recv() takes
MAX_DATAGRAM = 65535  # UDP: big enough for any datagram, so none is cut short
# Every wait is cut into short ones: on Windows, Ctrl-C only takes effect when a call returns.
TICK = 0.2
EOF_KEYS = "Ctrl-Z then Enter" if sys.platform == "win32" else "Ctrl-D"

EXAMPLES = f"""\
examples:
  python -m grader.talk 127.0.0.1 2000
      type lines; {EOF_KEYS} ends your sending side, Ctrl-C quits
  python -m grader.talk --send "hel" --pause 1 --send "lo\\n" --end 127.0.0.1 2000
      one line, sent in two pieces a second apart, then the sending side is closed
  python -m grader.talk --hex --send "\\x01\\x00\\x00\\x00\\x05hello" --end 127.0.0.1 2000
      a binary frame; the reply is shown as a hex dump
  python -m grader.talk --udp 127.0.0.1 2000
      each line you type goes out as one datagram (without its newline)
  python -m grader.talk --listen 2000        (add --udp for UDP)
      play the server: wait for your client, show what it sends, send what you type

Replies go to the screen as they arrive; non-printable bytes are shown as \\xNN.
Notes from the tool itself start with "talk:" and go to stderr.
"""


def port_number(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: ports go from 0 to 65535")
    return port


def escaped(text: str) -> bytes:
    """The bytes of TEXT, with Python's escapes decoded: \\n, \\t, \\\\, \\x01 and so on."""
    try:
        # unicode_escape reads the bytes as Latin-1: encoding back to Latin-1 gives
        # the UTF-8 bytes of any non-ASCII text unchanged. An unknown escape such
        # as \q only warns: make that an error rather than send it as it is.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return text.encode().decode("unicode_escape").encode("latin-1")
    except (UnicodeError, Warning):
        raise argparse.ArgumentTypeError(
            f"cannot read {text!r}: the escapes are \\n, \\t, \\\\ and \\xNN") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m grader.talk",
        usage="%(prog)s [options] HOST PORT\n       %(prog)s [options] --listen PORT",
        description="Talk to a server by hand (TCP, or UDP with --udp), or play one.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host", nargs="?", metavar="HOST", help="the server's address")
    parser.add_argument("port", nargs="?", type=port_number, metavar="PORT",
                        help="the server's port")
    parser.add_argument("--listen", type=port_number, metavar="PORT",
                        help=f"play the server on {LISTEN_HOST}:PORT (0: any free port)")
    parser.add_argument("--udp", action="store_true", help="datagrams instead of a TCP stream")
    # --send and --pause share one list, so that they keep the order they were given in.
    parser.add_argument("--send", dest="script", action="append", type=escaped,
                        metavar="TEXT", help="send TEXT instead of what you type "
                        "(Python escapes: \\n, \\x01...); with --udp, one datagram each")
    parser.add_argument("--pause", dest="script", action="append", type=float,
                        metavar="SECONDS", help="wait between two --send")
    parser.add_argument("--end", action="store_true",
                        help="TCP: after the last --send, close the sending side "
                        "(shutdown SHUT_WR), as nc -N or nc -q 1 do")
    parser.add_argument("--wait", type=float, metavar="SECONDS",
                        help="once sending is over, stop after SECONDS without a reply "
                        "(default 1 with --send or --udp; else: until the other side closes)")
    parser.add_argument("--hex", action="store_true", help="show what arrives as a hex dump")
    args = parser.parse_args(argv)
    if args.listen is None and args.port is None:
        parser.error("give the server's HOST and PORT, or --listen PORT")
    if args.listen is not None and args.host is not None:
        parser.error("--listen PORT takes no HOST or PORT of the server")
    return args


class Screen:
    """Shows the bytes that arrive: as text, with non-printable bytes escaped, or in hex."""

    def __init__(self, hex_dump: bool) -> None:
        self.hex_dump = hex_dump
        self.offset = 0  # the hex dump's count of bytes so far
        # Incremental: a UTF-8 character cut between two recv() is still shown whole.
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
        self.line_open = False

    def stream(self, data: bytes) -> None:
        """TCP: show a piece of the stream, new lines as they come."""
        if self.hex_dump:
            self.write(hex_rows(data, self.offset))
            self.offset += len(data)
        else:
            self.write(printable(self.decoder.decode(data), keep="\n\t"))

    def datagram(self, data: bytes, sender: str = "") -> None:
        """UDP: one datagram per line (its \\n shown as \\n), after its sender if given."""
        heading = f"from {sender}: " if sender else ""
        if self.hex_dump:
            self.write(f"{heading}a datagram of {len(data)} bytes\n{hex_rows(data, 0)}")
        else:
            text = printable(data.decode(errors="backslashreplace"), keep="\t")
            self.write(f"{heading}{text}\n")

    def finish(self) -> None:
        if not self.hex_dump:
            self.write(printable(self.decoder.decode(b"", final=True), keep="\n\t"))
        if self.line_open:
            self.write("\n")  # so that the shell's prompt starts on a line of its own

    def write(self, text: str) -> None:
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()  # show it now, not when a buffer fills
            self.line_open = not text.endswith("\n")


def printable(text: str, keep: str) -> str:
    # repr() of one character gives its escape: '\x00' -> \x00, '\r' -> \r.
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def hex_rows(data: bytes, offset: int) -> str:
    """The rows of `xxd`: offset, 16 bytes in hex by pairs, then as text."""
    rows = []
    for start in range(0, len(data), 16):
        row = data[start:start + 16]
        pairs = " ".join(row[i:i + 2].hex() for i in range(0, len(row), 2))
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in row)
        rows.append(f"{offset + start:08x}: {pairs:<39}  {text}\n")
    return "".join(rows)


def note(text: str) -> None:
    print(f"talk: {text}", file=sys.stderr, flush=True)


class Sender(threading.Thread):
    """The sending side, in a thread of its own, so that replies show while you type.

    Reading the keyboard blocks, and on Windows select() waits on sockets only, not
    on the keyboard: a thread is the way that works everywhere.
    """

    def __init__(self, pieces: Iterable[bytes | float], send: Callable[[bytes], object],
                 end: Callable[[], object]) -> None:
        # daemon: a thread waiting for a key must not keep the program alive at the end.
        super().__init__(daemon=True)
        self.pieces, self.send, self.end = pieces, send, end
        self.error: OSError | None = None
        self.done_at: float | None = None  # when the sending was over

    def run(self) -> None:
        try:
            for piece in self.pieces:
                if isinstance(piece, float):
                    time.sleep(piece)
                else:
                    self.send(piece)
            self.end()
        except OSError as error:
            self.error = error  # the main thread reports it
        finally:
            self.done_at = time.monotonic()


def typed_lines(newline: bytes) -> Iterator[bytes]:
    """Each line typed (or piped in), as bytes, ending with `newline`; stops at end of input."""
    for line in sys.stdin:
        yield line.rstrip("\r\n").encode() + newline


def run(sock: socket.socket, take: Callable[[], bool], sender: Sender,
        wait: float | None) -> None:
    """Call take() whenever sock has something, until it returns False (closed), or until
    nothing came for `wait` seconds once the sender is done."""
    sender.start()
    last = time.monotonic()
    while True:
        if sender.error is not None:
            raise sender.error
        # A short select(), not a blocking recv(): Ctrl-C and the time limit get their turn.
        if select.select([sock], [], [], TICK)[0]:
            if not take():
                return
            last = time.monotonic()
        elif sender.done_at is not None and wait is not None \
                and time.monotonic() - max(last, sender.done_at) >= wait:
            return


def talk_tcp(sock: socket.socket, args: argparse.Namespace, screen: Screen) -> None:
    def take() -> bool:
        data = sock.recv(READ_SIZE)
        if not data:
            note("the other side closed the connection")
            return False
        screen.stream(data)
        return True

    def end() -> None:
        if not args.script:  # before, not after: once we shut down, the program may end
            note("end of input: closing the sending side, waiting for the other side to close")
        # Half-close: the other side's recv() gives b"", and we can still receive.
        sock.shutdown(socket.SHUT_WR)

    if args.script:
        sender = Sender(args.script, sock.sendall, end if args.end else lambda: None)
        wait = 1.0 if args.wait is None else args.wait
    else:
        sender = Sender(typed_lines(b"\n"), sock.sendall, end)
        wait = args.wait
    run(sock, take, sender, wait)


def talk_udp(sock: socket.socket, args: argparse.Namespace, screen: Screen) -> None:
    last_sender: tuple[str, int] | None = None  # listening: who to answer

    def take() -> bool:
        nonlocal last_sender
        if args.listen is None:
            screen.datagram(sock.recv(MAX_DATAGRAM))
            return True
        try:
            data, last_sender = sock.recvfrom(MAX_DATAGRAM)
        except ConnectionResetError:
            # Windows reports here that an earlier answer found nobody at its address.
            return True
        screen.datagram(data, f"{last_sender[0]}:{last_sender[1]}")
        return True

    def send(data: bytes) -> None:
        if args.listen is None:
            sock.send(data)
        elif last_sender is None:
            note("nobody to answer yet: no datagram has come in")
        else:
            sock.sendto(data, last_sender)  # UDP has no connection: answer the last sender

    pieces = args.script or typed_lines(b"")
    run(sock, take, Sender(pieces, send, lambda: None), 1.0 if args.wait is None else args.wait)


def connect(host: str, port: int, udp: bool) -> socket.socket:
    if udp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.connect((host, port))  # sends nothing: it fixes the peer for send() and recv()
        except OSError:
            sock.close()
            raise
        return sock
    sock = socket.create_connection((host, port), timeout=CONNECT_SECONDS)
    sock.settimeout(None)  # the limit was for connecting: replies may take their time
    return sock


def listen(port: int, udp: bool) -> tuple[socket.socket, str]:
    """A socket that has a client (TCP) or is bound (UDP); and where it listens."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    listener = socket.socket(socket.AF_INET, kind)
    try:
        if not udp and sys.platform != "win32":
            # TCP: lets you start again at once on the same port. For UDP, and on
            # Windows, this option would let two programs share one port instead.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LISTEN_HOST, port))
        where = f"{LISTEN_HOST}:{listener.getsockname()[1]}"
        if udp:
            note(f"listening on udp {where}: each datagram shows with its sender; "
                 "what you type answers the last sender")
            return listener, where
        listener.listen(1)
        note(f"listening on {where}: waiting for one client")
        while not select.select([listener], [], [], TICK)[0]:
            pass  # short waits, so that Ctrl-C works on Windows too
        conn, address = listener.accept()
    except BaseException:
        listener.close()
        raise
    listener.close()  # one client only: nobody else can connect now
    note(f"connection from {address[0]}:{address[1]}: type lines; {EOF_KEYS} "
         "ends your sending side, Ctrl-C quits")
    return conn, where


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for stream in (sys.stdin, sys.stdout):
        # The console may not be UTF-8 (Windows): show a ? rather than stop with an error.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    screen = Screen(args.hex)
    talk = talk_udp if args.udp else talk_tcp
    try:
        if args.listen is not None:
            try:
                sock, where = listen(args.listen, args.udp)
            except OSError as error:
                return fail(f"cannot listen on {LISTEN_HOST}:{args.listen}", error)
        else:
            where = f"{args.host}:{args.port}"
            try:
                sock = connect(args.host, args.port, args.udp)
            except OSError as error:
                return fail(f"cannot connect to {where}", error)
            if not args.script:
                what = "each line you type is one datagram" if args.udp else "type lines"
                note(f"connected to {where}: {what}; {EOF_KEYS} ends, Ctrl-C quits")
        with sock:
            try:
                talk(sock, args, screen)
            except OSError as error:
                return fail(where, error)
            finally:
                screen.finish()
    except KeyboardInterrupt:
        return 0  # Ctrl-C is the way to stop: no traceback
    return 0


def fail(where: str, error: OSError) -> int:
    # One line, no traceback: the reason is what matters (e.g. "Connection refused").
    reason = "no answer in time" if isinstance(error, TimeoutError) else error.strerror or error
    print(f"error: {where}: {reason}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
