"""Secrets-in-logs check: every log line of the whole test session is scanned for payment codes, keys and cards.

Registered from tests/conftest.py (``pytest_plugins``). A handler on the root logger (level DEBUG) keeps
every formatted record; at the end of the session the lines, and any ``*.log`` file left under the
session's temporary directory (subprocess logs of the reliability harness), are scanned with
:func:`scan_line`. A hit fails the session (exit status 1) and prints the offending lines, masked.

Under pytest-xdist (``make test`` runs two workers) each worker scans its own lines and files and hands the
result to the controller in ``workeroutput``; the controller adds them up, reports once and fails the session
on a hit there (a worker's own exit status does not reach the controller).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

__all__ = ["SECRET_PATTERNS", "scan_line", "scan_lines", "mask_hit", "CollectingHandler"]

SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    # an Alipay payment code (alipay-api.md: 25..30 then 14..22 digits), as a word of its own
    "payment code": re.compile(r"(?<![0-9A-Za-z_])(?:2[5-9]|30)[0-9]{14,22}(?![0-9A-Za-z_])"),
    # a full member card number of the demo programme
    "member card": re.compile(r"(?<![0-9A-Za-z_])8800[0-9]{12}(?![0-9A-Za-z_])"),
    # a PEM private key, or the bare Base64 body of one (DER SEQUENCE of >= 512 bytes: MIIC.., MIIE..;
    # 2048/3072-bit public keys start MIIB and are not secret)
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|(?<![A-Za-z0-9+/])MII[C-Z][A-Za-z0-9+/]{60,}"),
    # a request/response signature: sign=<value> (form or URL) or "sign":"<value>" (JSON)
    "signature": re.compile(r"(?<![A-Za-z0-9_])sign=(?!&|$|\s)[^&\s\"']{8,}|\"sign\"\s*:\s*\"[A-Za-z0-9+/=]{16,}"),
}


def scan_line(line: str) -> list[str]:
    """The kinds of secret found in one log line (empty when clean)."""
    return [kind for kind, pattern in SECRET_PATTERNS.items() if pattern.search(line)]


def mask_hit(line: str) -> str:
    """The line with every secret replaced by its kind (safe to print in the failure report)."""
    for kind, pattern in SECRET_PATTERNS.items():
        line = pattern.sub(f"<{kind}>", line)
    return line


def scan_lines(lines: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(masked line, kinds) for every line that holds a secret."""
    hits = []
    for raw in lines:
        for line in raw.splitlines() or [raw]:
            kinds = scan_line(line)
            if kinds:
                hits.append((mask_hit(line), kinds))
    return hits


class CollectingHandler(logging.Handler):
    """Keeps every formatted record (message + traceback) with the logger's name."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a bad record must not break the test that logged it; keep its raw parts
            text = f"{record.name} {record.levelname} {record.msg!r} {record.args!r}"
        with self._guard:
            self.lines.append(text)


_HANDLER = CollectingHandler()
_STATE: dict[str, object] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    root = logging.getLogger()
    _STATE["old_level"] = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(_HANDLER)


def _log_files(session: pytest.Session) -> list[Path]:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return []
    try:
        base = factory.getbasetemp()
    except Exception:  # noqa: BLE001 - no temporary directory was made in this session
        return []
    return sorted(p for p in Path(base).rglob("*.log") if p.is_file())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist controller: a worker finished; keep what its log scan found."""
    found = getattr(node, "workeroutput", {}).get("logscan")
    if found is not None:
        workers = _STATE.setdefault("workers", [])
        assert isinstance(workers, list)  # noqa: S101 - set just above
        workers.append(found)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    root = logging.getLogger()
    root.removeHandler(_HANDLER)
    old = _STATE.get("old_level")
    if isinstance(old, int):
        root.setLevel(old)
    with _HANDLER._guard:
        lines = list(_HANDLER.lines)
    hits = [("session", m, k) for m, k in scan_lines(lines)]
    n_lines, n_files = len(lines), 0
    workers = _STATE.get("workers")
    if isinstance(workers, list) and workers:   # xdist controller: the workers scanned their own files
        for found in workers:
            n_lines += int(found["lines"])
            n_files += int(found["files"])
            hits += [(str(w), str(m), [str(k) for k in ks]) for w, m, ks in found["hits"]]
    else:
        files = _log_files(session)
        n_files = len(files)
        for path in files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            hits += [(str(path.name), m, k) for m, k in scan_lines(text.splitlines())]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:   # an xdist worker: the controller reports and fails the session
        workeroutput["logscan"] = {"lines": n_lines, "files": n_files,
                                   "hits": [[w, m, list(k)] for w, m, k in hits]}
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (f"log scan: {n_lines} log lines and {n_files} log file(s) scanned, "
               f"{len(hits)} line(s) with secrets")
    out = [summary] + [f"  [{where}] {', '.join(kinds)}: {masked[:300]}" for where, masked, kinds in hits[:50]]
    if reporter is not None:
        for line in out:
            reporter.write_line(line, red=bool(hits))
    else:
        print("\n".join(out))
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
