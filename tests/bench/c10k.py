"""C10K: the kit's event-loop server holds 10,000 idle connections while one
active client ping-pongs 1 KiB lines. Prints that client's latency, without and
with the idle crowd, and the server's memory per idle connection.

    python -m tests.bench.c10k [--connections 10000] [--duration 5] [--server event-loop]

The server runs on CPU 0, the active client (loadgen.c, one connection) on
CPU 1; the idle connections come from a separate process (idle_holder.py).
Both that process and the server get an RLIMIT_NOFILE above the count.
"""

from __future__ import annotations

import argparse
import json
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.bench import native
from tests.bench.echo_servers import SERVERS
from tests.bench.load import LoadResult, run_load
from tests.bench.processes import (
    ServerProcess,
    cpu_seconds,
    open_descriptors,
    pinned,
    resident_kib,
    stop_on_sigterm,
)
from tests.bench.server_grid import cores, load_average

MESSAGE_SIZE = 1024
GOAL_P99_MS = 10.0
SPARE_DESCRIPTORS = 1024  # above the idle count: the server's own files, the active client
HOLD_SECONDS = 120.0  # for the holder to establish every connection
ACCEPT_SECONDS = 60.0  # for the server to accept them all once established


@dataclass(frozen=True)
class C10kResult:
    server: str
    connections: int
    p50_ms_alone: float
    p99_ms_alone: float
    p50_ms: float
    p99_ms: float
    msgs_per_s: float
    server_cpu_share: float  # of one core, while the active client ran among the idle ones
    rss_kib_before: int
    rss_kib_after: int

    @property
    def bytes_per_connection(self) -> float:
        return (self.rss_kib_after - self.rss_kib_before) * 1024 / self.connections


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000, help="idle connections")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of ping-pong")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--server", default="event-loop", choices=sorted(SERVERS))
    parser.add_argument("--json", type=Path, help="write the result to this file")
    return parser.parse_args(argv)


def wait_for_line(process: subprocess.Popen[str], prefix: str, seconds: float) -> str:
    """The first line of `process`, which must start with `prefix`, within a bound."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=seconds):
            raise RuntimeError(f"no {prefix!r} line within {seconds:.0f} s")
    # The holder writes its one line whole and flushes it: readline cannot stall.
    line = process.stdout.readline()
    if not line.startswith(prefix):
        raise RuntimeError(f"expected {prefix!r}, got {line.strip()!r}")
    return line


def hold_idle_connections(port: int, count: int, cpu: int | None) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.idle_holder", str(port), str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=pinned(cpu, count + SPARE_DESCRIPTORS))
    try:
        wait_for_line(holder, "holding", HOLD_SECONDS)
    except BaseException:
        release(holder)
        raise
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    """Close the holder's stdin (its cue to close everything); kill it if it lingers."""
    try:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(timeout=10)
    except subprocess.TimeoutExpired:
        holder.kill()
        holder.wait()
    finally:
        if holder.stdout:
            holder.stdout.close()


def wait_until_accepted(pid: int, descriptors: int) -> None:
    deadline = time.monotonic() + ACCEPT_SECONDS
    while open_descriptors(pid) < descriptors:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server holds {open_descriptors(pid)} descriptors after "
                               f"{ACCEPT_SECONDS:.0f} s, expected {descriptors}")
        time.sleep(0.1)


def measure(args: argparse.Namespace) -> C10kResult:
    loadgen = native.build(native.LOADGEN_SOURCE)
    server_core, client_core = cores()
    server = SERVERS[args.server]
    command = server.command(max_clients=args.connections + 100, idle_timeout=3600)
    with ServerProcess(command, cpu=server_core,
                       open_files=args.connections + SPARE_DESCRIPTORS) as process:
        def ping_pong() -> LoadResult:
            return run_load(loadgen, process.port, 1, MESSAGE_SIZE, args.duration, args.warmup,
                            cpu=client_core, sample=lambda: cpu_seconds(process.pid))

        alone = ping_pong()
        rss_before = resident_kib(process.pid)
        descriptors_before = open_descriptors(process.pid)
        holder = hold_idle_connections(process.port, args.connections, client_core)
        try:
            wait_until_accepted(process.pid, descriptors_before + args.connections)
            time.sleep(0.5)  # let the last accepted connections settle in memory
            rss_after = resident_kib(process.pid)
            crowded = ping_pong()
        finally:
            release(holder)
    cpu_before, cpu_after = crowded.sampled
    return C10kResult(
        server=args.server, connections=args.connections,
        p50_ms_alone=alone.p50_ms, p99_ms_alone=alone.p99_ms,
        p50_ms=crowded.p50_ms, p99_ms=crowded.p99_ms, msgs_per_s=crowded.msgs_per_s,
        server_cpu_share=round((cpu_after - cpu_before) / crowded.seconds, 3),
        rss_kib_before=rss_before, rss_kib_after=rss_after)


def report(result: C10kResult) -> str:
    verdict = "meets" if result.p99_ms < GOAL_P99_MS else "MISSES"
    return "\n".join([
        f"C10K: {result.server} server, {result.connections:,} idle connections, "
        f"one client ping-ponging {MESSAGE_SIZE} B lines",
        f"  latency alone           p50 {result.p50_ms_alone:.3f} ms   "
        f"p99 {result.p99_ms_alone:.3f} ms",
        f"  latency among the idle  p50 {result.p50_ms:.3f} ms   p99 {result.p99_ms:.3f} ms"
        f"   ({verdict} the goal p99 < {GOAL_P99_MS:g} ms)",
        f"  active client           {result.msgs_per_s:,.0f} msgs/s; server CPU "
        f"{result.server_cpu_share:.0%} of a core meanwhile",
        f"  server memory           VmRSS {result.rss_kib_before / 1024:.1f} MiB -> "
        f"{result.rss_kib_after / 1024:.1f} MiB: "
        f"{result.bytes_per_connection / 1024:.2f} KiB per idle connection",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    stop_on_sigterm()
    print(f"load average before: {load_average()}")
    result = measure(args)
    print(f"load average after: {load_average()}")
    print(report(result))
    if args.json:
        data = {**asdict(result), "bytes_per_connection": result.bytes_per_connection}
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: the servers it started are stopped")
