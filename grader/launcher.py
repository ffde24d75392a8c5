"""Runs one student program and reports what it did with its sockets.

The grader starts every student program through this file:

    python -I -X utf8 -u -B launcher.py SETTINGS SCRIPT [ARGS...]

SETTINGS is a JSON object: the EVENTS file, the student's ROOT folder (the
frames inside it are "the student's code"), the LIMITS to run behind, and the
CHANNEL (port and token) on which the grader asks its questions. It is run by
path and imports only the standard library, so `-I` keeps a student's stray
`socket.py` or `sitecustomize.py` from replacing what it uses. Before the
student's script runs it

- puts up the walls (`launcher_walls.py`: resource limits, or a job object)
  and reports which ones this system allowed;
- wraps `socket.socket` to learn, without asking the student anything, which
  port a server listens on, and where each socket was created, closed, or
  dropped while still open;
- notes each process it forks, and each that leaves the process group;
- connects back to the grader and answers, from a thread of its own, each
  `report` request with where every thread is (file, line, function), the
  sockets still open with their creation lines, the number of threads, the
  CPU time used and the peak memory. The same on every system: no signals,
  no /proc.

What it learns as it goes goes to EVENTS, one JSON object per line, written
with a single `os.write` so that lines from several threads never interleave.
"""

import _socket
import _thread
import importlib.util
import json
import os
import runpy
import socket
import sys
import threading
import time
import traceback
import weakref
from types import FrameType, TracebackType
from typing import Any

_events_fd = -1
_student_root = ""
_channel: Any = None  # the launcher's own _socket.socket: untouched by the wrapping below
_answering_thread = -1
REPORTED_THREADS = 64  # a thread per client is normal; a thread bomb needs no more to be seen
REPORTED_FRAMES = 40


def _emit(event: str, **fields: Any) -> None:
    fields["event"] = event
    try:
        os.write(_events_fd, (json.dumps(fields) + "\n").encode())
    except OSError:
        pass  # never let the grader's bookkeeping break the student's program


def _is_student_file(filename: str) -> bool:
    return os.path.normcase(os.path.abspath(filename)).startswith(_student_root)


def _place(code_filename: str, line: int | None, function: str) -> dict[str, Any]:
    return {"file": code_filename, "line": line or 0, "function": function}


def _origin_from_frame(frame: FrameType | None) -> dict[str, Any] | None:
    """The innermost frame of the student's own code, as file, line and function."""
    while frame is not None:
        if _is_student_file(frame.f_code.co_filename):
            return _place(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def _origin_from_traceback(tb: TracebackType | None) -> dict[str, Any] | None:
    origin = None
    while tb is not None:
        if _is_student_file(tb.tb_frame.f_code.co_filename):
            origin = _place(tb.tb_frame.f_code.co_filename, tb.tb_lineno,
                            tb.tb_frame.f_code.co_name)
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


def _records_still_open() -> list[_SocketRecord]:
    open_now = []
    for record in list(_live_records.values()):
        sock = record.ref() if record.ref is not None else None
        if sock is not None and not record.closed and sock.fileno() != -1:
            open_now.append(record)
    return open_now


def _report_sockets_open_at_exit() -> None:
    for record in _records_still_open():
        _emit("socket_open_at_exit", origin=record.origin, kind=record.kind)
        record.closed = True  # reported once: not again when collected


# -- answering the grader ------------------------------------------------------

def _threads_now() -> list[dict[str, Any]]:
    """Every thread but this one, newest first: its name and its frames, innermost first."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    main = threading.main_thread().ident
    threads = []
    for ident, innermost in sys._current_frames().items():
        if ident == _answering_thread:
            continue
        frames: list[dict[str, Any]] = []
        frame: FrameType | None = innermost
        while frame is not None and len(frames) < REPORTED_FRAMES:
            frames.append(_place(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
            frame = frame.f_back
        threads.append({"name": names.get(ident, f"thread {ident}"), "main": ident == main,
                        "frames": frames})
    return threads


def _report() -> dict[str, Any]:
    threads = _threads_now()
    sockets = [{"origin": record.origin, "kind": record.kind}
               for record in _records_still_open()]
    memory_kib, peak_memory_kib = _walls.memory_kib()
    return {"threads": threads[:REPORTED_THREADS], "thread_count": len(threads),
            "sockets": sockets, "cpu_seconds": time.process_time(),
            "memory_kib": memory_kib, "peak_memory_kib": peak_memory_kib}


def _answer_grader(channel: Any) -> None:
    global _answering_thread
    _answering_thread = _thread.get_ident()
    pending = b""
    try:
        while True:
            data = channel.recv(4096)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                question, _, number = line.decode(errors="replace").partition(" ")
                answer: dict[str, Any] = (_report() if question == "report"
                                          else {"error": "unknown question"})
                answer["id"] = int(number) if number.isdigit() else None
                channel.sendall((json.dumps(answer) + "\n").encode())
    except Exception:  # noqa: BLE001 - the grader will hear nothing more; the program goes on
        return


def _connect_to_grader(port: int, token: str) -> None:
    """Dial the grader before the student's code runs; answer it from a bare thread
    (`_thread`, not `threading`: a program that joins every thread it can see must
    not wait for this one)."""
    global _channel
    try:
        channel = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        channel.settimeout(10)
        channel.connect(("127.0.0.1", port))
        channel.sendall(token.encode() + b"\n")
        channel.settimeout(None)
    except OSError:
        return  # the grader will say the program could not be asked
    _channel = channel
    _thread.start_new_thread(_answer_grader, (channel,))


def _forgotten_in_child() -> None:
    # A forked child answers nothing: the grader asks the process it started.
    global _channel
    if _channel is not None:
        _channel.close()
        _channel = None
    _emit("forked", pid=os.getpid())


def _install_group_tracking() -> None:
    """Say, before it happens, that a process leaves the program's process group:
    ending the group then misses it, and where the grader cannot list what is
    left (macOS has no /proc) it ends the new group by this pid instead."""
    for name in ("setsid", "setpgrp", "setpgid"):
        real = getattr(os, name, None)
        if real is None:
            continue

        def leaving(*args: Any, real: Any = real) -> Any:
            _emit("left_group", pid=os.getpid())
            return real(*args)

        setattr(os, name, leaving)


def _load_walls() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_kit_launcher_walls", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "launcher_walls.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_walls: Any = None


def main() -> None:
    global _events_fd, _student_root, _walls
    settings_text, script, *script_args = sys.argv[1:]
    settings = json.loads(settings_text)
    _events_fd = os.open(settings["events"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    _student_root = os.path.normcase(os.path.abspath(settings["root"])) + os.sep
    _walls = _load_walls()
    applied, missing = _walls.put_up(settings["limits"])
    _emit("walls", applied=applied, missing=missing)
    _connect_to_grader(int(settings["channel_port"]), settings["channel_token"])
    _install_socket_tracking()
    _install_group_tracking()
    threading.excepthook = _report_thread_crash
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_forgotten_in_child)

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
        _report_sockets_open_at_exit()
        namespace.clear()
    _emit("exit", code=exit_code if isinstance(exit_code, int) or exit_code is None else 1)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
