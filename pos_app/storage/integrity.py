"""Tampering and loss are detected: a keyed audit chain, sealed sale/refund rows, and an anchor file.

* **Keyed chain.** Once a database is registered with the terminal secret (:func:`register_audit_key`),
  every audit entry's hash is ``k1:`` + HMAC-SHA256(audit key, canonical entry) (see
  :mod:`pos_app.storage.audit`). Without the secret file nobody can recompute a rewritten chain. Entries
  written before the upgrade keep their unkeyed SHA-256 form; the first keyed entry covers their head, and
  an unkeyed entry after a keyed one is a break.
* **Sealed rows.** Every sale (with its lines and tenders) and every refund gets, in the same transaction,
  an audit entry ``sale.sealed`` / ``refund.sealed`` holding the SHA-256 of the row content that must never
  change. ``update sales set total_fen = 1`` no longer verifies.
* **Anchor.** After each commit that appended entries, the chain head (id and hash, MAC'd with the key)
  is written to ``pos.sqlite3.anchor`` beside the database (0600, atomic replace). A database older than
  its anchor — a lost ``-wal`` after a hard stop, a deleted tail, a restored old copy — is detected.

:func:`check` verifies all that; incrementally from the last verified entry at start (fast on a year of
sales), fully for ``pos-app audit verify``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import StorageError

__all__ = [
    "ANCHOR_SUFFIX",
    "Anchor",
    "IntegrityReport",
    "register_audit_key",
    "audit_key_for",
    "note_row",
    "seal_pending",
    "discard_pending",
    "after_commit",
    "sale_digest",
    "refund_digest",
    "read_anchor",
    "write_anchor",
    "anchor_path_for",
    "check",
    "quick_check",
    "audit_head",
    "re_anchor",
]

logger = logging.getLogger(__name__)

ANCHOR_SUFFIX = ".anchor"
_META_SECRET = "audit_secret_file"
_keys: dict[str, bytes] = {}            # database file (resolved) -> audit key
_pending: dict[int, list[tuple[str, int]]] = {}   # id(conn) -> rows to seal before COMMIT
_dirty: set[int] = set()                 # id(conn) of connections that appended audit entries

_SALE_COLS = ("id", "receipt_no", "shift_id", "terminal_id", "cashier_id", "card_no", "gross_fen", "discount_fen",
              "total_fen", "points_redeemed", "points_earned", "started_at", "committed_at")
_LINE_COLS = ("id", "line_no", "code", "name", "quantity", "unit", "unit_price_fen", "amount_fen", "discount_fen",
              "voided")
_TENDER_COLS = ("id", "kind", "amount_fen", "tendered_fen", "change_fen", "attempt_id", "trade_no")
_REFUND_COLS = ("id", "sale_id", "out_request_no", "method", "amount_fen", "reason", "lines_json",
                "cashier_id", "approved_by", "created_at")


# --- keys -----------------------------------------------------------------------------------------

def _db_file(conn: sqlite3.Connection) -> str:
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return os.path.realpath(row[2]) if row[2] else ""
    return ""


def register_audit_key(conn: sqlite3.Connection, key: bytes, secret_file: Path | None = None) -> None:
    """From now on, entries appended to this database (by any connection of this process) are keyed.

    ``secret_file`` is recorded in the database's meta table so that another process writing to the same
    file (the sync worker, a CLI command) finds the key itself and never writes an unkeyed entry.
    """
    path = _db_file(conn)
    if not path:
        return
    _keys[path] = key
    if secret_file is not None:
        value = str(Path(secret_file).resolve())
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (_META_SECRET,)).fetchone()
        if row is None or row[0] != value:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value ="
                         " excluded.value", (_META_SECRET, value))


def audit_key_for(conn: sqlite3.Connection) -> bytes | None:
    """The audit key of this connection's database: registered in this process, or named by its meta table."""
    path = _db_file(conn)
    if not path:
        return None
    key = _keys.get(path)
    if key is not None:
        return key
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_META_SECRET,)).fetchone()
    if row is None:
        return None
    from .secret import SecretFileError, load_or_create_secret

    try:
        secret = load_or_create_secret(Path(row[0]), create=False)
    except SecretFileError as exc:
        raise StorageError(f"audit entries cannot be written without the terminal secret: {exc}") from exc
    key = secret.key("audit")
    _keys[path] = key
    return key


