"""The server benchmarks' own parts: the C load generator counts and fails as it
should, the compared servers speak line echo, the reports read plain data."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench import native
from tests.bench.echo_servers import SERVERS
from tests.bench.grid_chart import render_svg
from tests.bench.grid_report import (
    GridRecord,
    contended,
    headroom_lines,
    markdown_table,
    ratio_to_baseline,
    text_table,
)
from tests.bench.load import loadgen_command
from tests.bench.processes import ServerProcess
from tests.bench.server_grid import measure

REQUIRED_KEYS = {"server", "size", "clients", "msgs_per_s", "p50_ms", "p99_ms"}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def loadgen() -> Path:
    if native.c_compiler() is None:
        pytest.skip("no C compiler: the load generator cannot be built")
    return native.build(native.LOADGEN_SOURCE)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare listening socket, for servers that misbehave on purpose."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(5)
        yield sock


def finished_loadgen(generator: subprocess.Popen[str]) -> tuple[int, dict[str, object]]:
    """Exit status and JSON verdict of a generator that must end within a few seconds."""
    output, _ = generator.communicate(timeout=10)
    return generator.returncode, json.loads(output.strip().splitlines()[-1])


def test_the_load_generator_counts_replies_from_a_python_server(loadgen: Path) -> None:
    record = measure(SERVERS["asyncio"], size=1024, clients=2, duration=0.5, warmup=0.1,
                     loadgen=loadgen)
    data = record.to_json()
    assert data.keys() >= REQUIRED_KEYS
    assert not record.error
    assert record.msgs_per_s > 100 and record.seconds == pytest.approx(0.5, abs=0.05)
    assert 0 < record.p50_ms <= record.p99_ms
    assert record.server_cpu_s > 0 and record.loadgen_cpu_s > 0


def test_the_load_generator_reports_a_closed_connection(loadgen: Path,
                                                        listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    command = loadgen_command(loadgen, port, clients=1, size=1024, duration=1, warmup=0)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as generator:
        conn, _ = listener.accept()
        conn.close()
        status, verdict = finished_loadgen(generator)
    assert status != 0
    assert verdict["errors"] == 1
    assert any(word in str(verdict["first_error"]) for word in ("closed", "reset", "pipe"))


def test_the_load_generator_gives_up_on_a_silent_server(loadgen: Path,
                                                        listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    command = loadgen_command(loadgen, port, clients=1, size=1024, duration=5, warmup=0,
                              reply_seconds=0.3)
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as generator:
        conn, _ = listener.accept()
        with conn:
            status, verdict = finished_loadgen(generator)
    assert status != 0 and "no reply within 0.3 s" in str(verdict["first_error"])
    assert time.monotonic() - started < 3  # not the 5 s asked for: it gave up


def test_the_load_generator_notices_wrong_bytes(loadgen: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    command = loadgen_command(loadgen, port, clients=1, size=8, duration=1, warmup=0)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as generator:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            conn.recv(8)
            conn.sendall(b"xxxyxxx\n")
            status, verdict = finished_loadgen(generator)
    assert status != 0 and "differs" in str(verdict["first_error"])


@pytest.mark.parametrize("name", ["asyncio", "uvloop", "socketserver", "c-epoll"])
def test_each_compared_server_echoes_whole_lines(name: str) -> None:
    server = SERVERS[name]
    if reason := server.missing():
        pytest.skip(reason)
    with ServerProcess(server.command(max_clients=10)) as process, \
            socket.create_connection(("127.0.0.1", process.port), timeout=5) as client:
        # Lines split and coalesced across sends: only whole lines come back.
        for piece in (b"hel", b"lo\nwor", b"ld\n"):
            client.sendall(piece)
            time.sleep(0.02)
        received = b""
        while received.count(b"\n") < 2:
            data = client.recv(4096)
            assert data, f"{name} closed the connection after {received!r}"
            received += data
    assert received == b"hello\nworld\n"


def sample_records() -> list[GridRecord]:
    return [
        GridRecord("event-loop", 1024, 10, 60_000.0, 0.15, 0.40, 5.0, 3.0, 5.0),
        GridRecord("asyncio", 1024, 10, 30_000.0, 0.30, 0.80, 5.0, 1.5, 5.0),
        GridRecord("c-epoll", 1024, 10, 150_000.0, 0.06, 0.12, 5.0, 5.0, 5.0),
        GridRecord("event-loop", 102400, 10, 0.0, 0.0, 0.0, error="a line is too long"),
        GridRecord("asyncio", 102400, 10, 9_000.0, 1.0, 2.0, 5.0, 2.0, 5.0),
        GridRecord("c-epoll", 102400, 10, 35_000.0, 0.3, 0.6, 5.0, 4.8, 5.0),
    ]


def test_ratios_are_to_asyncio_in_the_same_cell() -> None:
    records = sample_records()
    assert ratio_to_baseline(records[0], records) == pytest.approx(2.0)
    assert ratio_to_baseline(records[5], records) == pytest.approx(35 / 9)
    assert ratio_to_baseline(records[3], records) is None  # an error has no ratio


def test_a_run_where_neither_side_used_its_core_counts_as_contended() -> None:
    records = sample_records()
    assert not contended(records[0])  # the server used all of its core: it set the pace
    assert not contended(records[3])  # an error is not a measurement at all
    shared = GridRecord("uvloop", 1024, 10, 20_000.0, 0.3, 0.8, 3.0, 2.0, 5.0)
    assert contended(shared)
    assert "another process took the CPU" in headroom_lines([*records[1:3], shared])[1]


def test_tables_show_every_server_and_the_headroom_of_the_c_server() -> None:
    records = sample_records()
    markdown = markdown_table(records).splitlines()
    assert markdown[0] == "| server | 1 KiB x 10 clients | 100 KiB x 10 clients |"
    assert markdown[2].startswith("| event-loop | 60,000 (2.00x, p99 0.40 ms) | error")
    assert len(markdown) == 2 + 3
    assert "error: a line is too long" in text_table(records)
    headroom = headroom_lines(records)
    assert headroom[0].startswith("1 KiB x 10 clients: c-epoll 150,000 msgs/s = 2.50x")
    assert headroom[0].endswith("goes past every Python server")
    assert "load generator was 30%-60% busy, the servers 100%-100%" in headroom[1]


def test_the_chart_is_valid_svg_with_one_labelled_bar_per_record() -> None:
    records = sample_records()
    root = ElementTree.fromstring(render_svg(records, subtitle="a <test> & more"))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert len(bars) == len(records)
    assert [bar.get("data-server") for bar in bars[:3]] == ["event-loop", "asyncio", "c-epoll"]
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert "60.0k" in labels and "2.00x" in labels and "error" in labels
    heights = [float(bar.get("height", "nan")) for bar in bars]
    assert max(heights[:3]) == heights[2]  # the fastest bar is the tallest in its panel
