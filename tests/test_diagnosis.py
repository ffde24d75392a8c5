"""Diagnoses from plain data: launcher reports and locations, no processes."""

from __future__ import annotations

from pathlib import Path

from grader.diagnosis import (
    Diagnosis,
    Location,
    describe_blocked,
    describe_flood,
    hint_for_blocked,
    threads_from_report,
    where_blocked,
)


def student_file(tmp_path: Path) -> Path:
    step = tmp_path / "01_hello"
    step.mkdir()
    path = step / "server.py"
    path.write_text("import socket\n\nconn, address = listener.accept()\ndata = conn.recv(1024)\n")
    return path


def report(path: Path, line: int) -> dict[str, object]:
    """A launcher's report: a library thread, and the main thread in the student's code."""
    return {"threads": [
        {"name": "Thread-1", "main": False, "frames": [
            {"file": "/usr/lib/python3.11/threading.py", "line": 320, "function": "wait"}]},
        {"name": "MainThread", "main": True, "frames": [
            {"file": "/usr/lib/python3.11/socket.py", "line": 294, "function": "accept"},
            {"file": str(path), "line": line, "function": "serve"},
            {"file": "<frozen runpy>", "line": 88, "function": "_run_code"}]}]}


def test_the_innermost_student_frame_of_each_thread_is_found(tmp_path: Path) -> None:
    path = student_file(tmp_path)
    threads = threads_from_report(report(path, 4))
    assert [thread.name for thread in threads] == ["Thread-1", "MainThread"]
    assert where_blocked(threads, path.parent) == [Location(str(path), 4, "serve")]


def test_the_blocking_call_is_named_from_the_source_line(tmp_path: Path) -> None:
    path = student_file(tmp_path)
    places = where_blocked(threads_from_report(report(path, 3)), path.parent)
    assert places[0].blocking_call() == "accept()"
    assert describe_blocked("server", places) == "your server is waiting in accept()"
    assert places[0].describe().endswith("server.py:3: conn, address = listener.accept()")


def test_a_program_stuck_outside_its_code_is_said_not_to_answer(tmp_path: Path) -> None:
    assert describe_blocked("client", []) == "your client is not answering"
    assert where_blocked(threads_from_report(None), tmp_path) == []
    assert where_blocked(threads_from_report({"threads": []}), tmp_path) == []


def threaded_server(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    """A threaded server whose main thread waits for a lock its workers hold."""
    step = tmp_path / "04_threads"
    step.mkdir()
    path = step / "server.py"
    path.write_text("import threading\n\ndef serve(conn):\n    data = conn.recv(1024)\n"
                    "\ndef main():\n    LOCK.acquire()\n")
    def worker(name: str) -> dict[str, object]:
        return {"name": name, "main": False, "frames": [
            {"file": str(path), "line": 4, "function": "serve"}]}
    main = {"name": "MainThread", "main": True, "frames": [
        {"file": str(path), "line": 7, "function": "main"}]}
    return path, [worker("Thread-1"), worker("Thread-2"), main]


def test_every_thread_is_described_the_main_one_first(tmp_path: Path) -> None:
    path, threads = threaded_server(tmp_path)
    places = where_blocked(threads_from_report({"threads": threads}), path.parent)
    assert [place.line for place in places] == [7, 4, 4]
    assert describe_blocked("server", places) == (
        "your server is waiting in acquire(), and its 2 other threads in recv()")
    assert hint_for_blocked(places, "give each client a thread").startswith(
        "a thread waits for a lock another thread holds")
    assert hint_for_blocked(places[1:], "give each client a thread") == (
        "give each client a thread")


def test_threads_stuck_in_different_places_are_counted_apart(tmp_path: Path) -> None:
    path, threads = threaded_server(tmp_path)
    places = where_blocked(threads_from_report({"threads": threads[1:]}), path.parent)
    busy = [*places, Location(str(path), 6, "main")]
    assert describe_blocked("server", busy) == (
        "your server is waiting in acquire(), and its 2 other threads: 1 in recv(), 1 busy")


def test_a_diagnosis_reads_what_expected_where_hint() -> None:
    lines = Diagnosis("it hung", "a reply", ["a.py:1: x", "b.py:2: y"], "send first").lines()
    assert lines == ["what happened: it hung", "expected:      a reply",
                     "where to look: a.py:1: x", "               b.py:2: y",
                     "hint:          send first"]


LIMIT = 64 * 2**20


def test_the_same_line_over_and_over_is_called_a_print_loop() -> None:
    # Cut off at both ends, as a tail read while the program writes is.
    tail = "ng for the message...\n" + "waiting for the message...\n" * 500 + "waiting fo"
    said, hint = describe_flood(tail, LIMIT)
    assert "the same line over and over ('waiting for the message...')" in said
    assert "64 MiB" in said and "endless loop" in said
    assert hint == "print a line per event, not per loop turn"


def test_a_counter_in_the_line_is_still_the_same_line() -> None:
    tail = "".join(f"turn {number}: still waiting\n" for number in range(900_000, 901_000))
    said, _ = describe_flood(tail, LIMIT)
    assert "endless loop" in said


def test_varied_lines_are_too_much_output_not_a_loop() -> None:
    tail = "".join(f"client {number % 97} sent {chr(65 + number % 26) * (number % 13)}\n"
                   for number in range(1000))
    said, hint = describe_flood(tail, LIMIT)
    assert "endless loop" not in said
    assert "more than 64 MiB" in said and "printing is fine" in hint