def anchor_path_for(db_path: Path | str) -> Path:
    return Path(str(db_path) + ANCHOR_SUFFIX)


# --- sealing rows ---------------------------------------------------------------------------------

def _digest(parts: Iterable[Any]) -> str:
    return hashlib.sha256(json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"),
                                     default=str).encode("utf-8")).hexdigest()


def sale_digest(conn: sqlite3.Connection, sale_id: int) -> str:
    """SHA-256 of the sale's never-changing content: the sale row, its lines and its tenders."""
    sale = conn.execute(f"SELECT {', '.join(_SALE_COLS)} FROM sales WHERE id = ?", (sale_id,)).fetchone()
    lines = conn.execute(f"SELECT {', '.join(_LINE_COLS)} FROM sale_lines WHERE sale_id = ? ORDER BY id",
                         (sale_id,)).fetchall()
    tenders = conn.execute(f"SELECT {', '.join(_TENDER_COLS)} FROM tenders WHERE sale_id = ? ORDER BY id",
                           (sale_id,)).fetchall()
    return _digest([None if sale is None else tuple(sale), [tuple(r) for r in lines], [tuple(r) for r in tenders]])


def refund_digest(conn: sqlite3.Connection, refund_id: int) -> str:
    row = conn.execute(f"SELECT {', '.join(_REFUND_COLS)} FROM refunds WHERE id = ?", (refund_id,)).fetchone()
    return _digest([None if row is None else tuple(row)])


def note_row(conn: sqlite3.Connection, kind: str, row_id: int) -> None:
    """A sale or refund was inserted in the current transaction: seal it before COMMIT."""
    _pending.setdefault(id(conn), []).append((kind, row_id))


def discard_pending(conn: sqlite3.Connection) -> None:
    _pending.pop(id(conn), None)
    _dirty.discard(id(conn))


def seal_pending(conn: sqlite3.Connection) -> None:
    """Append one ``*.sealed`` audit entry per sale/refund inserted in this transaction (call before COMMIT)."""
    todo = _pending.pop(id(conn), None)
    if not todo:
        return
    from .audit import append_audit

    now = dt.datetime.now(dt.UTC)
    for kind, row_id in todo:
        if kind == "sale":
            receipt = conn.execute("SELECT receipt_no FROM sales WHERE id = ?", (row_id,)).fetchone()
            append_audit(conn, at=now, user_id=None, user_name="", action="sale.sealed",
                         subject=str(receipt[0]) if receipt else "",
                         detail={"sale_id": row_id, "rows_sha256": sale_digest(conn, row_id)})
        else:
            append_audit(conn, at=now, user_id=None, user_name="", action="refund.sealed", subject=str(row_id),
                         detail={"refund_id": row_id, "rows_sha256": refund_digest(conn, row_id)})


def mark_dirty(conn: sqlite3.Connection) -> None:
    _dirty.add(id(conn))


def after_commit(conn: sqlite3.Connection) -> None:
    """After a COMMIT that appended entries: move the anchor to the new head (keyed databases only)."""
    if id(conn) not in _dirty:
        return
    _dirty.discard(id(conn))
    path = _db_file(conn)
    key = _keys.get(path) if path else None
    if key is None:
        return
    head = audit_head(conn)
    if head is None:
        return
    anchor_file = anchor_path_for(path)
    try:
        old = read_anchor(anchor_file, key)
    except StorageError:
        return  # a damaged anchor is reported by the next check; do not paper over it here
    verified = old.verified_id if old is not None else 0
    if old is not None and old.head_id > 0:
        if old.head_id >= head[0]:
            return  # never move the anchor back (another process anchored a later head, or entries were lost)
        row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (old.head_id,)).fetchone()
        if row is None or str(row[0]) != old.head_hash:
            return  # the chain no longer contains the anchored head: leave the evidence for the check
    try:
        write_anchor(anchor_file, key, Anchor(head[0], head[1], verified))
    except OSError as exc:
        logger.warning("cannot write the audit anchor %s: %s", anchor_file, exc)


