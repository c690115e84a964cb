"""Data at rest is the owner's only: data folder 0700, every file the terminal writes 0600.

Two layers, so that the result does not depend on how the process was started:

* :func:`owner_only_umask` (the entry point sets it): files created by anything in the process —
  SQLite's WAL and SHM, log rotation, exports, backups — are created owner-only whatever the umask of
  the shell or the service manager.
* :func:`secure_data_dir` (run at every start): an existing install (made by an earlier version under
  umask 022) is fixed; every change gets a line in the log.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["OWNER_ONLY_UMASK", "owner_only_umask", "secure_data_dir"]

logger = logging.getLogger(__name__)

OWNER_ONLY_UMASK = 0o077


def owner_only_umask() -> int:
    """Set the process umask to 077; returns the previous one."""
    return os.umask(OWNER_ONLY_UMASK)


def _fix(path: Path, want: int, fixes: list[str]) -> None:
    try:
        st = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
        return  # not ours to change (a link, or a file another account owns)
    mode = stat.S_IMODE(st.st_mode)
    new = mode & ~0o077 & 0o7777
    new = (new | want) if stat.S_ISDIR(st.st_mode) else new
    if new == mode:
        return
    try:
        os.chmod(path, new)
    except OSError as exc:
        logger.warning("cannot restrict %s to the owner: %s", path, exc.strerror)
        return
    fixes.append(f"{path}: {mode:o} -> {new:o}")


TERMINAL_FOLDERS = ("logs", "exports", "backups", "reports", "receipts")
"""Sub-folders of the data folder that hold what the terminal writes (made owner-only with all they hold)."""


def secure_data_dir(data_dir: Path) -> list[str]:
    """Remove group/other access from the data folder, the files directly in it (the database, its WAL/SHM,
    the anchor) and the terminal's own sub-folders; returns (and logs) the changes. Folders it does not know
    (a sandbox, keys someone put there) are left as they are."""
    fixes: list[str] = []
    if not data_dir.is_dir():
        return fixes
    _fix(data_dir, 0o700, fixes)
    for entry in sorted(data_dir.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_file():
            _fix(entry, 0, fixes)
        elif entry.is_dir() and entry.name in TERMINAL_FOLDERS:
            _fix(entry, 0o700, fixes)
            for root, dirs, files in os.walk(entry):
                base = Path(root)
                for name in dirs:
                    _fix(base / name, 0o700, fixes)
                for name in files:
                    _fix(base / name, 0, fixes)
    for line in fixes:
        logger.warning("data folder made owner-only: %s", line)
    return fixes
