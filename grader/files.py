"""Files the grader writes so that a kill at any moment leaves each one whole,
and what a tree of files is (a digest), for knowing when it changed."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename:
    a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide grades from the instructor's group
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def tree_digest(paths: list[Path], ignored: set[str]) -> str:
    """SHA-256 over files' relative names and contents: what a submission is."""
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(
            path for path in root.rglob("*")
            if path.is_file() and not path.is_symlink()
            and not any(part in ignored for part in path.relative_to(root).parts))
        for path in files:
            name = path.name if path == root else str(path.relative_to(root))
            digest.update(name.encode() + b"\0")
            with open(path, "rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()
