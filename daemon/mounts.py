"""Which watched folders live on network or FUSE file systems, where inotify sees nothing.

inotify only reports changes made through the local kernel: a file written on the NFS/SMB server or by
another client never produces an event (inotify(7); watchdog#409, #504). Those folders get watchdog's
``PollingObserver``. The mount table is read from ``/proc/self/mountinfo``; the mount point with the
longest prefix of a folder's real path decides its file system type.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mount", "filesystem_type", "is_network_fs", "parse_mountinfo"]

MOUNTINFO = Path("/proc/self/mountinfo")
NETWORK_FS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "9p", "ceph", "glusterfs", "lustre", "gpfs",
        "afs", "ncpfs", "davfs", "vboxsf", "virtiofs", "beegfs", "ocfs2", "gfs2",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fstype: str


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and len(field[i + 1 : i + 4]) == 3:
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mount point and type of each line: ``... <mount point> ... - <fstype> <source> <options>``."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        sep = fields.index("-")
        if sep + 1 >= len(fields):
            continue
        mounts.append(Mount(_unescape(fields[4]), fields[sep + 1]))
    return mounts


def filesystem_type(path: Path, mounts: list[Mount] | None = None) -> str:
    """Type of the file system holding ``path`` (``"unknown"`` when the table cannot be read)."""
    if mounts is None:
        try:
            mounts = parse_mountinfo(MOUNTINFO.read_text())
        except OSError:
            return "unknown"
    real = os.path.realpath(path)
    best, best_len = "unknown", -1
    for mount in mounts:
        point = mount.mount_point.rstrip("/") or "/"
        inside = real == point or real.startswith(point + "/") or point == "/"
        if inside and len(point) > best_len:
            best, best_len = mount.fstype, len(point)
    return best


def is_network_fs(fstype: str) -> bool:
    """NFS/SMB/CIFS/9p/..., and FUSE mounts (sshfs, rclone, s3fs, gcsfuse report ``fuse.*``).

    ``fuseblk`` (ntfs-3g on a local disk) stays on inotify: nothing can change it behind the kernel's back.
    """
    base = fstype.split(".", 1)[0]
    return fstype in NETWORK_FS or base in NETWORK_FS or base == "fuse"
