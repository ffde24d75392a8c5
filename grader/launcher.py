"""Runs one student program and reports what it did with its sockets.

The grader starts every student program through this file:

    python -I -u -B launcher.py EVENTS STACKS ROOT SCRIPT [ARGS...]

It is run by path and imports only the standard library, so `-I` keeps a
student's stray `socket.py` or `sitecustomize.py` from replacing what it
uses. Before the student's script runs it

- has Python dump every thread's stack to STACKS on SIGUSR1, so a grader
  that gives up waiting can show the line the program was stuck on;
- wraps `socket.socket` to learn, without asking the student anything, which
  port a server listens on, and where each socket was created, closed, or
  dropped while still open;
- lists the sockets still open, with where each was created, on SIGUSR2.

What it learns goes to EVENTS, one JSON object per line, written with a
single `os.write` so that lines from several threads never interleave.
ROOT is the student's folder: the frames inside it are "the student's code".
"""

import faulthandler
import json
import os
import runpy
import signal
import socket
import sys
import threading
import traceback
import weakref
from types import FrameType, TracebackType
from typing import Any

_events_fd = -1
_student_root = ""


def _emit(event: str, **fields: Any) -> None:
    fields["event"] = event
    try:
        os.write(_events_fd, (json.dumps(fields) + "\n").encode())
    except OSError:
        pass  # never let the grader's bookkeeping break the student's program


def _is_student_file(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_student_root)


def _origin_from_frame(frame: FrameType | None) -> dict[str, Any] | None:
    """The innermost frame of the student's own code, as file, line and function."""
    while frame is not None:
        if _is_student_file(frame.f_code.co_filename):
            return {"file": frame.f_code.co_filename, "line": frame.f_lineno,
                    "function": frame.f_code.co_name}
        frame = frame.f_back
    return None


def _origin_from_traceback(tb: TracebackType | None) -> dict[str, Any] | None:
    origin = None
    while tb is not None:
        if _is_student_file(tb.tb_frame.f_code.co_filename):
            origin = {"file": tb.tb_frame.f_code.co_filename, "line": tb.tb_lineno,
                      "function": tb.tb_frame.f_code.co_name}
        tb = tb.tb_next
    return origin


class _SocketRecord:
    __slots__ = ("origin", "closed", "ref", "kind")

    def __init__(self, origin: dict[str, Any] | None, kind: str) -> None:
        self.origin = origin
        self.kind = kind
        self.closed = False
        self.ref: weakref.ref[socket.socket] | None = None


_live_records: dict[int, _SocketRecord] = {}
_record_of: "weakref.WeakKeyDictionary[socket.socket, _SocketRecord]" = weakref.WeakKeyDictionary()


def _socket_collected(record: _SocketRecord) -> None:
    _live_records.pop(id(record), None)
    if not record.closed:
        # Python closed it for the student when the last reference went away.
        _emit("socket_dropped_open", origin=record.origin, kind=record.kind)


def _install_socket_tracking() -> None:
    real_init = socket.socket.__init__
    real_close = socket.socket.close
    real_detach = socket.socket.detach
    real_listen = socket.socket.listen
    real_bind = socket.socket.bind

    def tracked_init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        kind = "stream" if self.type == socket.SOCK_STREAM else "datagram"  # or "listening"
        record = _SocketRecord(_origin_from_frame(sys._getframe(1)), kind)
        _emit("socket_created", origin=record.origin, kind=kind)
        def collected(_ref: object, record: _SocketRecord = record) -> None:
            _socket_collected(record)

        record.ref = weakref.ref(self, collected)
        _live_records[id(record)] = record
        _record_of[self] = record

    def mark_closed(self: socket.socket) -> None:
        record = _record_of.get(self)
        if record is not None:
            record.closed = True

    def tracked_close(self: socket.socket) -> None:
        mark_closed(self)
        real_close(self)

    def tracked_detach(self: socket.socket) -> int:
        mark_closed(self)
        return real_detach(self)

    def tracked_listen(self: socket.socket, *args: Any) -> None:
        real_listen(self, *args)
        record = _record_of.get(self)
        if record is not None:
            record.kind = "listening"
        host, port = self.getsockname()[:2]
        _emit("listening", host=host, port=port, origin=_origin_from_frame(sys._getframe(1)))

    def tracked_bind(self: socket.socket, address: Any) -> None:
        real_bind(self, address)
        if self.type == socket.SOCK_DGRAM:
            # A UDP server never listens: being bound is being ready.
            host, port = self.getsockname()[:2]
            _emit("listening", host=host, port=port, kind="datagram",
                  origin=_origin_from_frame(sys._getframe(1)))

    socket.socket.bind = tracked_bind  # type: ignore[method-assign,assignment]
    socket.socket.__init__ = tracked_init  # type: ignore[method-assign]
    socket.socket.close = tracked_close  # type: ignore[method-assign,assignment]
    socket.socket.detach = tracked_detach  # type: ignore[method-assign,assignment]
    socket.socket.listen = tracked_listen  # type: ignore[method-assign,assignment]


def _report_thread_crash(args: threading.ExceptHookArgs) -> None:
    _emit("thread_exception", type=args.exc_type.__name__, message=str(args.exc_value),
          origin=_origin_from_traceback(args.exc_traceback))
    sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)  # type: ignore[arg-type]


def _report_sockets_still_open(event: str = "socket_open_at_exit") -> None:
    for record in list(_live_records.values()):
        sock = record.ref() if record.ref is not None else None
        if sock is not None and not record.closed and sock.fileno() != -1:
            _emit(event, origin=record.origin, kind=record.kind)
            if event == "socket_open_at_exit":
                record.closed = True  # reported once: not again when collected


def _list_open_sockets(_signum: int, _frame: object) -> None:
    # On SIGUSR2, for a grader that sees descriptors pile up in a running server.
    _report_sockets_still_open("socket_open_now")
    _emit("open_sockets_listed")


def main() -> None:
    global _events_fd, _student_root
    events_path, stacks_path, root, script, *script_args = sys.argv[1:]
    _events_fd = os.open(events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    _student_root = os.path.abspath(root) + os.sep
    stacks = open(stacks_path, "w")  # noqa: SIM115 - must stay open for faulthandler
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True)
    signal.signal(signal.SIGUSR2, _list_open_sockets)
    _install_socket_tracking()
    threading.excepthook = _report_thread_crash
    os.register_at_fork(after_in_child=lambda: _emit("forked", pid=os.getpid()))

    script = os.path.abspath(script)
    sys.argv = [script, *script_args]
    sys.path.insert(0, os.path.dirname(script))  # as `python script.py` would
    exit_code: Any = 0
    namespace: dict[str, Any] = {}
    try:
        # Keeping the script's globals alive until the report below makes a
        # socket left in a global variable "open at exit", as it really is.
        namespace = runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        exit_code = stop.code
    except BaseException as error:  # noqa: BLE001 - everything the student raised
        _emit("exception", type=type(error).__name__, message=str(error),
              origin=_origin_from_traceback(error.__traceback__))
        traceback.print_exc()
        exit_code = 1
    finally:
        _report_sockets_still_open()
        namespace.clear()
    _emit("exit", code=exit_code if isinstance(exit_code, int) or exit_code is None else 1)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
