"""The launcher sees, from outside the student's code, what it did with its sockets."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.diagnosis import where_blocked
from grader.process import LIMITS, StudentProgram


def run(tmp_path: Path, source: str, wait: float = 10) -> StudentProgram:
    step = tmp_path / "step"
    step.mkdir(exist_ok=True)
    script = step / "prog.py"
    script.write_text(textwrap.dedent(source))
    program = StudentProgram(script, [], step, tmp_path / "work")
    program.start()
    try:
        assert program.wait(wait) is not None, "the test program did not finish"
    finally:
        program.stop()
    return program


def test_a_listening_port_is_reported(tmp_path: Path) -> None:
    program = run(tmp_path, """
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            print(s.getsockname()[1])
    """)
    [event] = program.events("listening")
    assert str(event["port"]) == program.stdout().strip()
    assert event["origin"]["line"] == 5


def test_a_socket_open_at_exit_is_reported_with_its_creation_line(tmp_path: Path) -> None:
    program = run(tmp_path, """
        import socket
        kept = socket.socket()
    """)
    assert [event["origin"]["line"] for event in program.events("socket_open_at_exit")] == [3]
    assert program.events("socket_dropped_open") == []  # reported once, not twice


def test_a_socket_dropped_without_close_is_reported(tmp_path: Path) -> None:
    program = run(tmp_path, """
        import socket
        def make():
            s = socket.socket()
        make()
    """)
    [event] = program.events("socket_dropped_open")
    assert event["origin"]["line"] == 4
    assert event["origin"]["function"] == "make"


def test_closed_sockets_are_not_reported(tmp_path: Path) -> None:
    program = run(tmp_path, """
        import socket
        a = socket.socket()
        a.close()
        with socket.socket() as b:
            pass
        c = socket.create_server(("127.0.0.1", 0))
        c.detach()
    """)
    assert program.events("socket_open_at_exit") == []
    assert program.events("socket_dropped_open") == []


def test_an_uncaught_exception_is_reported_with_the_student_line(tmp_path: Path) -> None:
    program = run(tmp_path, """
        def main():
            raise NotImplementedError("step: write main")
        main()
    """)
    [event] = program.events("exception")
    assert event["type"] == "NotImplementedError"
    assert event["origin"]["line"] == 3
    assert program.poll() is not None and program.poll().code == 1  # type: ignore[union-attr]


def test_the_script_folder_is_first_on_the_import_path(tmp_path: Path) -> None:
    (tmp_path / "step").mkdir()
    (tmp_path / "step" / "helper.py").write_text("VALUE = 42\n")
    program = run(tmp_path, """
        from helper import VALUE
        print(VALUE)
    """)
    assert program.stdout().strip() == "42"


@contextmanager
def waiting(tmp_path: Path, source: str) -> Iterator[StudentProgram]:
    """A program that prints 'ready' and then waits, to be asked about itself; stopped after."""
    step = tmp_path / "step"
    step.mkdir(exist_ok=True)
    script = step / "prog.py"
    script.write_text(textwrap.dedent(source))
    program = StudentProgram(script, [], step, tmp_path / "work")
    program.start()
    try:
        deadline = time.monotonic() + 10
        while "ready" not in program.stdout() and time.monotonic() < deadline:
            assert program.poll() is None, program.stderr()
            time.sleep(0.01)
        yield program
    finally:
        program.stop()


def test_a_hung_program_says_the_line_each_thread_waits_on(tmp_path: Path) -> None:
    with waiting(tmp_path, """
        import socket, threading
        a, b = socket.socketpair()
        def worker():
            b.recv(1)
        threading.Thread(target=worker, name="worker").start()
        print("ready", flush=True)
        a.recv(1)
    """) as program:
        threads = program.dump_stacks()
    places = {thread.name: where_blocked([thread], program.student_root) for thread in threads}
    assert [(place.line, place.function) for place in places["MainThread"]] == [(8, "<module>")]
    assert [(place.line, place.function) for place in places["worker"]] == [(5, "worker")]
    assert len(threads) == 2  # the launcher's own answering thread is not shown


def test_a_running_program_reports_its_open_sockets_threads_cpu_and_memory(
        tmp_path: Path) -> None:
    with waiting(tmp_path, """
        import socket, time
        kept = [socket.socket() for _ in range(3)]
        closed = socket.socket()
        closed.close()
        print("ready", flush=True)
        time.sleep(60)
    """) as program:
        report = program.report()
    assert report is not None
    assert [entry["origin"]["line"] for entry in report.sockets] == [3, 3, 3]
    assert report.thread_count == 1
    assert 0 < report.cpu_seconds < 5
    assert report.memory_kib is not None and report.peak_memory_kib is not None
    assert 1_000 < report.memory_kib <= report.peak_memory_kib < 2 * report.memory_kib


def test_a_program_that_has_ended_cannot_be_asked(tmp_path: Path) -> None:
    program = run(tmp_path, "print('bye')\n")
    assert program.report() is None


def test_the_walls_put_up_are_reported(tmp_path: Path) -> None:
    program = run(tmp_path, """
        import resource
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    """)
    walls = program.walls()
    assert walls is not None
    assert walls["applied"]["open_files"] == int(program.stdout().strip())
    assert set(walls["applied"]) | set(walls["missing"]) == set(LIMITS)


def test_paths_with_spaces_and_letters_beyond_ascii_are_reported_as_they_are(
        tmp_path: Path) -> None:
    folder = tmp_path / "José Ñandú 张伟"
    folder.mkdir()
    with waiting(folder, """
        import socket
        a, b = socket.socketpair()
        print("ready é 张", flush=True)
        a.recv(1)
    """) as program:
        threads = program.dump_stacks()
    [place] = where_blocked(threads, program.student_root)
    assert place.file == str(folder / "step" / "prog.py")
    assert place.blocking_call() == "recv()"
    assert "ready é 张" in program.stdout()


def test_a_print_loop_is_stopped_at_the_output_limit_and_trimmed_after(tmp_path: Path) -> None:
    program = run(tmp_path, """
        while True:
            print("waiting for the message...")
    """, wait=60)
    assert program.exited is not None and not program.exited.ok  # EFBIG: File too large
    tail = program.flooded_output_tail()
    assert tail is not None and "waiting for the message...\n" * 100 in tail
    program.trim_output()
    assert program.flooded_output_tail() is None
    assert program.stdout().startswith("waiting for the message...\n")


def test_chatter_under_the_output_limit_is_kept_whole(tmp_path: Path) -> None:
    program = run(tmp_path, """
        for number in range(100_000):
            print(f"echoing line {number}: " + "w" * 80)
    """)
    assert program.exited is not None and program.exited.ok
    assert program.flooded_output_tail() is None
