"""The README's quick start, `python3 -m grader.nox -s grade`, with Debian's own python3.

That python3 is "externally managed" (PEP 668): its pip refuses to install
anything, which is why the kit brings grader/nox.py. Each test runs it on a
fresh copy of the kit (the files a clone would have) with nothing but the
system's Python. A sitecustomize.py on PYTHONPATH takes away what a student's
machine may lack (ensurepip, the network) and logs every program launched.

The tests that install nox from PyPI take a while: they are marked quick_start
and run by `nox -s quick_start`; `nox -s tests` runs the quick ones.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import nox as bootstrap
from tests.grading import KIT

SYSTEM_PYTHON = Path("/usr/bin/python3")
RUN_SECONDS = 600  # a bound far above a first run's pip installs

SITECUSTOMIZE = """
import json, os, sys

if os.environ.get("QUICK_START_NO_ENSUREPIP"):
    sys.modules["ensurepip"] = None  # as on Debian and Ubuntu without python3-venv
if os.environ.get("QUICK_START_NO_NETWORK"):
    import errno, socket

    def unreachable(self, address):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    socket.socket.connect = unreachable
if os.environ.get("QUICK_START_LAUNCHES"):
    ARGV = {"subprocess.Popen": 1, "os.exec": 1, "os.posix_spawn": 1, "os.spawn": 2}

    def log(event, args):
        if event in ARGV:
            argv = args[ARGV[event]]
            argv = [os.fsdecode(a) for a in argv] if isinstance(argv, (list, tuple)) else [argv]
            try:
                with open(os.environ["QUICK_START_LAUNCHES"], "a") as stream:
                    stream.write(json.dumps(argv) + "\\n")
            except OSError:
                pass  # a sandboxed program cannot write the log: it launches no pip either

    sys.addaudithook(log)
"""


@dataclass(frozen=True)
class Run:
    kit: Path
    exit_code: int
    stdout: str
    stderr: str
    launches: list[list[str]]  # every program launched, by the bootstrap and all below it

    def launched(self, *words: str) -> list[list[str]]:
        return [argv for argv in self.launches if all(word in " ".join(argv) for word in words)]

    def pip_calls(self) -> list[list[str]]:
        return [argv for argv in self.launches
                if any(Path(arg).name.startswith("pip") for arg in argv)]


def need(found: bool, reason: str) -> None:
    """Skip when this machine lacks what the test needs, but never under CI=true."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: under CI=true this test must run, not skip")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def debian_python() -> Path:
    need(SYSTEM_PYTHON.exists(), f"no {SYSTEM_PYTHON} here")
    probe = ("import importlib.util, json, pathlib, sys, sysconfig; print(json.dumps(["
             "sys.version_info >= (3, 11), "
             "(pathlib.Path(sysconfig.get_path('stdlib')) / 'EXTERNALLY-MANAGED').exists(), "
             "importlib.util.find_spec('nox') is not None]))")
    new_enough, externally_managed, has_nox = json.loads(subprocess.run(
        [str(SYSTEM_PYTHON), "-c", probe], capture_output=True, text=True, check=True).stdout)
    need(new_enough, f"{SYSTEM_PYTHON} is older than 3.11")
    need(externally_managed, f"{SYSTEM_PYTHON} is not externally managed (PEP 668)")
    need(not has_nox, f"{SYSTEM_PYTHON} has nox: the bootstrap would only run it")
    return SYSTEM_PYTHON


@pytest.fixture(scope="module")
def pypi() -> None:
    try:
        with urllib.request.urlopen(bootstrap.PIP_RELEASE, timeout=20):
            pass
    except OSError as error:
        need(False, f"PyPI is out of reach ({error})")


def fresh_kit(root: Path) -> Path:
    """The kit's files as a clone would have them once today's work is committed: `root`/kit."""
    need(shutil.which("git") is not None, "git is not installed: it lists the kit's files")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=KIT, capture_output=True, check=True).stdout
    kit = root / "kit"
    for name in listed.decode().split("\0"):
        source = KIT / name
        if name and source.is_file():  # not a file deleted since the last commit
            (kit / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, kit / name)
    return kit


