"""Writing output files: atomically (never a partial file) and with the user's usual permissions.

Every file symsteady writes (generated code, LaTeX, PDFs, CSV tables, figures, compiled
libraries) goes through :func:`atomic_path`: the content is written to a temporary file in the
target folder and renamed over the target once complete. The temporary file gets the mode a
plain ``open(path, "w")`` would give (``0o666`` minus the umask), so collaborators can read
the result.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_file_target(path: str | Path) -> Path:
    """A path a file may be written to: not an existing folder, its parent a folder (created if
    missing) — otherwise an :class:`~symsteady.errors.OutputError` naming the problem."""
    if Path(path).is_dir() or str(path).endswith(os.sep):
        raise OutputError(f"{path} is a folder; give a file name")
    path = Path(path)
    check_folder_target(path.parent)
    return path


def check_folder_target(path: str | Path) -> Path:
    """A folder outputs may be written into (created if missing), or an OutputError."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            raise OutputError(f"cannot write into {path}: {p} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {path}: {exc.strerror}") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path`` (mode
    ``0o666 & ~umask``), on any error it is removed and ``path`` is left as it was."""
    path = check_file_target(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
    return Path(path)
