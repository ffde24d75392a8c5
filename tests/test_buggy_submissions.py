"""Every known kind of student bug is caught, by the right check, with the right words.

Each buggy submission is a reference solution with one realistic mistake,
written as text replacements so it follows the solution as it changes (a
replacement that no longer applies fails loudly). The test grades the
broken step and asserts which checks fail, with which words, and that every
other check of the step still passes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grading import BLOCKED, Mutation, grade, processes_running_from
from tests.test_harmless_variations import FUNCTIONS_AND_DICTS_05

BUGS = [
    Mutation("deadlock: client waits for a reply without sending", "01_hello", "client.py",
        [("        sock.sendall(message.encode())\n", "")],
        fails={
            "client prints the reply": ["both sides are waiting in recv()", "client.py:",
                                        "sock.recv("],
            "client closes its socket": BLOCKED,
            "your client talks to your server": BLOCKED,
            "your client talks to the lesson's C server": BLOCKED}),
    Mutation("missing close on server: accepted socket", "01_hello", "server.py",
        [("    conn.close()\n    listener.close()\n", "    listener.close()\n")],
        fails={"server closes both sockets": ["left 1 socket(s) open", "server.py:",
                                              "listener.accept()"]}),
    Mutation("missing close on server: listening socket", "01_hello", "server.py",
        [("    conn.close()\n    listener.close()\n", "    conn.close()\n")],
        fails={"server closes both sockets": ["left 1 socket(s) open", "server.py:",
                                              "socket.socket("]}),
    Mutation("missing close on client", "01_hello", "client.py",
        [("    finally:\n        sock.close()\n", "    finally:\n        pass\n")],
        fails={"client closes its socket": ["your client left 1 socket(s) open", "client.py:",
                                            "socket.socket("]}),
    Mutation("client shows a traceback when no server runs", "01_hello", "client.py",
        [("    except OSError as error:", "    except ZeroDivisionError as error:")],
        fails={"client without server prints one clear error": ["a traceback"]}),
    Mutation("no timeout on the client", "02_timeouts", "client.py",
        [("    sock.settimeout(timeout)\n", "")],
        fails={
            "client gives up when the server never replies": ["waiting in recv()",
                                                              "settimeout()"],
            # Its own failure now, not the one above's: a fresh client, hung in connect().
            "client gives up when the server never accepts": ["never accepted",
                                                              "sock.connect("]}),
    Mutation("timeout set but not handled: traceback", "02_timeouts", "client.py",
        [("    except TimeoutError:\n", "    except ZeroDivisionError:\n"),
         ("    except OSError as error:", "    except ConnectionRefusedError as error:")],
        fails={
            "client gives up when the server never replies": ["with a traceback",
                                                              "TimeoutError"],
            "client gives up when the server never accepts": ["with a traceback"]}),
    Mutation("no timeout on the server: a silent client holds it forever", "02_timeouts",
        "server.py", [("    conn.settimeout(idle_timeout)\n", "")],
        fails={
            "server drops a silent client and serves the next": ["waiting in recv()",
                                                                 "server.py:"],
            "server closes every client socket": BLOCKED}),
    Mutation("server drops an idle client but leaks its socket", "02_timeouts", "server.py",
        [("    finally:\n        conn.close()\n", "")],
        fails={
            "server echoes one message per client": ["end of the connection",
                                                     "waiting in accept()"],
            "server drops a silent client and serves the next": BLOCKED,
            "server closes every client socket": BLOCKED}),
    Mutation("server exits after its first client (sys.exit)", "02_timeouts", "server.py",
        [("            serve_client(conn, idle_timeout)\n",
          "            serve_client(conn, idle_timeout)\n            raise SystemExit(0)\n")],
        fails={
            "server echoes one message per client": ["your server stopped",
                                                     "exited with status 0"],
            "server drops a silent client and serves the next": ["stopped"],
            "server closes every client socket": ["stopped"]}),
    Mutation("message split across recv calls: one recv taken as one message", "03_messages",
        "server.py",
        [("        for line in complete:\n            conn.sendall(encode_line(line))\n",
          "        conn.sendall(encode_line(data.rstrip(b'\\n')))\n")],
        fails={
            "server joins a line split across recv calls": ["b'hel\\n'", "b'hello world\\n'"],
            "server echoes a long line": ["50,000 bytes"],
            # No framing, so no line limit either: the long line comes straight back.
            "server refuses a line over 1 MiB with an error": [
                "still without its b'\\n', your server sent b'xxxx"]}),
    Mutation("end of stream never detected: spins on b''", "03_messages", "server.py",
        [("        if not data:\n            return\n", "")],
        fails={
            "server replies then closes when the client is done": ["end of the connection",
                                                                   "recv() returning b''"],
            "server closes every client socket": BLOCKED}),
    Mutation("socket leak over many connections", "04_threads", "server.py",
        [("    finally:\n        conn.close()\n", "    finally:\n        STUCK.append(conn)\n"),
         ("BUFFER_SIZE = 4096\n", "BUFFER_SIZE = 4096\nSTUCK = []\n")],
        fails={"server closes every client socket": ["they pile up", "server.py:",
                                                     "listener.accept()"],
               # A socket never closed is a client never dropped, a refusal never ended.
               "server drops a silent client": ["sent nothing for 0.5 s",
                                                "waiting in accept()"],
               "server refuses a line over 1 MiB with an error": [
                   "it had received b'error: "]}),
    Mutation("one client blocking the others: no thread after all", "04_threads", "server.py",
        [("            worker.start()\n", "            worker.run()\n")],
        fails={
            "server answers a client while another is silent": [
                "one client blocks all the others", "waiting in recv()"],
            "server keeps many clients apart": ["waited"]}),
    Mutation("crash on connection reset", "05_event_loop", "server.py",
        [("        except (OSError, TooMuchOutput):\n            # Reset,",
          "        except (BrokenPipeError, TooMuchOutput):\n            # Reset,"),
         # ...and a loop that calls _service itself, without the given net around it.
         ("self._service_isolated(key.data, mask)", "self._service(key.data, mask)")],
        fails={"server survives a client that resets": ["ConnectionResetError",
                                                        "connection.py:"]}),
    Mutation("busy loop: EVENT_WRITE registered forever", "05_event_loop", "connection.py",
        [("        events = selectors.EVENT_WRITE if pending else 0\n",
          "        events = selectors.EVENT_WRITE\n")],
        fails={"server sleeps while nothing happens": ["busy loop", "EVENT_WRITE"]}),
    Mutation("a thread per client in the event-loop step", "05_event_loop", "server.py",
        [("import argparse\n", "import argparse\nimport threading\n"),
         ("    def serve_forever(self) -> None:\n",
          "    def serve_forever(self) -> None:\n"
          "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")],
        fails={"server runs on one thread": ["runs 2 threads"]}),
]


LARGE_MESSAGES_AND_UDP = [
    Mutation("header split across reads: a partial header is thrown away", "06_streaming",
        "frames.py", [("        self._header += view[:needed]\n",
                       "        self._header = bytearray(view[:needed])\n")],
        fails={"server reads a header split across recv calls": [
                   "waited 2 s for the header", "read exactly 5 header bytes"],
               # No other check of the server splits a header: each passes on its own.
               # frames.py is the client's too: it never finishes a reply's header.
               "client prints each reply": ["both sides are waiting in recv()"],
               **{check: BLOCKED for check in (
                   "client downloads a file and checks it",
                   "client rejects a damaged download",
                   "client reports a file cut short")}}),
    Mutation("unbounded buffering: the whole file read at once, no high-water mark",
        "06_streaming", "server.py",
        [("            chunk = self.stream.read(min(CHUNK_SIZE, self.remaining))\n",
          "            chunk = self.stream.read(self.remaining)\n"),
         ("        if not self.draining and not busy and len(self.outbox) < HIGH_WATER:\n",
          "        if not self.draining and not busy:\n")],
        fails={"server sends a file to many clients at once in bounded memory": [
                   "memory grew by", "a chunk at a time"],
               "server stops reading a client that never reads its replies": [
                   "grow by", "stop reading a client"]}),
    Mutation("client ignores the checksum", "06_streaming", "client.py",
        [("        if done.kind != DONE or expected != digest:\n",
          "        if done.kind != DONE:\n")],
        fails={"client rejects a damaged download": ["exited with status 0",
                                                     "hashlib.sha256"]}),
    Mutation("UDP client never retries", "07_udp", "client.py",
        [("    for attempt in range(1 + retries):\n", "    for attempt in range(1):\n")],
        fails={"client sends a lost request again": ["no reply to 'one'", "--retries"],
               "client gives up after its retries": ["sent 1 datagram(s)"],
               "client skips a late reply to an earlier request": ["no reply to 'one'"],
               "your client and server cope with 20 percent loss": ["--retries"]}),
    # One hang costs one check: the later, independent checks get a fresh client.
    Mutation("UDP client retries forever", "07_udp", "client.py",
        [("    for attempt in range(1 + retries):\n",
          "    for attempt in itertools.count():\n"),
         ("import argparse\n", "import argparse\nimport itertools\n")],
        fails={"client gives up after its retries": ["every request was lost",
                                                     "gives up after 3 attempts"]}),
    Mutation("UDP client takes a late duplicate for the answer", "07_udp", "client.py",
        [("        if reply_id == request_id:\n", "        if True:\n")],
        fails={"client skips a late reply to an earlier request": ["['ONE', 'ONE']",
                                                                   "id"]}),
]
BUGS += LARGE_MESSAGES_AND_UDP


MORE_CLASSIC_MISTAKES = [
    # The most common tutorial shape: echo until the client closes.
    Mutation("step 01 server echoes until the client closes", "01_hello", "server.py",
             [("    message = conn.recv(BUFFER_SIZE)\n"
               "    print(f\"client says: {message.decode(errors='replace')}\", flush=True)\n"
               "    conn.sendall(message)\n",
               "    while message := conn.recv(BUFFER_SIZE):\n"
               "        conn.sendall(message)\n")],
             fails={"server echoes one message then exits": [
                        "sent back b'hello from the grader', then kept the connection open",
                        "waiting in recv()", "close the client's socket"],
                    # A client that closes after its reply ends it: those checks pass.
                    "server closes both sockets": BLOCKED}),
    Mutation("both block: the server waits for a second message before replying", "01_hello",
             "server.py",
             [("    message = conn.recv(BUFFER_SIZE)\n",
               "    message = conn.recv(BUFFER_SIZE)\n    message += conn.recv(BUFFER_SIZE)\n")],
             fails={"server echoes one message then exits": ["waiting in recv()",
                                                             "server.py:"],
                    "server closes both sockets": BLOCKED,
                    "your client talks to your server": ["both sides are waiting in recv()",
                                                         "the lesson's deadlock"],
                    "the lesson's C client talks to your server": ["got no reply",
                                                                   "waiting in recv()"]}),
    Mutation("recv on the listening socket", "01_hello", "server.py",
             [("    message = conn.recv(BUFFER_SIZE)\n",
               "    message = listener.recv(BUFFER_SIZE)\n")],
             fails={"server echoes one message then exits": ["crashed with OSError",
                                                             "listener.recv("],
                    "server closes both sockets": ["crashed with OSError"],
                    "your client talks to your server": ["crashed with OSError"],
                    "the lesson's C client talks to your server": ["crashed with OSError"]}),
    Mutation("no timeout on connect: settimeout only after connect", "02_timeouts",
             "client.py",
             [("    sock.settimeout(timeout)\n    try:\n        sock.connect((host, port))\n",
               "    try:\n        sock.connect((host, port))\n        sock.settimeout(timeout)\n")],
             fails={"client gives up when the server never accepts": ["waiting in connect()"]}),
    Mutation("send() with its count ignored", "03_messages", "server.py",
             [("        for line in complete:\n            conn.sendall(encode_line(line))\n",
               "        for line in complete:\n            conn.send(encode_line(line))\n")],
             fails={"server and client never ignore what send() returns": [
                 "ignores how many bytes it sent", "conn.send(encode_line(line))"]}),
    Mutation("the rest of the buffer lost after the first line", "03_messages", "server.py",
             [("        for line in complete:\n", "        for line in complete[:1]:\n")],
             fails={"server answers every line that came in one recv": [
                        "waited", "it had received b'one\\n'"],
                    "server replies then closes when the client is done": [
                        "sent b'last\\n' before closing"],
                    "server closes every client socket": ["it had received b'a\\n'"]}),
    Mutation("replies with characters added", "03_messages", "server.py",
             [("        for line in complete:\n            conn.sendall(encode_line(line))\n",
               "        for line in complete:\n            conn.sendall(line + b'\\r\\n')\n")],
             fails={"server echoes lines one by one": ["b'one\\r\\n'"],
                    "server joins a line split across recv calls": ["b'hello world\\r\\n'"],
                    "server answers every line that came in one recv": ["\\r"],
                    "server echoes a long line": ["50,002 bytes"],
                    "server replies then closes when the client is done": ["\\r"]}),
    Mutation("one buffer shared by every thread", "04_threads", "server.py",
             [("    lines = LineBuffer()\n    while True:\n",
               "    lines = SHARED\n    while True:\n"),
              ("BUFFER_SIZE = 4096\n", "BUFFER_SIZE = 4096\nSHARED = LineBuffer()\n")],
             fails={"server answers a client while another is silent": [
                        "b'the start of a line that never enhello\\n'"],
                    "server keeps many clients apart": ["got", "its own line",
                                                        "never in a global"],
                    "server survives a client that resets": ["half a lihalf a li"]}),
    # Every thread described, the main one first: it waits for a lock a worker holds
    # (taken before accept, handed to the client's thread, released when it ends).
    Mutation("one client at a time: a lock held for a whole conversation", "04_threads",
             "server.py",
             [("    finally:\n        conn.close()\n",
               "    finally:\n        ONE_AT_A_TIME.release()\n        conn.close()\n"),
              ("            conn, address = listener.accept()\n",
               "            ONE_AT_A_TIME.acquire()\n"
               "            conn, address = listener.accept()\n"),
              ("BUFFER_SIZE = 4096\n", "BUFFER_SIZE = 4096\nONE_AT_A_TIME = threading.Lock()\n")],
             fails={check: ["your server is waiting in acquire(), and its other thread in "
                            "recv()", "ONE_AT_A_TIME.acquire()",
                            "hold a lock only around the few lines that share data"]
                    for check in ("server answers a client while another is silent",
                                  "server keeps many clients apart")}),
    # A full backlog is not a closed listener: with listen(1) and nothing accepting,
    # the grader's third connection waits and is never accepted.
    Mutation("listen(1) and no thread after all: the backlog fills", "04_threads",
             "server.py",
             [("            worker.start()\n", "            worker.run()\n"),
              ("        listener.listen()\n", "        listener.listen(1)\n")],
             fails={"server answers a client while another is silent": [
                        "one client blocks all the others"],
                    "server keeps many clients apart": [
                        "was never accepted", "its backlog) was full",
                        "keep calling accept()"]}),
    Mutation("a thread crashes on a reset", "04_threads", "server.py",
             [("    except OSError as error:\n        # A reset or broken pipe ends this "
               "client's thread, and only it.\n        print(f\"client connection failed: "
               "{error}\", flush=True)\n", "")],
             fails={"server survives a client that resets": ["crashed with "
                                                             "ConnectionResetError"]}),
    Mutation("sockets left blocking", "05_event_loop", "server.py",
             [("            sock.setblocking(False)\n", "")],
             fails={"server is not stalled by a client that never reads": [
                        "waited", "waiting in send()", "never wait for one client's socket"]}),
    Mutation("a blocking recv in the loop, right after accept", "05_event_loop", "server.py",
             [("            sock.setblocking(False)\n",
               "            sock.recv(1, socket.MSG_PEEK)\n            sock.setblocking(False)\n")],
             fails={"server answers a client while another is silent": [
                        "one client blocks all the others", "MSG_PEEK"],
                    "server runs on one thread": ["waiting in recv()", "MSG_PEEK"],
                    **{check: ["waiting in recv()", "MSG_PEEK"] for check in (
                        "server drops a silent client",
                        "server turns away the client over max clients")}}),
    Mutation("closed but never unregistered", "05_event_loop", "server.py",
             [("        self.selector.unregister(conn.sock)\n        conn.sock.close()\n",
               "        conn.sock.close()\n")],
             fails={check: ["crashed with KeyError"] for check in (
                 "server survives a client that resets", "server closes every client socket",
                 "server refuses a line over 1 MiB with an error",
                 "server turns away the client over max clients")}),
    Mutation("closed before unregistered", "05_event_loop", "server.py",
             [("        self.selector.unregister(conn.sock)\n        conn.sock.close()\n",
               "        conn.sock.close()\n        self.selector.unregister(conn.sock)\n")],
             fails={"server unregisters each socket before closing it": [
                 "closes a socket before it unregisters it", "conn.sock.close()"]}),
    Mutation("pending output lost when the client stops sending", "05_event_loop",
             "connection.py",
             [("        if not data:\n            self.draining = True\n            return\n",
               "        if not data:\n            raise ConnectionError('client gone')\n")],
             fails={"server sends all it owes after the client stops sending": [
                 "differing from what it was sent", "send every reply still in its outbox"]}),
    Mutation("one slow client stalls all: a blocking sendall", "05_event_loop", "connection.py",
             [("                sent = self.sock.send(pending[:WRITE_SIZE])\n",
               "                self.sock.setblocking(True)\n"
               "                self.sock.sendall(pending)\n"
               "                self.sock.setblocking(False)\n"
               "                sent = len(pending)\n")],
             fails={"server is not stalled by a client that never reads": [
                        "waited", "never wait for one client's socket"]}),
]
BUGS += MORE_CLASSIC_MISTAKES


# What each step README's rules say and a public server often lacks: each rule
# is sent by a check, and each of these fails that check alone.
README_RULES = [
    Mutation("no line limit: a line without end is buffered forever", "03_messages",
             "framing.py",
             [("        if len(self._pending) > self._max_line or any(", "        if any(")],
             fails={"server refuses a line over 1 MiB with an error": [
                 "1,048,577 bytes, still without its b'\\n'", "waiting in recv()",
                 "once they pass MAX_LINE"]}),
    Mutation("no idle timeout in the threads' server", "04_threads", "server.py",
             [("    conn.settimeout(idle_timeout)\n", "")],
             fails={"server drops a silent client": ["sent nothing for 0.5 s",
                                                     "its other thread in recv()",
                                                     "settimeout(idle_timeout)"]}),
    Mutation("idle clients never swept", "05_event_loop", "server.py",
             [("        self._drop_idle_clients(now)\n", "")],
             fails={"server drops a silent client": ["sent nothing for 0.5 s",
                                                     "once a second (the tick)"]}),
    Mutation("--max-clients ignored", "05_event_loop", "server.py",
             [("            if len(self.connections) >= self.max_clients:\n",
               "            if False:\n")],
             fails={"server turns away the client over max clients": [
                 "a third client (--max-clients 2)", "b'error: too many clients\\n'"]}),
    Mutation("SIGTERM not handled: the server dies mid-stride", "05_event_loop",
             "safeguards.py",
             [("STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)",
               "STOP_SIGNALS = (signal.SIGINT,)")],
             fails={"server stops cleanly on SIGTERM": ["was killed by SIGTERM",
                                                        "signal.signal(signal.SIGTERM"]}),
]
README_RULES.append(Mutation(
    "UDP server skips empty datagrams (the TCP habit)", "07_udp", "server.py",
    [("                sock.sendto(data, sender)\n",
      "                if data:\n                    sock.sendto(data, sender)\n")],
    fails={"server survives an empty datagram and garbage": [
        "an empty datagram and two odd ones",
        "reply number 3 (it had sent back [b'\\xff\\xfe not text', b'no-id-here'])",
        "b'' from recvfrom() is an empty datagram"]}))
# A public server's shape: correct, but with none of the README's safeguards.
README_RULES.append(Mutation(
    "a minimal selectors server: no idle timeout, line limit, client cap or SIGTERM",
    "05_event_loop", "server.py", functions={"main": FUNCTIONS_AND_DICTS_05},
    fails={"server drops a silent client": ["waiting in select()", "once a second"],
           "server refuses a line over 1 MiB with an error": ["waiting in select()"],
           "server turns away the client over max clients": ["a third client"],
           "server stops cleanly on SIGTERM": ["was killed by SIGTERM"]}))
BUGS += README_RULES


RUNAWAYS = [
    Mutation("flood of output", "01_hello", "server.py",
        [("    message = conn.recv(BUFFER_SIZE)\n",
          "    while True:\n        print('waiting for the message...')\n")],
        fails={
            "server echoes one message then exits": [
                "prints 'waiting for the message...' over and over", "endless loop",
                "print a line per event", "server.py:"],
            "server closes both sockets": BLOCKED,
            "your client talks to your server": [
                "your server is busy at line", "your client is right to wait"],
            "the lesson's C client talks to your server": [
                "prints 'waiting for the message...' over and over"]}),
    # Varied lines: no print loop to name, only too much output (the cap guards the disk).
    Mutation("flood of varied output", "01_hello", "server.py",
        [("    message = conn.recv(BUFFER_SIZE)\n",
          "    while True:\n        print(os.urandom(4096).hex())\n"),
         ("import socket\n", "import os\nimport socket\n")],
        fails={
            "server echoes one message then exits": ["printed more than 64 MiB",
                                                     "printing is fine, but not this much",
                                                     "print(os.urandom(4096).hex())"],
            "server closes both sockets": ["printed more than 64 MiB"],
            "your client talks to your server": ["printed more than 64 MiB"],
            "the lesson's C client talks to your server": ["printed more than 64 MiB"]}),
    Mutation("endless loop", "01_hello", "server.py",
        [("    message = conn.recv(BUFFER_SIZE)\n", "    while True:\n        pass\n")],
        fails={
            "server echoes one message then exits": ["busy at line", "server.py:"],
            "server closes both sockets": BLOCKED,
            # Fresh programs, their own words: the client is not to blame.
            "your client talks to your server": [
                "your client is waiting in recv(), and your server is busy at line",
                "your client is right to wait"],
            "the lesson's C client talks to your server": ["got no reply", "busy at line"]}),
    Mutation("a forked child that outlives the server", "03_messages", "server.py",
        [("        listener.listen()\n",
          "        listener.listen()\n        import os, time\n"
          "        if os.fork() == 0:\n            time.sleep(600)\n")],
        fails={}),
    Mutation("a memory bomb", "01_hello", "server.py",
             [("    message = conn.recv(BUFFER_SIZE)\n",
               "    hoard = bytearray(8 * 2**30)\n"
               "    message = conn.recv(BUFFER_SIZE)\n")],
             fails={"server echoes one message then exits": ["crashed with MemoryError"],
                    "server closes both sockets": ["crashed with MemoryError"],
                    "your client talks to your server": ["crashed with MemoryError"],
                    "the lesson's C client talks to your server": ["crashed with MemoryError"]}),
    Mutation("a daemon that leaves the process group (double fork and setsid)",
             "03_messages", "server.py",
             [("        listener.listen()\n",
               "        listener.listen()\n        import os, time\n"
               "        if os.fork() == 0:\n            os.setsid()\n"
               "            if os.fork() == 0:\n                time.sleep(600)\n"
               "            os._exit(0)\n")],
             fails={}),
]
BUGS += RUNAWAYS


# Graded in tests/test_every_system.py instead, on every system.
EVERYWHERE = ["deadlock: client waits for a reply without sending",
              "missing close on server: accepted socket",
              "crash on connection reset"]
HERE = [bug for bug in BUGS if bug.name not in EVERYWHERE]


@pytest.mark.parametrize("bug", HERE, ids=[bug.name for bug in HERE])
def test_bug_is_caught_with_the_right_words(bug: Mutation, tmp_path: Path) -> None:
    submission = bug.apply(tmp_path / "submission")
    graded = grade(submission, bug.step, json_path=tmp_path / "results.json")
    failed = graded.failed()
    assert set(failed) == set(bug.fails), graded.output
    assert graded.exit_code == (1 if bug.fails else 0)
    for check, words in bug.fails.items():
        for word in words:
            assert word in failed[check], f"{check}: {word!r} missing from:\n{failed[check]}"
    assert processes_running_from(submission) == []

