"""One client of the event-loop server: its buffers, its state, and their limits.

This file owns a connection's state; `server.py` drives it. A connection's
life, written down in one place:

    reading   lines come in, replies are queued and sent as the socket allows
    paused    HIGH_WATER bytes or more of replies wait for a client that reads
              slowly: nothing is read until fewer than LOW_WATER are left
    draining  the client closed its sending side (recv gave b""), or the
              server is shutting down: nothing more is read, the replies
              still owed are sent
    closed    unregistered from the selector, then closed (in that order: a
              closed descriptor left in the selector confuses the next socket
              that gets the same number)

    reading  -> paused     pending output reached HIGH_WATER
    paused   -> reading    pending output fell below LOW_WATER
    reading or paused -> draining   recv gave b"", or the server stops
    draining -> closed     every reply owed is sent
    any      -> closed     reset or broken pipe, a line longer than MAX_LINE,
                           pending output past OUTPUT_LIMIT, silent for the
                           idle timeout, or an error in its handling

Interest follows the state: EVENT_READ only while reading, EVENT_WRITE only
while output is pending (registered all the time it would wake the loop for
nothing, a busy loop).
"""

import selectors
import socket
import time

from framing import LineBuffer

# One recv per event, so a busy client cannot starve the others. Just under
# 128 KiB: past that, each recv's buffer is mapped from the OS and given back
# (glibc's mmap threshold), which costs more than the bytes it reads.
READ_SIZE = 120 * 1024
WRITE_SIZE = 120 * 1024  # one send of at most this per event, for the same reason
HIGH_WATER = 256 * 1024  # pending output at which we stop reading a client...
LOW_WATER = 128 * 1024  # ...until it falls below this (half, as in Netty)
OUTPUT_LIMIT = 2 * 1024 * 1024  # pending output past this drops the client


class TooMuchOutput(Exception):
    """More replies wait for a client than OUTPUT_LIMIT allows: it is not reading them."""


class Connection:
    """One client: its socket, what it sent that is not yet a line, what we owe it."""

    def __init__(self, sock: socket.socket, address: tuple[str, int]) -> None:
        self.sock = sock
        self.address = address
        self.lines = LineBuffer()
        self.outbox = bytearray()
        self.paused = False
        self.draining = False
        self.events = selectors.EVENT_READ
        self.last_active = time.monotonic()

    def read(self) -> None:
        """Read what is there; queue a reply for every complete line.

        1. data = self.sock.recv(READ_SIZE): one recv per event, never a loop;
           on BlockingIOError just return.
        2. self.last_active = time.monotonic().
        3. If data is b"": the client is done sending: self.draining = True; return.
        4. self.outbox += self.lines.feed_whole_lines(data): every complete line,
           still ending in b"\n", goes back unchanged (an echo).
        5. If len(self.outbox) > OUTPUT_LIMIT: raise TooMuchOutput(...): it does not read.
        """
        raise NotImplementedError("step 05_event_loop: write read")

    def write(self) -> None:
        """Send as much pending output as the socket takes now; keep the rest.

        1. If self.outbox is empty, return.
        2. sent = self.sock.send(view[:WRITE_SIZE]), with view = memoryview(self.outbox)
           in a with block (no copy): send(), never sendall(),
           and at most WRITE_SIZE bytes per event.
        3. On BlockingIOError return: the socket is full, EVENT_WRITE will come.
        4. del self.outbox[:sent]: keep only what was not sent.
        5. self.last_active = time.monotonic(): a client taking its replies is not idle.
        """
        raise NotImplementedError("step 05_event_loop: write write")

    def wanted_events(self) -> int:
        """The selector events this connection needs now; pauses and resumes reading.

        1. pending = len(self.outbox).
        2. If pending >= HIGH_WATER: self.paused = True; elif pending < LOW_WATER:
           self.paused = False. In between, paused stays as it was: that is the point.
        3. events = selectors.EVENT_WRITE if pending, else 0.
        4. Add selectors.EVENT_READ unless self.draining or self.paused.
        5. Return events.
        """
        raise NotImplementedError("step 05_event_loop: write wanted_events")

    def finished(self) -> bool:
        """True when this connection can be closed.

        1. Return True if self.draining and nothing is left in self.outbox.
        """
        raise NotImplementedError("step 05_event_loop: write finished")
