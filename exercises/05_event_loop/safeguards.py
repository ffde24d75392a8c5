"""What keeps the step 05 server up when the OS runs short or asks it to stop.

You write `turn_away`; the rest is given: read it. Each piece answers one
question a real server meets sooner or later:

- `turn_away`: how do we say "no" to a client we will not serve?
- `SpareDescriptor`: how do we say it when the process has no file
  descriptor left to accept the client with?
- `StopSignals`: how does Ctrl-C (SIGINT) or `kill` (SIGTERM) stop the loop
  at a moment of its choosing, even while select() sleeps?
"""

import os
import selectors
import signal
import socket
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def turn_away(sock: socket.socket, reason: bytes) -> None:
    """Tell a client we will not serve it, then close: it hears why instead of waiting.

    1. In a try: sock.setblocking(False), then sock.send(reason) once.
    2. Then sock.recv(65536) once, and throw it away: closing with unread bytes
       sends a reset instead of a plain close, and a reset can destroy the reason.
    3. except OSError: pass (best effort); finally: sock.close().
    """
    raise NotImplementedError("step 05_event_loop: write turn_away")


class SpareDescriptor:
    """One file descriptor held in reserve for when none are left (libuv does the same).

    Out of descriptors, accept() fails and leaves the client in the queue:
    the listener stays ready, select() returns at once, again and again.
    Releasing the spare frees one number, enough to accept a waiting client
    and close it; then the spare is reserved again.
    """

    def __init__(self) -> None:
        self.fd: int | None = None
        self.reserve()

    def reserve(self) -> None:
        if self.fd is not None:
            return
        try:
            self.fd = os.open(os.devnull, os.O_RDONLY)
        except OSError:
            pass  # none free right now: the next reserve() tries again

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class StopSignals:
    """SIGINT and SIGTERM ask the loop to stop; they do not stop it mid-step.

    A signal handler runs between any two lines of the loop: raising there
    (as Python's default KeyboardInterrupt does) could leave a connection
    unregistered but not closed, or a reply half sent. So the handler only
    notes the request and writes one byte to a socket the selector watches:
    select() wakes at once and the loop sees `requested` (asyncio does the
    same; it is called the self-pipe trick).
    """

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self.requested = False
        self.selector = selector
        self.wakeup, self.wakeup_writer = socket.socketpair()
        self.wakeup.setblocking(False)
        self.wakeup_writer.setblocking(False)
        selector.register(self.wakeup, selectors.EVENT_READ, data=self)
        self.previous = {number: signal.signal(number, self._on_signal)
                         for number in STOP_SIGNALS}

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self.requested = True
        try:
            self.wakeup_writer.send(b"\0")
        except OSError:
            pass  # bytes already wait to be read: select() wakes anyway

    def clear_wakeup(self) -> None:
        """Empty the wakeup socket, or it would wake select() at every turn."""
        try:
            self.wakeup.recv(4096)
        except OSError:
            pass  # already empty

    def close(self) -> None:
        for number, handler in self.previous.items():
            if handler is not None:
                signal.signal(number, handler)
        self.selector.unregister(self.wakeup)
        self.wakeup.close()
        self.wakeup_writer.close()
