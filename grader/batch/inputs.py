"""What an instructor hands the batch, turned into one submission per student.

An argument is a submission (a folder holding the kit's layout, or a `.zip`)
or a folder of them (a class). A student's name is their folder's or
archive's name. Archives are unpacked by hand, member by member, because an
archive is input from a stranger: no member may land outside its folder, no
link is followed, and size and count are capped (a zip bomb stops at the cap).
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.layout import find_step_root, known_steps

MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # a whole course's code is well under 1 MB
MAX_MEMBERS = 5_000
MAX_FILE_BYTES = 16 * 1024 * 1024
WRAPPER_NAMES = {"exercises", "submission"}
IGNORED_NAMES = {"__pycache__", "__MACOSX", ".git", ".DS_Store"}


class InvalidSubmission(Exception):
    """Input that cannot be graded; the message is the grades.csv detail line."""


@dataclass(frozen=True)
class Submission:
    name: str  # the student: folder or archive name, made safe for a file name
    source: Path  # a folder or a .zip


def discover(arguments: list[Path]) -> list[Submission]:
    """Every submission named by the arguments, each name unique, in a stable order."""
    found: list[Submission] = []
    for argument in arguments:
        if _is_one_submission(argument):
            found.append(Submission(safe_name(argument), argument))
        else:
            found += [Submission(safe_name(child), child) for child in _entries(argument)]
    return _unique_names(found)


def _is_one_submission(path: Path) -> bool:
    if not path.is_dir():
        return True  # a zip, or a file that will be reported as not an archive
    if any((path / step).is_dir() for step in known_steps()):
        return True
    # A lone `exercises/` (or the student's folder inside their own, as some
    # platforms export it) wraps one submission; anything else is a class,
    # even a class of one.
    entries = _entries(path)
    return len(entries) == 1 and entries[0].is_dir() and \
        entries[0].name.lower() in WRAPPER_NAMES | {path.name.lower()} and \
        find_step_root(entries[0], 1) is not None


def _entries(folder: Path) -> list[Path]:
    return sorted(child for child in folder.iterdir()
                  if not child.name.startswith(".") and child.name not in IGNORED_NAMES)


def safe_name(path: Path) -> str:
    name = path.name.removesuffix(".zip") if path.suffix.lower() == ".zip" else path.name
    name = re.sub(r"[^A-Za-z0-9._@+-]+", "_", name).strip("._") or "unnamed"
    return name[:100]


def _unique_names(submissions: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    unique = []
    for submission in submissions:
        count = seen.get(submission.name, 0) + 1
        seen[submission.name] = count
        name = submission.name if count == 1 else f"{submission.name}-{count}"
        unique.append(Submission(name, submission.source))
    return unique


def materialise(submission: Submission, destination: Path) -> Path:
    """Copy or unpack the submission into `destination`; return its step root.

    Raises InvalidSubmission, with a one-line reason, for anything that cannot
    be graded."""
    destination.mkdir(parents=True)
    source = submission.source
    if source.is_dir():
        _copy_folder(source, destination)
    elif zipfile.is_zipfile(source):
        unpack_zip(source, destination)
    elif source.suffix.lower() == ".zip":
        raise InvalidSubmission("the .zip file is damaged or not a zip archive")
    else:
        raise InvalidSubmission(f"not a folder or a .zip archive: {source.name}")
    if not any(destination.rglob("*")):
        raise InvalidSubmission("the submission is empty")
    root = find_step_root(destination)
    if root is None:
        raise InvalidSubmission(
            f"no step folders found (expected folders such as {', '.join(known_steps()[:2])}, "
            "at the top or one or two folders down)")
    return root


def _copy_folder(source: Path, destination: Path) -> None:
    total = 0
    count = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in IGNORED_NAMES for part in relative.parts) or path.is_symlink():
            continue  # a link could point at another student's work
        target = destination / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        count += 1
        total += path.stat().st_size
        _within_caps(count, total)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def unpack_zip(archive: Path, destination: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if not members:
                raise InvalidSubmission("the archive is empty")
            total = 0
            for count, member in enumerate(members, start=1):
                relative = _safe_member_path(member)
                if relative is None:
                    continue
                total += member.file_size
                _within_caps(count, total)
                if member.file_size > MAX_FILE_BYTES:
                    raise InvalidSubmission(
                        f"{member.filename} is {member.file_size // 2**20} MB: too large")
                target = destination / relative
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as stream, open(target, "wb") as out:
                    # Read a bounded amount: the header's size may lie.
                    out.write(stream.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise InvalidSubmission(f"the archive cannot be read: {error}") from None


def _safe_member_path(member: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's path, or None for one to skip; InvalidSubmission for an attack."""
    name = member.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise InvalidSubmission(f"the archive tries to write outside its folder: {member.filename}")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise InvalidSubmission(f"the archive holds a symbolic link: {member.filename}")
    if any(part in IGNORED_NAMES for part in path.parts) or not path.parts:
        return None
    return path


def _within_caps(count: int, total: int) -> None:
    if count > MAX_MEMBERS:
        raise InvalidSubmission(f"more than {MAX_MEMBERS} files: not a course submission")
    if total > MAX_UNPACKED_BYTES:
        raise InvalidSubmission(f"more than {MAX_UNPACKED_BYTES // 2**20} MB unpacked: too large")
