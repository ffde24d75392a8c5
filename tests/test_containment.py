"""Ending a program and all it started, as each system lets the grader do it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import containment
from tests import kit_traits
from tests.grading import processes_naming


def wait_until_zombie(pid: int) -> None:
    deadline = time.monotonic() + 10
    while not kit_traits._is_zombie(pid):
        assert time.monotonic() < deadline, "the program did not end"
        time.sleep(0.01)


def test_a_group_of_only_zombies_is_ended_without_an_error_where_killpg_says_eperm(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "killpg", os.killpg)  # restored after the trait wraps it
    kit_traits._killpg_eperm_on_zombies()
    process = subprocess.Popen([sys.executable, "-c", "pass"], **containment.start_options())
    wait_until_zombie(process.pid)
    with pytest.raises(PermissionError):
        os.killpg(process.pid, 0)  # the trait is on: macOS's answer
    containment.end_tree(process)
    assert process.returncode == 0


def test_without_proc_the_forked_processes_reported_are_ended(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    marker = f"sockets-kit-orphan-{os.getpid()}"
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker],
                              start_new_session=True)
    try:
        monkeypatch.setattr(containment, "children_of", lambda pid: None)  # no /proc
        containment.end_adopted_orphans(forked=[orphan.pid])
        assert orphan.wait(10) is not None
        assert processes_naming(marker) == {}
    finally:
        orphan.kill()
        orphan.wait()


def test_without_proc_a_process_group_made_by_a_program_is_ended_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A daemon's grandchild is never reported forked in time, but it is in the
    # group its parent made, and that group was reported before it was made.
    marker = f"sockets-kit-group-{os.getpid()}"
    leader = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen([sys.executable, "
         "'-c', 'import time; time.sleep(600)', sys.argv[1]]); time.sleep(600)", marker],
        start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(processes_naming(marker)) < 2:
            assert time.monotonic() < deadline, "the group's second process did not start"
            time.sleep(0.01)
        monkeypatch.setattr(containment, "children_of", lambda pid: None)  # no /proc
        containment.end_adopted_orphans(groups=[leader.pid])
        assert leader.wait(10) is not None
        deadline = time.monotonic() + 10
        while processes_naming(marker) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert processes_naming(marker) == {}
    finally:
        leader.kill()
        leader.wait()


def test_each_system_says_how_it_ends_what_is_left() -> None:
    ways = containment.walls()
    assert ways[0] == "process group"
    assert ways[1] in ("orphans adopted", "forked processes tracked")