def re_anchor(conn: sqlite3.Connection) -> None:
    """After a deliberate, audited restore: the anchor follows the restored file (its head, verified from the
    start at the next start-up); without a key (an unkeyed file) the old anchor is removed."""
    path = _db_file(conn)
    if not path:
        return
    anchor_file = anchor_path_for(path)
    key = audit_key_for(conn)
    head = audit_head(conn)
    if key is None or head is None:
        anchor_file.unlink(missing_ok=True)
        return
    write_anchor(anchor_file, key, Anchor(head[0], head[1], 0))


def audit_head(conn: sqlite3.Connection) -> tuple[int, str] | None:
    row = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


# --- the anchor file ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Anchor:
    """The chain head as last committed (``head_id``/``head_hash``) and the entry verified up to."""

    head_id: int
    head_hash: str
    verified_id: int


def _anchor_mac(key: bytes, a: Anchor) -> str:
    return hmac.new(key, f"anchor-v1|{a.head_id}|{a.head_hash}|{a.verified_id}".encode(), hashlib.sha256).hexdigest()


def read_anchor(path: Path, key: bytes) -> Anchor | None:
    """The anchor, None when there is none; StorageError when it is damaged or was not written with this key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        a = Anchor(int(data["head_id"]), str(data["head_hash"]), int(data["verified_id"]))
        mac = str(data["mac"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"the audit anchor {path} is damaged: {exc}") from exc
    if not hmac.compare_digest(mac, _anchor_mac(key, a)):
        raise StorageError(f"the audit anchor {path} was not written by this terminal (or was edited)")
    return a


def write_anchor(path: Path, key: bytes, a: Anchor) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    body = json.dumps({"head_id": a.head_id, "head_hash": a.head_hash, "verified_id": a.verified_id,
                       "mac": _anchor_mac(key, a)})
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, body.encode("ascii"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


# --- checking -------------------------------------------------------------------------------------

@dataclasses.dataclass
class IntegrityReport:
    """What :func:`check` found; ``first_bad`` is the first bad audit entry id (or None)."""

    entries_checked: int = 0
    rows_checked: int = 0
    head: tuple[int, str] | None = None
    anchor: Anchor | None = None
    first_bad: int | None = None
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad(self, entry_id: int | None, problem: str) -> None:
        if entry_id is not None and (self.first_bad is None or entry_id < self.first_bad):
            self.first_bad = entry_id
        self.problems.append(problem)


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """``PRAGMA quick_check``: [] when the file is sound, else SQLite's findings (at most 5)."""
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return [f"the database file is damaged ({exc})"]
    return [] if rows == ["ok"] else rows


