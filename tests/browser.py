"""Headless Chromium for tests that look at a page as a person would: not a test file itself.

`headless_chromium(executable, workdir)` starts Debian's Chromium with a fresh profile and yields
a `DevToolsPipe`; `BrowserPage(pipe, url)` opens a tab on a URL and waits for it to load. The
tab then answers JavaScript (`evaluate`) and reports what the page did: every event kept
(`events`), console errors and uncaught exceptions (`console_errors`), every request
(`requests`). A dialog the page opens is closed at once, so it cannot hang the test, and stays
among the events for the test to fail on.

It speaks the Chrome DevTools Protocol over a pipe (--remote-debugging-pipe: JSON messages ending
in a NUL byte, commands on the browser's fd 3, replies on its fd 4), so it needs nothing beyond
the standard library. Every wait is bounded (REPLY_TIMEOUT), and when the block ends every
process Chromium started is killed, also those that left its process group, so none outlives
the test (`processes_using(profile)` finds any that would). Whether a missing Chromium skips or
fails a test is the test's choice: `find_chromium` only looks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.grading import processes_naming

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium reaches for the network, which is closed here.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900", "--remote-debugging-pipe",
]
REPLY_TIMEOUT = 20.0  # seconds for one DevTools reply, browser start-up included
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class DevToolsPipe:
    """The Chrome DevTools Protocol over a pipe: send commands, keep every event that comes."""

    def __init__(self, to_browser: int, from_browser: int, log: Path) -> None:
        self.to_browser, self.from_browser, self.log = to_browser, from_browser, log
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._last_id = 0

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> int:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self._last_id

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        wanted = self.send(method, params, session)
        reply = self.wait_for(lambda message: message.get("id") == wanted, f"reply to {method}")
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            message = self._next_message(deadline, what)
            if "method" in message:
                self._keep_event(message)
            if wanted(message):
                return message

    def _keep_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        # An open alert() would block the page: note it (the test fails on it), then close it.
        if event["method"] == "Page.javascriptDialogOpening":
            self.send("Page.handleJavaScriptDialog", {"accept": True}, event.get("sessionId"))

    def _next_message(self, deadline: float, what: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = select.select([self.from_browser], [], [], max(remaining, 0))[0]
            if not ready:
                raise TimeoutError(f"Chromium sent no {what} within {REPLY_TIMEOUT} s"
                                   f"{self._log_tail()}")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise ConnectionError(f"Chromium closed its DevTools pipe before the {what}"
                                      f"{self._log_tail()}")
            self._buffer += chunk
            assert len(self._buffer) < MAX_MESSAGE_BYTES, "a DevTools message past 32 MB"
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def _log_tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-5:]
        return "; the end of its log:\n" + "\n".join(lines) if lines else ""


class BrowserPage:
    """One tab, opened on a URL and loaded; what it logged, asked and fetched is kept."""

    def __init__(self, browser: DevToolsPipe, url: str) -> None:
        self.browser, self.url = browser, url
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = str(browser.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=self.session)
        browser.call("Page.navigate", {"url": url}, session=self.session)
        browser.wait_for(lambda m: m.get("method") == "Page.loadEventFired"
                         and m.get("sessionId") == self.session, "page load")

    def evaluate(self, expression: str) -> Any:
        reply = self.browser.call("Runtime.evaluate", {"expression": expression,
                                                       "returnByValue": True}, self.session)
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events
                if e["method"] == method and e.get("sessionId") == self.session]

    def console_errors(self) -> list[str]:
        logged = [" ".join(str(arg.get("value", arg.get("description"))) for arg in e["args"])
                  for e in self.events("Runtime.consoleAPICalled")
                  if e["type"] in ("error", "assert")]
        thrown = [e["exceptionDetails"]["text"] for e in self.events("Runtime.exceptionThrown")]
        entries = [e["entry"]["text"] for e in self.events("Log.entryAdded")
                   if e["entry"]["level"] == "error"]
        return logged + thrown + entries

    def requests(self) -> list[str]:
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]


def find_chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


def high_pipe() -> tuple[int, int]:
    """A pipe whose ends sit at fd 10 or above, so moving them onto fds 3 and 4 clobbers none."""
    ends = []
    for end in os.pipe():
        ends.append(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(end)
    return ends[0], ends[1]


@contextlib.contextmanager
def headless_chromium(executable: str, workdir: Path) -> Iterator[DevToolsPipe]:
    """Chromium with a fresh profile, ended with every process it started when the block ends."""
    profile = workdir / "chromium-profile"
    profile.mkdir()
    commands_read, commands_write = high_pipe()
    replies_read, replies_write = high_pipe()

    def wire_devtools_pipe() -> None:  # in the child: Chromium reads fd 3 and writes fd 4
        os.dup2(commands_read, 3)
        os.dup2(replies_write, 4)

    log_path = workdir / "chromium.log"
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                close_fds=False, preexec_fn=wire_devtools_pipe)  # our fds are close-on-exec
    except OSError:
        for end in (commands_write, replies_read):
            os.close(end)
        raise
    finally:
        os.close(commands_read)
        os.close(replies_write)
    try:
        yield DevToolsPipe(commands_write, replies_read, log_path)
    finally:
        end_chromium(process, commands_write, profile)
        os.close(replies_read)


def end_chromium(process: subprocess.Popen[bytes], commands: int, profile: Path) -> None:
    try:
        os.write(commands, b'{"id": 999999, "method": "Browser.close"}\0')
    except OSError:
        pass  # it has gone already
    os.close(commands)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    # Its zygote and renderers share its process group; its crash handlers made their own
    # sessions, but name our profile on their command line.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while (left := processes_using(profile)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    # Its orphaned children are reaped by init, not by us: give that a moment, so that no
    # chromium shows in `pgrep` once the test is over.
    while group_exists(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def processes_using(profile: Path) -> list[int]:
    """Live processes (zombies aside) whose command line names this profile."""
    return list(processes_naming(str(profile)))
