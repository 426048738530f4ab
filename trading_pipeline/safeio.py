"""Opening input files without trusting them: only regular files, never blocking, links kept in their folder.

Anything can appear in a watched folder: a FIFO (``open`` would block until a writer comes, forever), a
device, a socket, a symbolic link to ``/etc/shadow``. Every process checks a path with ``inspect_file``
(``lstat`` first, nothing is opened) before it reads a byte, and opens with ``open_regular``
(``O_NONBLOCK``, then ``fstat`` on the open descriptor), so a file swapped for a FIFO between the
check and the open is refused instead of hanging the process.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from trading_pipeline.statuses import FileStatus

__all__ = ["NotRegularFileError", "Refusal", "inspect_file", "open_regular", "refusal_for_error"]

_KINDS = (
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISDIR, "folder"),
)


@dataclass(frozen=True)
class Refusal:
    """Why a file is not read, and the final status that records it."""

    status: FileStatus
    check: str
    reason: str


class NotRegularFileError(OSError):
    """``open_regular`` found something other than a regular file behind the path."""

    def __init__(self, path: Path | str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"a {kind}, not a regular file", str(path))
        self.kind = kind


def _kind(mode: int) -> str | None:
    return next((name for test, name in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "special file")


def not_regular(kind: str) -> Refusal:
    return Refusal(
        FileStatus.IGNORED, "file_type", f"a {kind}, not a regular file: only regular files are ever opened"
    )


def vanished(detail: str = "deleted or moved before it was read") -> Refusal:
    return Refusal(
        FileStatus.VANISHED, "vanished", f"the file vanished ({detail}); drop it again to ingest it"
    )


def unreadable(strerror: str | None) -> Refusal:
    return Refusal(
        FileStatus.UNREADABLE,
        "readable",
        f"the file cannot be read ({strerror or 'permission denied'}); give the pipeline's user read"
        " access and it is picked up at the next reconcile",
    )


def _is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def inspect_file(path: Path | str, root: Path | str | None = None) -> Refusal | None:
    """Why ``path`` must not be opened, or None. Nothing is opened: ``lstat``, then ``stat`` of a link.

    ``root`` is the folder the file was found in: a symbolic link whose target lies outside it is
    refused (a link inside the folder is followed). Without a root (a file named on the command line)
    links are followed, and the target must still be a regular file.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return vanished()
    except OSError as exc:
        return unreadable(exc.strerror)
    if stat.S_ISLNK(st.st_mode):
        if root is not None:
            target, base = Path(os.path.realpath(path)), Path(os.path.realpath(root))
            if not _is_under(target, base):
                return Refusal(
                    FileStatus.IGNORED,
                    "symlink",
                    f"a symbolic link leading out of its folder (to {target}); links out of a source"
                    " folder are never followed. Copy the file in instead",
                )
        try:
            st = path.stat()
        except FileNotFoundError:
            return Refusal(
                FileStatus.IGNORED, "symlink", "a broken symbolic link (its target does not exist)"
            )
        except OSError as exc:
            return unreadable(exc.strerror)
    kind = _kind(st.st_mode)
    return not_regular(kind) if kind is not None else None


def refusal_for_error(exc: OSError) -> Refusal | None:
    """The refusal an error met while opening or reading an input file stands for (None: infrastructure)."""
    if isinstance(exc, NotRegularFileError):
        return not_regular(exc.kind)
    if isinstance(exc, FileNotFoundError):
        return vanished()
    if isinstance(exc, PermissionError):
        return unreadable(exc.strerror)
    return None


def open_regular(path: Path | str) -> io.BufferedReader:
    """Open a regular file for reading without ever blocking; raises ``NotRegularFileError`` otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFileError(path, kind)
        os.set_blocking(fd, True)
        return io.BufferedReader(io.FileIO(fd, "rb"))
    except BaseException:
        os.close(fd)
        raise