def check(conn: sqlite3.Connection, key: bytes | None, anchor_file: Path | None, *, full: bool = True) -> IntegrityReport:
    """Verify the chain (and the sealed rows) against the key and the anchor.

    ``full=False`` walks only the entries after the anchor's ``verified_id`` (the start-up check).
    """
    from .audit import GENESIS, entry_hash

    rep = IntegrityReport()
    rep.head = audit_head(conn)
    if key is not None and anchor_file is not None:
        try:
            rep.anchor = read_anchor(anchor_file, key)
        except StorageError as exc:
            rep.bad(None, str(exc))
    anchor = rep.anchor
    head_id = rep.head[0] if rep.head else 0
    if anchor is not None and anchor.head_id > 0:
        row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (anchor.head_id,)).fetchone()
        if head_id < anchor.head_id:
            rep.bad(head_id + 1, f"the database is older than its anchor: audit entries {head_id + 1} to "
                                 f"{anchor.head_id} are missing (a lost -wal file after a hard stop, a deleted "
                                 "tail, or an old copy of the database put back)")
        elif row is None or str(row[0]) != anchor.head_hash:
            rep.bad(anchor.head_id, f"audit entry {anchor.head_id} is not the one anchored (the chain was "
                                    "rewritten)")
    elif key is not None and anchor_file is not None and conn.execute(
            "SELECT 1 FROM audit_log WHERE hash LIKE 'k1:%' LIMIT 1").fetchone() is not None:
        rep.bad(None, f"the audit anchor {anchor_file} is missing although the chain is keyed (deleted?)")
    start = 0 if full or anchor is None else anchor.verified_id
    prev = GENESIS
    keyed_seen = False
    if start > 0:
        row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (start,)).fetchone()
        if row is None:
            start = 0
        else:
            prev = str(row[0])
            keyed_seen = prev.startswith("k1:")
    sealed_sales: dict[int, tuple[int, str]] = {}
    sealed_refunds: dict[int, tuple[int, str]] = {}
    for row in conn.execute("SELECT id, at, user_id, user_name, action, subject, detail, prev_hash, hash"
                            " FROM audit_log WHERE id > ? ORDER BY id", (start,)):
        rep.entries_checked += 1
        eid = int(row[0])
        stored = str(row[8])
        if str(row[7]) != prev:
            rep.bad(eid, f"audit entry {eid}: the link to the previous entry does not match (an entry before it "
                         "was deleted or rewritten)")
            break
        if stored.startswith("k1:"):
            if key is None:
                rep.bad(eid, f"audit entry {eid} is keyed but the terminal secret is not available")
                break
            keyed_seen = True
            expected = entry_hash(prev, row[1], row[2], row[3], row[4], row[5], row[6], key=key)
        else:
            if keyed_seen:
                rep.bad(eid, f"audit entry {eid} is unkeyed after keyed entries (the chain was rewritten)")
                break
            expected = entry_hash(prev, row[1], row[2], row[3], row[4], row[5], row[6])
        if not hmac.compare_digest(expected, stored):
            rep.bad(eid, f"audit entry {eid} was changed after it was written")
            break
        if row[4] in ("sale.sealed", "refund.sealed"):
            try:
                detail = json.loads(row[6])
            except ValueError:
                detail = {}
            if row[4] == "sale.sealed":
                sealed_sales[int(detail.get("sale_id", 0))] = (eid, str(detail.get("rows_sha256", "")))
            else:
                sealed_refunds[int(detail.get("refund_id", 0))] = (eid, str(detail.get("rows_sha256", "")))
        prev = stored
    for sale_id, (eid, digest) in sealed_sales.items():
        rep.rows_checked += 1
        if sale_digest(conn, sale_id) != digest:
            rep.bad(eid, f"sale {sale_id} was changed after it was sealed by audit entry {eid}")
    for refund_id, (eid, digest) in sealed_refunds.items():
        rep.rows_checked += 1
        if refund_digest(conn, refund_id) != digest:
            rep.bad(eid, f"refund {refund_id} was changed after it was sealed by audit entry {eid}")
    if full and key is not None:
        _unsealed(conn, rep, sealed_sales, sealed_refunds)
    return rep


def _unsealed(conn: sqlite3.Connection, rep: IntegrityReport, sales: dict[int, tuple[int, str]],
              refunds: dict[int, tuple[int, str]]) -> None:
    """Rows added behind the terminal's back: sales/refunds after the first sealed one that have no seal."""
    if sales:
        first = min(sales)
        for (sale_id,) in conn.execute("SELECT id FROM sales WHERE id > ? ORDER BY id", (first,)):
            if int(sale_id) not in sales:
                rep.bad(None, f"sale {sale_id} has no audit seal (added outside the terminal, or its seal was lost)")
                break
    if refunds:
        first = min(refunds)
        for (refund_id,) in conn.execute("SELECT id FROM refunds WHERE id > ? ORDER BY id", (first,)):
            if int(refund_id) not in refunds:
                rep.bad(None, f"refund {refund_id} has no audit seal (added outside the terminal, or its seal was "
                              "lost)")
                break
