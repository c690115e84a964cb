"""Who is using a database file: a shared advisory lock beside it while a terminal runs on it, an exclusive one
while it is restored. The kernel drops the lock when the process dies (even by SIGKILL)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

__all__ = ["RunLock", "run_lock_path", "in_use"]


def run_lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".run.lock")


class RunLock:
    """``acquire(shared=True)`` for a terminal; ``acquire(shared=False)`` for a restore (fails while any runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    @classmethod
    def for_database(cls, db_path: Path) -> RunLock:
        return cls(run_lock_path(db_path))

    def acquire(self, *, shared: bool) -> bool:
        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            import fcntl

            fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def in_use(db_path: Path) -> str:
    """'' when no terminal or sync worker holds ``db_path``; else who does."""
    import fcntl

    for path, who in ((run_lock_path(db_path), "a terminal"),
                      (db_path.with_name(db_path.name + ".sync.lock"), "a sync worker")):
        if not path.exists():
            continue
        with open(path, "rb") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return who
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return ""
