"""Step 07 under loss: the reference client and server, through the grader's
lossy relay dropping a share of the datagrams each way at random. Prints the
success rate and how many requests had to be sent again.

    python -m tests.bench.udp_loss [--requests 1000] [--loss 0.2]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

from grader.checks.udp_tools import TO_SERVER, LossyRelay, Policy
from tests.grading import SOLUTIONS

STEP = SOLUTIONS / "07_udp"


def random_loss(rate: float, seed: int) -> Policy:
    chance = random.Random(seed)

    def policy(_direction: str, _data: bytes, _count: int) -> float | None:
        return None if chance.random() < rate else 0.0
    return policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--loss", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=0.1)
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, str(STEP / "server.py"), "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline().split(":")[1].split()[0])
    relay = LossyRelay(port, random_loss(args.loss, args.seed))
    messages = [f"request {number}" for number in range(args.requests)]
    try:
        started = time.perf_counter()
        # One client run per request: a request that exhausts its retries fails
        # alone instead of ending the run for the rest.
        answered = 0
        for start in range(0, len(messages), 50):
            answered += run_batch(relay.port, messages[start:start + 50], args)
        elapsed = time.perf_counter() - started
    finally:
        relay.close()
        server.kill()
        server.wait()
    sent = relay.seen[TO_SERVER]
    print(f"UDP: {args.requests} requests, {args.loss:.0%} of datagrams lost each way, "
          f"--timeout {args.timeout} --retries {args.retries}")
    print(f"  answered   {answered} ({answered / args.requests:.1%})")
    print(f"  retries    {sent - args.requests} (requests sent {sent}, "
          f"{(sent - args.requests) / args.requests:.2f} per request)")
    print(f"  dropped    {relay.dropped[TO_SERVER]} requests, {relay.dropped['reply']} replies")
    print(f"  wall time  {elapsed:.1f} s")


def run_batch(port: int, messages: list[str], args: argparse.Namespace) -> int:
    """Run the client on a batch; if one request fails, run the rest again without it."""
    answered = 0
    while messages:
        completed = subprocess.run(
            [sys.executable, str(STEP / "client.py"), "--port", str(port), "--timeout",
             str(args.timeout), "--retries", str(args.retries), *messages],
            capture_output=True, text=True, timeout=600)
        printed = completed.stdout.splitlines()
        answered += len(printed)
        # The client stops at the first request that got no answer: skip it.
        messages = messages[len(printed) + 1:] if completed.returncode else []
    return answered


if __name__ == "__main__":
    main()
