"""Running the grader with another system's traits, reproduced on Linux.

`trait_python()` makes, once per interpreter, a virtual environment without pip
that sees the test venv's packages (a `.pth` line) and imports `kit_traits` at
every start (a second `.pth`): the grader started with its python, and every
student program the grader starts with `sys.executable`, then carry the traits
that `KIT_TRAITS` names. `no_proc_command()` wraps a command so that it runs in
a mount namespace whose `/proc` is empty, as on macOS.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = Path(os.environ.get("TMPDIR", "/tmp")) / f"sockets-kit-trait-venvs-{os.getuid()}"


def _site_packages_of(python: Path) -> Path:
    found = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                               "['purelib'])"],
                           capture_output=True, text=True, check=True, timeout=60)
    return Path(found.stdout.strip())


@cache
def trait_python(base: str = sys.executable, packages_from: str = sys.executable) -> Path:
    """A python that imports kit_traits at start and sees `packages_from`'s packages."""
    version = subprocess.run([base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True, timeout=60)
    key = hashlib.sha256(f"{base}\0{packages_from}".encode()).hexdigest()[:12]
    folder = VENVS / f"python{version.stdout.strip()}-{key}"
    python = folder / "bin" / "python"
    if not python.exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True,
                       timeout=120)
    packages = _site_packages_of(python)
    if packages_from == sys.executable:
        sources = site.getsitepackages() + [sysconfig.get_paths()["purelib"]]
    else:
        sources = [str(_site_packages_of(Path(packages_from)))]
    (packages / "00-kit-test-packages.pth").write_text("\n".join(dict.fromkeys(sources)) + "\n")
    shutil.copy(HERE / "kit_traits.py", packages / "kit_traits.py")
    (packages / "zz-kit-traits.pth").write_text("import kit_traits\n")
    return python


def trait_environment(*traits: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment["KIT_TRAITS"] = ",".join(traits)
    return environment


def can_hide_proc() -> str | None:
    """Why /proc cannot be hidden here, or None if it can."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(no_proc_command(["sh", "-c", "test ! -e /proc/self"]),
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"cannot make a mount namespace: {probe.stderr.strip()[:200]}"
    return None


def no_proc_command(command: list[str]) -> list[str]:
    """`command`, run where /proc is an empty folder (a private mount namespace)."""
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            'mount -t tmpfs none /proc && exec "$@"', "sh", *command]


def python_versions() -> dict[str, Path]:
    """Every CPython from 3.11 up that this machine has: '3.12' -> its python."""
    found: dict[str, Path] = {}
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    for root in roots:
        for candidate in sorted(root.glob("3.*/bin/python3")):
            version = ".".join(candidate.parent.parent.name.split(".")[:2])
            minor = int(version.split(".")[1])
            if minor >= 11 and version not in found:
                found[version] = candidate
    current = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found.setdefault(current, Path(sys.executable))
    return dict(sorted(found.items(), key=lambda item: int(item[0].split(".")[1])))
