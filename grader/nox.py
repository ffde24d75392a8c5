"""Run the kit's nox with only the Python you have: `python3 -m grader.nox -s grade`.

Every argument goes to nox. A Python that has nox runs its own; any other gets
a venv of the kit's own, .nox/_tools, made on the first run and reused after.
Only the standard library: this runs before anything is installed, and on
Pythons (Debian's, Homebrew's) whose pip refuses to install outside a venv.
"""

import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NoReturn

# Before anything below runs, so that an old Python gets a sentence, not a traceback.
if sys.version_info < (3, 11):  # noqa: UP036 (ruff assumes 3.11: students' Pythons may be older)
    sys.exit("grader.nox: the kit needs Python 3.11 or newer, and " + sys.executable + " is "
             + sys.version.split()[0] + ". Install a newer Python, then run the same command"
             " with it.")

KIT = Path(__file__).resolve().parent.parent
# Inside nox's own folder: already gitignored, and deleting .nox starts everything afresh.
TOOLS = KIT / ".nox" / "_tools"
NOX = "nox>=2024.3.2"  # the first nox with the noxfile's reuse_venv = "yes"
# Written last, holding NOX: a venv without it is half-made (or for an older NOX) and is remade.
READY = TOOLS / "kit-ready"
PIP_RELEASE = "https://pypi.org/pypi/pip/json"


class SetupFailed(Exception):
    """The tool venv could not be made; the message says why, in a few words."""


def main(args: list[str]) -> NoReturn:
    """Run nox with `args`, from this Python or from the kit's tool venv, making it if needed."""
    if has_usable_nox():
        run_nox(sys.executable, args)
    python = TOOLS / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not (python.exists() and read(READY) == NOX):
        try:
            make_tools(python)
        # OSError covers the network's failures too (URLError, TLS, timeouts).
        except (SetupFailed, OSError) as error:
            sys.exit(cannot_set_up(error, args))
        except KeyboardInterrupt:
            sys.exit("\ngrader.nox: interrupted; the next run sets up nox again.")
    run_nox(str(python), args)


def has_usable_nox() -> bool:
    """Whether this Python has nox, recent enough for the kit's noxfile."""
    from importlib import metadata  # here: Python 3.7 lacks it, and must reach the version check

    try:
        version = metadata.version("nox")
    except metadata.PackageNotFoundError:
        return False
    return numbers(version) >= numbers(NOX)


def numbers(version: str) -> list[int]:
    # nox's versions are dates (2024.03.02, 2025.5.1): their numbers compare in order.
    return [int(number) for number in re.findall(r"\d+", version)[:3]]


def read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def make_tools(python: Path) -> None:
    """Make the tool venv with nox in it, from scratch."""
    print(f"grader.nox: first run: installing nox into {TOOLS.relative_to(KIT)} "
          "(once; needs the internet) ...", file=sys.stderr, flush=True)
    if TOOLS.exists():
        shutil.rmtree(TOOLS)
    if has_ensurepip() and quiet([sys.executable, "-m", "venv", str(TOOLS)]) is None:
        install_nox([str(python), "-m", "pip"])
        return
    # No ensurepip (Debian and Ubuntu without python3-venv): a venv without pip,
    # and pip run straight from its wheel, as pip allows.
    if TOOLS.exists():
        shutil.rmtree(TOOLS)
    failure = quiet([sys.executable, "-m", "venv", "--without-pip", str(TOOLS)])
    if failure is not None:
        raise SetupFailed(f"{sys.executable} -m venv failed: {failure}")
    with tempfile.TemporaryDirectory() as folder:
        install_nox([str(python), str(download_pip(Path(folder)) / "pip")])


def has_ensurepip() -> bool:
    try:
        importlib.import_module("ensurepip")
    except ImportError:
        return False
    return True


def quiet(command: list[str]) -> str | None:
    """Run `command` without showing its output: None if it worked, else its last line."""
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode == 0:
        return None
    lines = (completed.stderr + completed.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {completed.returncode}"


def install_nox(pip: list[str]) -> None:
    completed = subprocess.run([*pip, "install", "--quiet", "--disable-pip-version-check", NOX])
    if completed.returncode != 0:
        raise SetupFailed("pip could not install nox (its own message is above)")
    READY.write_text(NOX)


def download_pip(folder: Path) -> Path:
    """Fetch pip's latest wheel from PyPI into `folder`, checked against PyPI's sha256."""
    with urllib.request.urlopen(PIP_RELEASE, timeout=60) as response:
        release = response.read()
    try:
        wheel = next(file for file in json.loads(release)["urls"]
                     if file["filename"].endswith("-py3-none-any.whl") and not file["yanked"])
        name, sha256 = Path(wheel["filename"]).name, wheel["digests"]["sha256"]
        url = urllib.parse.urljoin(PIP_RELEASE, wheel["url"])  # a mirror may answer relative URLs
    except (ValueError, KeyError, TypeError, StopIteration):
        raise SetupFailed(f"{PIP_RELEASE} did not list a pip wheel") from None
    if not url.startswith("https://"):
        raise SetupFailed(f"{PIP_RELEASE} listed pip's wheel at {url}, not over https")
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SetupFailed(f"{name} from PyPI does not match the sha256 PyPI lists for it")
    path = folder / name
    path.write_bytes(data)
    return path


def cannot_set_up(error: Exception, args: list[str]) -> str:
    return "\n".join([
        f"grader.nox: could not set up nox in {TOOLS.relative_to(KIT)}: {error}",
        "Either let Python make venvs with pip, then run the same command again:",
        "    sudo apt install python3-venv        (Debian, Ubuntu)",
        "or install pipx (sudo apt install pipx; macOS: brew install pipx) and run instead:",
        "    " + " ".join(["pipx", "run", "nox", *args]),
    ])


def run_nox(python: str, args: list[str]) -> NoReturn:
    command = [python, "-m", "nox", *args]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "nt":
        os.execv(python, command)  # nox becomes this process: Ctrl-C and exit status are its own
    # Windows has no exec. The console sends Ctrl-C to nox too: wait while nox stops its sessions.
    with subprocess.Popen(command) as child:
        while True:
            try:
                sys.exit(child.wait())
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main(sys.argv[1:])
