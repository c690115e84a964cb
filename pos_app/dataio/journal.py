"""Write the sales journal (rows of dicts with fixed columns) as CSV, XLSX or JSON Lines, atomically.

The file appears complete or not at all: it is written to a temporary file (mode 0600) in the
target folder, flushed to disk, then renamed over the target. CSV is UTF-8 with BOM (Excel opens
the Chinese text correctly); JSON Lines keep integers as numbers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["FORMATS", "write_journal", "atomic_write"]

FORMATS = ("csv", "xlsx", "jsonl")


@contextlib.contextmanager
def atomic_write(path: Path) -> Any:
    """Yield a binary file object; on success it is fsynced and renamed onto ``path`` (0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _text(fh: IO[bytes], encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(fh, encoding=encoding, newline="", write_through=True)


def write_journal(path: Path, fmt: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write ``rows`` to ``path`` in ``fmt``; returns the number of rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    n = 0
    with atomic_write(path) as fh:
        if fmt == "csv":
            text = _text(fh, "utf-8-sig")
            w = csv.writer(text)
            w.writerow(columns)
            for r in rows:
                w.writerow(["" if r.get(c) is None else r.get(c, "") for c in columns])
                n += 1
            text.flush()
            text.detach()
        elif fmt == "jsonl":
            text = _text(fh, "utf-8")
            for r in rows:
                text.write(json.dumps({c: r[c] for c in columns if c in r}, ensure_ascii=False,
                                      separators=(",", ":")) + "\n")
                n += 1
            text.flush()
            text.detach()
        else:
            import openpyxl

            wb = openpyxl.Workbook(write_only=True)
            ws = wb.create_sheet("journal")
            ws.append(list(columns))
            for r in rows:
                ws.append([r.get(c) for c in columns])
                n += 1
            wb.save(fh)
    return n
