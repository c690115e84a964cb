"""A real PostgreSQL server for tests and benchmarks, started from Debian's binaries in a temp dir.

initdb and pg_ctl refuse to run as root, so as root every server command runs as the ``postgres``
user (``runuser -u postgres --``) in a directory that user owns. The server listens on 127.0.0.1 only,
on its own free port, with its Unix socket in the same temp dir (never /var/run/postgresql). The
settings live in postgresql.auto.conf so a restart without options comes back on the same port.
Nothing here is skipped: any failure raises PgServerError with the reason and the server log tail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PgServer", "PgServerError", "find_bin_dir"]


class PgServerError(RuntimeError):
    """PostgreSQL could not be started or controlled; the message says why."""


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl/postgres (Debian: /usr/lib/postgresql/NN/bin)."""
    env = os.environ.get("POS_PG_BIN")
    if env:
        return Path(env)
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise PgServerError("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH): "
                        "run `make test` (it installs Debian's postgresql) or apt-get install -y postgresql")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One throw-away cluster. ``durable=False`` (the fast suite) turns fsync off."""

    def __init__(self, *, durable: bool = False, max_connections: int = 100) -> None:
        self.bin = find_bin_dir()
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="pos-pg-"))
        self.data = self.base / "data"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.socket_dir = self.base
        self.durable = durable
        self.max_connections = max_connections
        self.log = self.base / "server.log"
        if self.as_root:
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PgServerError("running as root but there is no `postgres` user to run initdb as "
                                    "(install Debian's postgresql package)") from None
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            os.chmod(self.base, 0o700)

    # -- running commands as the server's owner ------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        argv = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else argv

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout,
                              cwd=str(self.base), check=False)
        if proc.returncode != 0:
            raise PgServerError(f"{' '.join(args[:2])} failed ({proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-800:]}\n{self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        try:
            return "server log:\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    # -- lifecycle -------------------------------------------------------------------------------
    def init(self) -> PgServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            f"max_connections = {self.max_connections}",
            "shared_buffers = '64MB'",
            "logging_collector = off",
            "log_min_messages = warning",
        ]
        if not self.durable:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        auto = self.data / "postgresql.auto.conf"
        text = auto.read_text() if auto.exists() else ""
        auto.write_text(text + "\n".join(conf) + "\n")
        # loopback password auth for lane roles; trust for the superuser over the socket only
        (self.data / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            "local all all scram-sha-256\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n")
        return self

    def start(self) -> PgServer:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every backend of this cluster (for SIGSTOP/SIGCONT)."""
        try:
            master = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        out = [master]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    out.append(int(stat.parent.name))
        return out

    def freeze(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        self.thaw()
        with contextlib.suppress(PgServerError, subprocess.TimeoutExpired):
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # -- connecting --------------------------------------------------------------------------------
    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """Superuser over the Unix socket; other users over TCP loopback."""
        if user == "postgres":
            return f"host={self.socket_dir} port={self.port} dbname={dbname} user=postgres"
        return f"host={self.host} port={self.port} dbname={dbname} user={user}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - test-made name
        return self.dsn(name)
