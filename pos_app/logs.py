"""Logging set-up: a rotating file in the data directory, stderr for warnings, and redaction of secrets.

Payment codes, member card numbers, request signatures and keys never reach a log line: the
RedactingFilter rewrites every record's final message before any handler writes it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process per log file is assumed there
    fcntl = None  # type: ignore[assignment]

__all__ = ["RedactingFilter", "redact", "setup_logging", "teardown_logging"]

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM blocks (private or public keys)
    (re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S), "[PEM redacted]"),
    # sign=... in URLs and form bodies, "sign":"..." in JSON
    (re.compile(r"(?i)\b(sign=)[^&\s\"']+"), r"\1[redacted]"),
    (re.compile(r'("sign"\s*:\s*")[^"]*(")'), r"\1[redacted]\2"),
    # Alipay payment codes: 16-24 digits starting 25-30; face-pay codes
    (re.compile(r"(?<!\d)(?:2[5-9]|30)\d{10,18}(\d{4})(?!\d)"), r"****\1"),
    (re.compile(r"\bfp[A-Za-z0-9]{29}([A-Za-z0-9]{4})\b"), r"fp****\1"),
    # member card numbers (static demo template 8800 + 12 digits) and other long digit runs
    (re.compile(r"(?<!\d)8800\d{8}(\d{4})(?!\d)"), r"****\1"),
    # long base64 runs (keys, signatures)
    (re.compile(r"[A-Za-z0-9+/]{120,}={0,2}"), "[base64 redacted]"),
]


def redact(text: str) -> str:
    """Mask every secret in ``text`` (keeping the last 4 characters of codes)."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Replaces the record's message with its redacted, fully formatted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        clean = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = clean
        record.args = None
        return True


_factory_installed: list[bool] = []
_saved_level: list[int] = []  # the root level before setup_logging, restored by teardown_logging


def _install_record_factory() -> None:
    """Redact at record creation, so that every handler (ours or not) sees only masked text."""
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        RedactingFilter().filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed.append(True)


def teardown_logging() -> None:
    """Remove and close the handlers setup_logging added (main() calls it on the way out)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pos_app", False):
            root.removeHandler(handler)
            handler.close()
    if _saved_level:
        root.setLevel(_saved_level.pop())


class _OwnerOnlyRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every log file (and each one rotation starts) is 0600 whatever the umask.

    Several processes append to the same ``pos.log`` (the terminal, its sync and report children, a
    ``pos-app`` command run beside it). Each record is written under an exclusive ``flock`` on the log
    folder, and a process first checks that its open file is still ``pos.log``: when another process has
    rotated it, this one reopens the new ``pos.log`` instead of writing on into ``pos.log.1``. So one process
    rotates at a time, the size check sees every process's lines, and no line lands in a file that a later
    rotation overwrites.
    """

    def __init__(self, filename: Path, *, max_bytes: int, backups: int) -> None:
        super().__init__(filename, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._dir_fd: int | None = None
        if fcntl is not None:
            try:
                self._dir_fd = os.open(os.path.dirname(self.baseFilename), os.O_RDONLY)
            except OSError:
                self._dir_fd = None

    def _open(self):  # type: ignore[no-untyped-def]
        stream = super()._open()
        try:
            os.chmod(self.baseFilename, 0o600)
        except OSError:
            pass
        return stream

    def _follow_rotation(self) -> None:
        """Reopen ``pos.log`` if the file this process has open is no longer it (another process rotated)."""
        if self.stream is None:
            return
        try:
            current = os.stat(self.baseFilename)
            mine = os.fstat(self.stream.fileno())
            same = (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino)
        except OSError:
            same = False
        if not same:
            stream, self.stream = self.stream, None
            try:
                stream.close()
            except OSError:
                pass

    def emit(self, record: logging.LogRecord) -> None:
        fd = self._dir_fd
        if fd is None or fcntl is None:
            super().emit(record)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            super().emit(record)
            return
        try:
            self._follow_rotation()
            super().emit(record)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        try:
            super().close()
        finally:
            fd, self._dir_fd = self._dir_fd, None
            if fd is not None:
                os.close(fd)


LOG_MAX_BYTES = 5_000_000
LOG_BACKUPS = 10


def setup_logging(log_dir: Path | None = None, *, verbose: bool = False, max_bytes: int = LOG_MAX_BYTES,
                  backups: int = LOG_BACKUPS) -> Path | None:
    """Configure the root logger once; returns the log file path (None when no folder could be used).

    Every process of the terminal writes ``pos.log`` in ``log_dir``; rotation is safe between them."""
    _install_record_factory()
    root = logging.getLogger()
    teardown_logging()
    _saved_level.append(root.level)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(fmt)
    console.addFilter(RedactingFilter())
    console._pos_app = True  # type: ignore[attr-defined]
    root.addHandler(console)
    # httpx logs every request URL at INFO, and Alipay puts the signature in the URL.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    path: Path | None = None
    if log_dir is not None:
        try:
            log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = log_dir / "pos.log"
            file_handler = _OwnerOnlyRotatingFileHandler(path, max_bytes=max_bytes, backups=backups)
        except OSError as exc:
            logging.getLogger(__name__).warning("cannot write logs to %s: %s", log_dir, exc)
            return None
        file_handler.setFormatter(fmt)
        file_handler.addFilter(RedactingFilter())
        file_handler._pos_app = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
    return path
