"""Run the C load generator (loadgen.c) against a server and read its verdict.

The generator prints "measuring" and "measured" around the counted window; a
caller's `sample` function is called at both, so the server's CPU time is read
over exactly the seconds that were counted.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.bench.processes import pinned

REPLY_SECONDS = 5.0  # the generator's bound on one reply (and on connecting)
SLACK_SECONDS = 10.0  # on top of the run's own length, before we give up on the generator


class LoadFailed(RuntimeError):
    """The load generator reported errors, or did not finish in time."""


@dataclass(frozen=True)
class LoadResult:
    messages: int
    msgs_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    loadgen_cpu_s: float
    seconds: float
    first_error: str
    sampled: tuple[float, ...]  # the values of `sample` at the window's start and end


def loadgen_command(binary: Path, port: int, clients: int, size: int, duration: float,
                    warmup: float, reply_seconds: float = REPLY_SECONDS) -> list[str]:
    return [str(binary), "127.0.0.1", str(port), str(clients), str(size), str(duration),
            str(warmup), str(reply_seconds)]


def parse_result(lines: list[str], sampled: list[float]) -> LoadResult:
    """The generator's JSON line (its last line) as a LoadResult."""
    if not lines or not lines[-1].startswith("{"):
        raise LoadFailed(f"the load generator printed no result: {lines!r}")
    fields = json.loads(lines[-1])
    return LoadResult(
        messages=int(fields["messages"]), msgs_per_s=float(fields["msgs_per_s"]),
        p50_ms=float(fields["p50_ms"]), p99_ms=float(fields["p99_ms"]),
        errors=int(fields["errors"]), loadgen_cpu_s=float(fields["cpu_s"]),
        seconds=float(fields["seconds"]), first_error=str(fields["first_error"]),
        sampled=tuple(sampled))


def run_load(binary: Path, port: int, clients: int, size: int, duration: float, warmup: float,
             cpu: int | None = None, sample: Callable[[], float] = time.monotonic,
             reply_seconds: float = REPLY_SECONDS) -> LoadResult:
    """Run one load; raise LoadFailed on any error the generator reports."""
    command = loadgen_command(binary, port, clients, size, duration, warmup, reply_seconds)
    deadline = time.monotonic() + warmup + duration + 2 * reply_seconds + SLACK_SECONDS
    lines: list[str] = []
    sampled: list[float] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True,
                          preexec_fn=pinned(cpu)) as generator:
        assert generator.stdout is not None and generator.stderr is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(generator.stdout, selectors.EVENT_READ)
                while (left := deadline - time.monotonic()) > 0:
                    if not selector.select(timeout=left):
                        continue
                    # The generator writes whole lines and flushes each one.
                    line = generator.stdout.readline()
                    if not line:
                        break
                    lines.append(line.strip())
                    if line.startswith("measur"):
                        sampled.append(sample())
                else:
                    raise LoadFailed("the load generator did not finish in time: killed")
            generator.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            if generator.poll() is None:
                generator.kill()
                generator.wait()
        complaint = generator.stderr.read().strip()
    result = parse_result(lines, sampled)
    if generator.returncode != 0 or result.errors:
        raise LoadFailed(f"the load generator exited with status {generator.returncode}: "
                         f"{complaint or result.first_error}")
    return result
