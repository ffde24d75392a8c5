"""The launcher sees, from outside the student's code, what it did with its sockets."""

from __future__ import annotations

import textwrap
from pathlib import Path

from grader.process import StudentProgram


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


def test_a_hung_program_dumps_the_line_it_waits_on(tmp_path: Path) -> None:
    step = tmp_path / "step"
    step.mkdir()
    script = step / "prog.py"
    script.write_text("import socket\na, b = socket.socketpair()\nprint('ready', flush=True)\n"
                      "a.recv(1)\n")
    program = StudentProgram(script, [], step, tmp_path / "work")
    program.start()
    try:
        deadline_ok = program.wait(0.5) is None
        stacks = program.dump_stacks()
    finally:
        program.stop()
    assert deadline_ok
    assert f'File "{script}", line 4' in stacks
