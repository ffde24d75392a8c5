"""Every known kind of student bug is caught, by the right check, with the right words.

Each buggy submission is a reference solution with one realistic mistake,
written as text replacements so it follows the solution as it changes (a
replacement that no longer applies fails loudly). The test grades the
broken step and asserts which checks fail, with which words, and that every
other check of the step still passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.grading import copy_step, grade

# A later check of a program that hung: not run, so no time is spent on it.
BLOCKED = ["not run: blocked by", "stopped answering"]


@dataclass(frozen=True)
class Bug:
    name: str  # what the student did, and the diagnosis kind it stands for
    step: str
    file: str
    replacements: list[tuple[str, str]]
    # check name -> words its explanation must contain (all of them)
    fails: dict[str, list[str]] = field(default_factory=dict)

    def apply(self, destination: Path) -> Path:
        step_dir = copy_step(self.step, destination)
        path = step_dir / self.file
        text = path.read_text()
        for old, new in self.replacements:
            assert text.count(old) == 1, f"{self.name}: {old!r} is not once in {self.file}"
            text = text.replace(old, new)
        path.write_text(text)
        return destination


BUGS = [
    Bug("deadlock: client waits for a reply without sending", "01_hello", "client.py",
        [("        sock.sendall(message.encode())\n", "")],
        fails={
            "client prints the reply": ["both sides are waiting in recv()", "client.py:",
                                        "sock.recv("],
            "client closes its socket": BLOCKED,
            "client without server prints one clear error": BLOCKED,
            "your client talks to your server": BLOCKED,
            "your client talks to the lesson's C server": BLOCKED}),
    Bug("missing close on server: accepted socket", "01_hello", "server.py",
        [("    conn.close()\n    listener.close()\n", "    listener.close()\n")],
        fails={"server closes both sockets": ["left 1 socket(s) open", "server.py:",
                                              "listener.accept()"]}),
    Bug("missing close on server: listening socket", "01_hello", "server.py",
        [("    conn.close()\n    listener.close()\n", "    conn.close()\n")],
        fails={"server closes both sockets": ["left 1 socket(s) open", "server.py:",
                                              "socket.socket("]}),
    Bug("missing close on client", "01_hello", "client.py",
        [("    finally:\n        sock.close()\n", "    finally:\n        pass\n")],
        fails={"client closes its socket": ["your client left 1 socket(s) open", "client.py:",
                                            "socket.socket("]}),
    Bug("client shows a traceback when no server runs", "01_hello", "client.py",
        [("    except OSError as error:", "    except ZeroDivisionError as error:")],
        fails={"client without server prints one clear error": ["a traceback"]}),
    Bug("no timeout on the client", "02_timeouts", "client.py",
        [("    sock.settimeout(timeout)\n", "")],
        fails={
            "client gives up when the server never replies": ["waiting in recv()",
                                                              "settimeout()"],
            "client gives up when the server never accepts": BLOCKED}),
    Bug("timeout set but not handled: traceback", "02_timeouts", "client.py",
        [("    except TimeoutError:\n", "    except ZeroDivisionError:\n"),
         ("    except OSError as error:", "    except ConnectionRefusedError as error:")],
        fails={
            "client gives up when the server never replies": ["with a traceback",
                                                              "TimeoutError"],
            "client gives up when the server never accepts": ["with a traceback"]}),
    Bug("no timeout on the server: a silent client holds it forever", "02_timeouts",
        "server.py", [("    conn.settimeout(idle_timeout)\n", "")],
        fails={
            "server drops a silent client and serves the next": ["waiting in recv()",
                                                                 "server.py:"],
            "server closes every client socket": BLOCKED}),
    Bug("server drops an idle client but leaks its socket", "02_timeouts", "server.py",
        [("    finally:\n        conn.close()\n", "")],
        fails={
            "server echoes one message per client": ["end of the connection",
                                                     "waiting in accept()"],
            "server drops a silent client and serves the next": BLOCKED,
            "server closes every client socket": BLOCKED}),
    Bug("server exits after its first client (sys.exit)", "02_timeouts", "server.py",
        [("            serve_client(conn, idle_timeout)\n",
          "            serve_client(conn, idle_timeout)\n            raise SystemExit(0)\n")],
        fails={
            "server echoes one message per client": ["your server stopped",
                                                     "exited with status 0"],
            "server drops a silent client and serves the next": ["stopped"],
            "server closes every client socket": ["stopped"]}),
    Bug("message split across recv calls: one recv taken as one message", "03_messages",
        "server.py",
        [("        for line in complete:\n            conn.sendall(encode_line(line))\n",
          "        conn.sendall(encode_line(data.rstrip(b'\\n')))\n")],
        fails={
            "server joins a line split across recv calls": ["b'hel\\n'", "b'hello world\\n'"],
            "server echoes a long line": ["50,000 bytes"]}),
    Bug("end of stream never detected: spins on b''", "03_messages", "server.py",
        [("        if not data:\n            return\n", "")],
        fails={
            "server replies then closes when the client is done": ["end of the connection",
                                                                   "recv() returning b''"],
            "server closes every client socket": BLOCKED}),
    Bug("socket leak over many connections", "04_threads", "server.py",
        [("    finally:\n        conn.close()\n", "    finally:\n        STUCK.append(conn)\n"),
         ("BUFFER_SIZE = 4096\n", "BUFFER_SIZE = 4096\nSTUCK = []\n")],
        fails={"server closes every client socket": ["they pile up", "server.py:",
                                                     "listener.accept()"]}),
    Bug("one client blocking the others: no thread after all", "04_threads", "server.py",
        [("            worker.start()\n", "            worker.run()\n")],
        fails={
            "server answers a client while another is silent": [
                "one client blocks all the others", "waiting in recv()"],
            "server keeps many clients apart": ["waited"]}),
    Bug("crash on connection reset", "05_event_loop", "server.py",
        [("        except OSError:\n            # Reset,",
          "        except BrokenPipeError:\n            # Reset,")],
        fails={"server survives a client that resets": ["ConnectionResetError",
                                                        "server.py:"]}),
    Bug("busy loop: EVENT_WRITE registered forever", "05_event_loop", "server.py",
        [("        if self.outbox:\n            events |= selectors.EVENT_WRITE\n",
          "        events |= selectors.EVENT_WRITE\n")],
        fails={"server sleeps while nothing happens": ["busy loop", "EVENT_WRITE"]}),
    Bug("a thread per client in the event-loop step", "05_event_loop", "server.py",
        [("import argparse\n", "import argparse\nimport threading\n"),
         ("    def serve_forever(self) -> None:\n",
          "    def serve_forever(self) -> None:\n"
          "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")],
        fails={"server runs on one thread": ["runs 2 threads"]}),
]


LARGE_MESSAGES_AND_UDP = [
    Bug("header split across reads: a partial header is thrown away", "06_streaming",
        "frames.py", [("        self._header += view[:needed]\n",
                       "        self._header = bytearray(view[:needed])\n")],
        fails={"server reads a header split across recv calls": [
                   "waited 2 s for the header", "read exactly 5 header bytes"],
               **{check: BLOCKED for check in (
                   "server echoes a 5 MB frame sent in chunks",
                   "server refuses an oversized frame with an error",
                   "server refuses a file outside its root",
                   "server sends a file to many clients at once in bounded memory",
                   "server stops reading a client that never reads its replies",
                   "server answers requests sent together in order",
                   "server survives a client that resets mid frame",
                   "server closes every client socket")},
               # frames.py is the client's too: it never finishes a reply's header.
               "client prints each reply": ["both sides are waiting in recv()"],
               **{check: BLOCKED for check in (
                   "client downloads a file and checks it",
                   "client rejects a damaged download",
                   "client reports a file cut short",
                   "client gives up when the server never replies")}}),
    Bug("unbounded buffering: the whole file read at once, no high-water mark",
        "06_streaming", "server.py",
        [("            chunk = self.stream.read(min(CHUNK_SIZE, self.remaining))\n",
          "            chunk = self.stream.read(self.remaining)\n"),
         ("        if not self.draining and not busy and len(self.outbox) < HIGH_WATER:\n",
          "        if not self.draining and not busy:\n")],
        fails={"server sends a file to many clients at once in bounded memory": [
                   "memory grew by", "a chunk at a time"],
               "server stops reading a client that never reads its replies": [
                   "grow by", "stop reading a client"]}),
    Bug("client ignores the checksum", "06_streaming", "client.py",
        [("        if done.kind != DONE or expected != digest:\n",
          "        if done.kind != DONE:\n")],
        fails={"client rejects a damaged download": ["exited with status 0",
                                                     "hashlib.sha256"]}),
    Bug("UDP client never retries", "07_udp", "client.py",
        [("    for attempt in range(1 + retries):\n", "    for attempt in range(1):\n")],
        fails={"client sends a lost request again": ["no reply to 'one'", "--retries"],
               "client gives up after its retries": ["sent 1 datagram(s)"],
               "client skips a late reply to an earlier request": ["no reply to 'one'"],
               "your client and server cope with 20 percent loss": ["--retries"]}),
    Bug("UDP client takes a late duplicate for the answer", "07_udp", "client.py",
        [("        if reply_id == request_id:\n", "        if True:\n")],
        fails={"client skips a late reply to an earlier request": ["['ONE', 'ONE']",
                                                                   "id"]}),
]
BUGS += LARGE_MESSAGES_AND_UDP


RUNAWAYS = [
    Bug("flood of output", "01_hello", "server.py",
        [("    message = conn.recv(BUFFER_SIZE)\n",
          "    while True:\n        print('waiting for the message...')\n")],
        fails={
            "server echoes one message then exits": ["more output than the grader accepts"],
            "server closes both sockets": ["more output"],
            "your client talks to your server": ["more output"],
            "the lesson's C client talks to your server": ["more output"]}),
    Bug("endless loop", "01_hello", "server.py",
        [("    message = conn.recv(BUFFER_SIZE)\n", "    while True:\n        pass\n")],
        fails={
            "server echoes one message then exits": ["busy at line", "server.py:"],
            "server closes both sockets": BLOCKED,
            "your client talks to your server": BLOCKED,
            "the lesson's C client talks to your server": BLOCKED}),
    Bug("a forked child that outlives the server", "03_messages", "server.py",
        [("        listener.listen()\n",
          "        listener.listen()\n        import os, time\n"
          "        if os.fork() == 0:\n            time.sleep(600)\n")],
        fails={}),
]
BUGS += RUNAWAYS


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_bug_is_caught_with_the_right_words(bug: Bug, tmp_path: Path) -> None:
    submission = bug.apply(tmp_path / "submission")
    graded = grade(submission, bug.step, json_path=tmp_path / "results.json")
    failed = graded.failed()
    assert set(failed) == set(bug.fails), graded.output
    assert graded.exit_code == (1 if bug.fails else 0)
    for check, words in bug.fails.items():
        for word in words:
            assert word in failed[check], f"{check}: {word!r} missing from:\n{failed[check]}"
    assert processes_running_from(submission) == []


def processes_running_from(folder: Path) -> list[str]:
    """Command lines of live processes that run a file under `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in command:
            found.append(command)
    return found