def run(python: Path, kit: Path, *args: str, no_ensurepip: bool = False,
        no_network: bool = False) -> Run:
    """`python -m grader.nox ARGS` in `kit` as a student runs it: no venv, no PYTHONPATH of
    theirs (only the spy's sitecustomize.py)."""
    spy = kit.parent / "spy"
    spy.mkdir(exist_ok=True)
    (spy / "sitecustomize.py").write_text(SITECUSTOMIZE)
    launches = kit.parent / "launches.jsonl"
    launches.unlink(missing_ok=True)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PYTHON", "NOX_", "VIRTUAL_ENV"))}
    if "VIRTUAL_ENV" in os.environ:  # the kit's tests run in nox's venv: not on a student's PATH
        venv_bin = str(Path(os.environ["VIRTUAL_ENV"]) / "bin")
        env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep)
                                      if part != venv_bin)
    env |= {"PYTHONPATH": str(spy), "QUICK_START_LAUNCHES": str(launches)}
    if no_ensurepip:
        env["QUICK_START_NO_ENSUREPIP"] = "1"
    if no_network:
        env["QUICK_START_NO_NETWORK"] = "1"
    completed = subprocess.run([str(python), "-m", "grader.nox", *args], cwd=kit, env=env,
                               capture_output=True, text=True, timeout=RUN_SECONDS)
    logged = launches.read_text().splitlines() if launches.exists() else []
    return Run(kit, completed.returncode, completed.stdout, completed.stderr,
               [json.loads(line) for line in logged])


def test_without_ensurepip_or_network_it_says_what_to_install(
        debian_python: Path, tmp_path: Path) -> None:
    kit = fresh_kit(tmp_path)
    offline = run(debian_python, kit, "-s", "grade", no_ensurepip=True, no_network=True)
    assert offline.exit_code != 0
    assert "Traceback" not in offline.stdout + offline.stderr
    assert "could not set up nox in .nox/_tools: " in offline.stderr
    assert "Network is unreachable" in offline.stderr
    assert "sudo apt install python3-venv" in offline.stderr
    assert "pipx run nox -s grade" in offline.stderr
    assert not (kit / ".nox" / "_tools" / "kit-ready").exists()


def test_a_pip_wheel_that_does_not_match_its_sha256_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = b"not the wheel PyPI hashed"
    release = {"urls": [{"filename": "pip-99.0-py3-none-any.whl", "yanked": False,
                         "url": "../../packages/pip-99.0-py3-none-any.whl",
                         "digests": {"sha256": hashlib.sha256(b"the real wheel").hexdigest()}}]}
    asked: list[str] = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        asked.append(url)
        return io.BytesIO(json.dumps(release).encode() if url == bootstrap.PIP_RELEASE else wheel)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(bootstrap.SetupFailed, match="does not match the sha256"):
        bootstrap.download_pip(tmp_path)
    assert asked == [bootstrap.PIP_RELEASE, "https://pypi.org/packages/pip-99.0-py3-none-any.whl"]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def first_run(debian_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    kit = fresh_kit(tmp_path_factory.mktemp("quick-start"))
    return run(debian_python, kit, "-s", "grade", "--", "01_hello")


@pytest.mark.quick_start
@pytest.mark.timeout(2 * RUN_SECONDS)  # pip's installs, not the kit's usual 120 s
def test_a_fresh_clone_gets_to_a_scoreboard_with_debians_python3(
        debian_python: Path, first_run: Run) -> None:
    assert "first run: installing nox into .nox/_tools" in first_run.stderr
    assert first_run.launched("-m venv") and not first_run.launched("--without-pip")
    assert "Scoreboard for exercises/" in first_run.stdout, first_run.stderr
    assert "not started yet" in first_run.stdout
    assert first_run.exit_code == 1  # the stubs fail, and nox's exit status comes through


@pytest.mark.quick_start
@pytest.mark.timeout(2 * RUN_SECONDS)  # pip's installs, not the kit's usual 120 s
def test_a_second_run_calls_no_pip(first_run: Run, debian_python: Path) -> None:
    second = run(debian_python, first_run.kit, "-s", "grade", "--", "01_hello",
                 "--submission", "solutions")
    assert "first run" not in second.stderr
    assert second.pip_calls() == []
    total = re.search(r"^  total +(\d+)/(\d+)", second.stdout, re.MULTILINE)
    assert total and total[1] == total[2], second.stdout + second.stderr  # solutions: full marks
    assert second.exit_code == 0


@pytest.mark.quick_start
@pytest.mark.timeout(2 * RUN_SECONDS)  # pip's installs, not the kit's usual 120 s
def test_without_ensurepip_pip_comes_from_pypi_and_a_half_made_venv_is_remade(
        debian_python: Path, pypi: None, tmp_path: Path) -> None:
    kit = fresh_kit(tmp_path)
    offline = run(debian_python, kit, "-l", no_ensurepip=True, no_network=True)
    assert offline.exit_code != 0 and (kit / ".nox" / "_tools" / "pyvenv.cfg").exists()

    online = run(debian_python, kit, "-l", no_ensurepip=True)
    assert online.exit_code == 0, online.stderr
    assert "Sessions defined in" in online.stdout
    assert online.launched("-m venv --without-pip")
    [pip] = online.pip_calls()
    assert pip[1].endswith("-py3-none-any.whl/pip") and pip[2:4] == ["install", "--quiet"]
    assert not [argv for argv in online.launches if "ensurepip" in argv]  # as in -m ensurepip
    assert (kit / ".nox" / "_tools" / "kit-ready").read_text() == bootstrap.NOX

