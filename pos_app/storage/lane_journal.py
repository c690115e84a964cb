"""The lane side of store mode in SQLite: the journal the uplink pushes, its state, and the pulled reference data.

Journal rows are written by triggers (lane_store_v30.sql) in the same transaction as each event; this module
turns them into the rows the store server's ``ingest_batch`` takes, records what the server acknowledged, and
applies pulled pages (catalogue, members, store balances) each in one SQLite transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .db import connect, transaction

logger = logging.getLogger(__name__)

__all__ = ["LaneState", "SqliteLaneJournal", "STORE_BALANCE_REASON", "business_date"]

STORE_BALANCE_REASON = "[store balance]"   # ledger corrections to the store's balance: never journaled
STORE_VERIFIER = "store$"                   # services.users.STORE_VERIFIER: a PIN verifier pulled from the store
STORE_TZ = dt.timezone(dt.timedelta(hours=8))


def business_date(iso_utc: str) -> str:
    """The store's day (GMT+8) of a stored UTC timestamp."""
    at = dt.datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(STORE_TZ).date().isoformat()


RECEIPT_BLOCK = 10 ** 8   # each lane epoch prints its receipts in a block of its own


def start_new_epoch(conn: sqlite3.Connection, acked_seq: int | None = None) -> str:
    """A new lane epoch (inside the caller's transaction): the database is a restored copy. Its receipt numbers
    jump to the next block, so they never repeat the ones the replaced database printed (and the store holds).
    ``acked_seq`` None: what this copy knows the store has (a restore before the store was reached)."""
    st = conn.execute("SELECT acked_seq, (SELECT coalesce(max(seq), 0) FROM lane_journal) FROM lane_store_state "
                      "WHERE id = 1").fetchone()
    base = min(int(st[0]), int(st[1])) if acked_seq is None else acked_seq
    epoch = str(uuid.uuid4())
    conn.execute("UPDATE lane_store_state SET lane_epoch = ?, epoch_base_seq = ?, acked_seq = ? WHERE id = 1",
                 (epoch, base, base))
    conn.execute("UPDATE counters SET value = (value / ? + 1) * ? WHERE name LIKE 'receipt:%'",
                 (RECEIPT_BLOCK, RECEIPT_BLOCK))
    return epoch


@dataclass(frozen=True)
class LaneState:
    enabled: bool
    lane_epoch: str
    lane_id: str
    acked_seq: int
    max_seq: int
    epoch_base_seq: int
    offline_since: str | None
    last_ok_at: str | None
    last_error: str
    pull_cursor: dict[str, list[int]]

    @property
    def backlog(self) -> int:
        return max(0, self.max_seq - self.acked_seq)


class SqliteLaneJournal:
    """One connection, used by one thread (the uplink and the pull each open their own)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, db_path: Path | str) -> SqliteLaneJournal:
        return cls(connect(db_path))

    def close(self) -> None:
        self._conn.close()

    # -- state ----------------------------------------------------------------------------------
    def enable(self) -> LaneState:
        """Turn store mode on for this file (journal from now on) and make an epoch if there is none."""
        with transaction(self._conn):
            self._conn.execute("UPDATE lane_store_state SET enabled = 1, lane_epoch = CASE lane_epoch WHEN '' "
                               "THEN ? ELSE lane_epoch END WHERE id = 1", (str(uuid.uuid4()),))
        return self.state()

    def state(self) -> LaneState:
        r = self._conn.execute("SELECT * FROM lane_store_state WHERE id = 1").fetchone()
        max_seq = self._conn.execute("SELECT coalesce(max(seq), 0) FROM lane_journal").fetchone()[0]
        return LaneState(bool(r["enabled"]), r["lane_epoch"], r["lane_id"], int(r["acked_seq"]), int(max_seq),
                         int(r["epoch_base_seq"]), r["offline_since"], r["last_ok_at"], r["last_error"], json.loads(r["pull_cursor"]))

    def new_epoch(self, acked_seq: int) -> str:
        """The server holds more of our epoch than we do (restored from a backup): start a new epoch."""
        with transaction(self._conn):
            return start_new_epoch(self._conn, acked_seq)

    def raise_receipts(self, receipt_max: str) -> None:
        """The store's highest receipt number of this lane (any epoch): receipts from now on start in the block
        after it, so a lane restored from an old backup never prints a number the store already holds."""
        digits = receipt_max[-15:]
        if len(digits) != 15 or not digits.isdigit():
            logger.warning("store answered an unreadable receipt number %r", receipt_max)
            return
        terminal_no, seq = int(digits[:3]), int(digits[3:14])
        floor = (seq // RECEIPT_BLOCK + 1) * RECEIPT_BLOCK
        with transaction(self._conn):
            cur = self._conn.execute("UPDATE counters SET value = ? WHERE name = ? AND value < ?",
                                     (floor, f"receipt:{terminal_no}", floor))
        if cur.rowcount:
            logger.warning("receipt numbers of terminal %d continue after %d: the store holds receipts of this lane "
                           "beyond this database (restored from an older copy)", terminal_no, floor)

    def event_at(self, seq: int) -> str | None:
        """The event_id journaled at ``seq`` (None if this database has no such row)."""
        r = self._conn.execute("SELECT event_id FROM lane_journal WHERE seq = ?", (seq,)).fetchone()
        return str(r[0]) if r else None

    def hello(self, lane_id: str, acked_seq: int) -> None:
        with transaction(self._conn):
            self._conn.execute("UPDATE lane_store_state SET lane_id = ?, acked_seq = ? WHERE id = 1",
                               (lane_id, acked_seq))

    def set_acked(self, acked_seq: int, at: dt.datetime) -> None:
        with transaction(self._conn):
            self._conn.execute("UPDATE lane_store_state SET acked_seq = max(acked_seq, ?), offline_since = NULL, "
                               "last_ok_at = ?, last_error = '' WHERE id = 1", (acked_seq, at.isoformat()))

    def set_online(self, at: dt.datetime) -> None:
        """The uplink found nothing to push (every poll, 10 times a second): written only when it changes something
        or every few seconds, not one write transaction (and fsync) per poll."""
        r = self._conn.execute("SELECT offline_since, last_error, last_ok_at FROM lane_store_state WHERE id = 1").fetchone()
        if r["offline_since"] is None and not r["last_error"] and r["last_ok_at"] and \
                at - dt.datetime.fromisoformat(r["last_ok_at"]) < dt.timedelta(seconds=5):
            return
        with transaction(self._conn):
            self._conn.execute("UPDATE lane_store_state SET offline_since = NULL, last_ok_at = ?, last_error = '' "
                               "WHERE id = 1", (at.isoformat(),))

    def set_offline(self, at: dt.datetime, error: str) -> None:
        with transaction(self._conn):
            self._conn.execute("UPDATE lane_store_state SET offline_since = coalesce(offline_since, ?), "
                               "last_error = ? WHERE id = 1", (at.isoformat(), error[:300]))

    # -- journal -> ingest rows -------------------------------------------------------------------
    def pending(self, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
        """Journal rows with seq > after_seq, in order, as ``ingest_batch`` rows (one query per kind)."""
        rows = self._conn.execute("SELECT * FROM lane_journal WHERE seq > ? ORDER BY seq LIMIT ?",
                                  (after_seq, limit)).fetchall()
        refs: dict[str, list[int]] = {}
        for r in rows:
            refs.setdefault(r["kind"], []).append(int(r["ref_id"]))
        bodies = {kind: self._bodies(kind, ids) for kind, ids in refs.items()}
        out = []
        for j in rows:
            body, at = bodies[j["kind"]].get(int(j["ref_id"]), ({}, j["created_at"]))
            kind = j["kind"]
            if kind == "points":
                body = {"offline": bool(j["offline"]), **body}
            elif kind == "points_release":   # a hold given up: a reverse entry, applied only if the store holds it
                kind = "points"
            out.append({"event_id": j["event_id"], "seq": j["seq"], "kind": kind,
                        "business_date": business_date(at), "occurred_at": at, "body": body})
        return out

    def pending_json(self, after_seq: int, limit: int = 500) -> tuple[int, int, str]:
        """The same rows as :meth:`pending`, as one JSON array text built by SQLite (the backlog ingest's hot path:
        no Python object per row); returns (first seq, number of rows, text). (0, 0, "[]") when none wait."""
        texts = [r[1] for r in self._conn.execute(_PENDING_JSON, (after_seq, limit))]
        if not texts:
            return 0, 0, "[]"
        first = self._conn.execute("SELECT min(seq) FROM lane_journal WHERE seq > ?", (after_seq,)).fetchone()[0]
        return int(first), len(texts), "[" + ",".join(texts) + "]"

    def _q(self, sql: str, ids: list[int]) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(ids))
        return self._conn.execute(sql.replace("(?)", f"({marks})"), ids).fetchall()

    def _bodies(self, kind: str, ids: list[int]) -> dict[int, tuple[dict[str, Any], str]]:
        """ref_id -> (body, occurred_at) for one kind of journal row."""
        out: dict[int, tuple[dict[str, Any], str]] = {}
        if kind == "sale":
            tenders: dict[int, list[dict[str, Any]]] = {}
            for t in self._q("SELECT * FROM tenders WHERE sale_id IN (?) ORDER BY id", ids):
                tenders.setdefault(t["sale_id"], []).append(
                    {"kind": t["kind"], "amount_fen": t["amount_fen"], "trade_no": t["trade_no"]})
            lines: dict[int, list[dict[str, Any]]] = {}
            for ln in self._q("SELECT * FROM sale_lines WHERE sale_id IN (?) ORDER BY sale_id, line_no", ids):
                lines.setdefault(ln["sale_id"], []).append(
                    {"code": ln["code"], "quantity": ln["quantity"], "amount_fen": ln["amount_fen"],
                     "voided": ln["voided"]})
            for s in self._q("SELECT s.*, sh.number AS shift_no, u.number AS cashier FROM sales s "
                             "JOIN shifts sh ON sh.id = s.shift_id JOIN users u ON u.id = s.cashier_id "
                             "WHERE s.id IN (?)", ids):
                out[s["id"]] = ({"receipt_no": s["receipt_no"], "shift_no": s["shift_no"], "cashier": s["cashier"],
                                 "member_id": s["card_no"] or "", "gross_fen": s["gross_fen"],
                                 "discount_fen": s["discount_fen"], "total_fen": s["total_fen"],
                                 "points_earned": s["points_earned"], "points_redeemed": s["points_redeemed"],
                                 "tenders": tenders.get(s["id"], []), "lines": lines.get(s["id"], [])},
                                s["committed_at"])
        elif kind == "refund":
            for r in self._q("SELECT r.*, s.receipt_no FROM refunds r JOIN sales s ON s.id = r.sale_id "
                             "WHERE r.id IN (?)", ids):
                out[r["id"]] = ({"receipt_no": r["receipt_no"], "method": r["method"], "amount_fen": r["amount_fen"],
                                 "out_request_no": r["out_request_no"]}, r["completed_at"] or r["created_at"])
        elif kind == "cash":
            for m in self._q("SELECT * FROM cash_movements WHERE id IN (?)", ids):
                out[m["id"]] = ({"kind": m["kind"], "amount_fen": m["amount_fen"]}, m["created_at"])
        elif kind in ("shift_open", "shift_close"):
            for sh in self._q("SELECT * FROM shifts WHERE id IN (?)", ids):
                at = sh["opened_at"] if kind == "shift_open" else (sh["closed_at"] or sh["opened_at"])
                out[sh["id"]] = ({"shift_no": sh["number"]}, at)
        elif kind == "z":
            for z in self._q("SELECT z.*, sh.number AS shift_no FROM z_reports z JOIN shifts sh ON sh.id = z.shift_id "
                             "WHERE z.id IN (?)", ids):
                out[z["id"]] = ({"shift_no": z["shift_no"], "z_number": z["number"], "hash": z["hash"]},
                                z["created_at"])
        elif kind == "points":
            for p in self._q("SELECT p.*, h.online AS hold_online FROM points_ledger p "
                             "LEFT JOIN lane_redeem h ON h.entry_id = p.entry_id WHERE p.id IN (?)", ids):
                body: dict[str, Any] = {"member_id": p["card_no"], "delta": p["points"], "kind": p["kind"]}
                if p["entry_id"]:   # held at the store before payment: the same entry, counted once there
                    body["entry_id"] = p["entry_id"]
                    if p["hold_online"] is not None:
                        body["offline"] = not p["hold_online"]
                out[p["id"]] = (body, p["created_at"])
        elif kind == "points_release":
            for h in self._q("SELECT * FROM lane_redeem WHERE id IN (?)", ids):
                out[h["id"]] = ({"member_id": h["card_no"], "delta": h["points"], "kind": "reverse",
                                 "entry_id": h["release_entry_id"], "reverses": h["entry_id"], "offline": False},
                                h["released_at"] or h["created_at"])
        elif kind == "card_call":
            for o in self._q("SELECT * FROM outbox WHERE id IN (?)", ids):
                call = json.loads(o["body_json"])
                out[o["id"]] = ({"kind": "consume_sync", "member_id": o["card_no"],
                                 "trade_no": str(call.get("trade_no", "")), "body": call}, o["created_at"])
        return out

    # -- pulled reference data -------------------------------------------------------------------
    def apply_page(self, table: str, rows: Sequence[Mapping[str, Any]], cursor: tuple[int, int],
                   acked_at_read: int | None = None, at: dt.datetime | None = None) -> None:
        """Apply one pulled page and move that table's cursor, in one transaction. Items go through the
        catalogue importer (barcodes, price history, audit) in its own transaction first: a crash before
        the cursor moves re-applies the same page, which changes nothing."""
        now = (at or dt.datetime.now(dt.UTC)).isoformat()
        if table == "item":
            self._apply_items(rows, at or dt.datetime.now(dt.UTC))
        with transaction(self._conn):
            if table == "member":
                for r in rows:
                    if r["deleted"]:
                        continue   # sales keep referring to the member; the store's tombstone stays there
                    self._conn.execute(
                        "INSERT INTO members (card_no, biz_card_no, name, phone, level, user_id, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (card_no) DO UPDATE SET "
                        "biz_card_no = excluded.biz_card_no, name = excluded.name, phone = excluded.phone, "
                        "level = excluded.level, user_id = excluded.user_id, updated_at = excluded.updated_at",
                        (r["member_id"], r["biz_card_no"], r["name"], r["phone"], r["level"], r["user_id"], now))
                    self._correct_balance(r["member_id"], now)
            elif table == "member_points":
                assert acked_at_read is not None
                for r in rows:
                    self._conn.execute(
                        "INSERT INTO lane_member_points (card_no, store_balance, acked_at_read, read_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (card_no) DO UPDATE SET store_balance = excluded.store_balance,"
                        " acked_at_read = excluded.acked_at_read, read_at = excluded.read_at",
                        (r["member_id"], r["balance"], acked_at_read, now))
                    self._correct_balance(r["member_id"], now)
            elif table == "store_user":
                self._apply_users(rows, at or dt.datetime.now(dt.UTC))
            elif table == "store_setting":
                self._conn.executemany(
                    "INSERT INTO lane_store_setting (key, value_json, deleted, pulled_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, deleted = excluded.deleted, "
                    "pulled_at = excluded.pulled_at",
                    [(r["key"], json.dumps(r["value"], ensure_ascii=False), int(bool(r["deleted"])), now) for r in rows])
            st = json.loads(self._conn.execute("SELECT pull_cursor FROM lane_store_state WHERE id = 1").fetchone()[0])
            st[table] = list(cursor)
            self._conn.execute("UPDATE lane_store_state SET pull_cursor = ? WHERE id = 1", (json.dumps(st),))

    def _apply_users(self, rows: Sequence[Mapping[str, Any]], at: dt.datetime) -> None:
        """Users the store manages: the store's row wins (name, role, PIN verifier, card, active); a deleted one is
        disabled here. The lane's lock-out count stays unless the PIN changed. Audited (numbers only)."""
        from .audit import append_audit

        now = at.isoformat()
        numbers = []
        for r in rows:
            card = r["card_code"] or None
            if card and self._conn.execute("SELECT 1 FROM users WHERE card_code = ? AND number <> ?",
                                           (card, r["number"])).fetchone():
                logger.warning("store user %s: card code already belongs to another user of this lane; "
                               "pulled without it", r["number"])
                card = None
            self._conn.execute(
                "INSERT INTO users (number, name, role, pin_hash, card_code, active, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET name = excluded.name, "
                "role = excluded.role, card_code = excluded.card_code, active = excluded.active, "
                "failed_attempts = CASE WHEN users.pin_hash = excluded.pin_hash THEN users.failed_attempts ELSE 0 END,"
                " locked_until = CASE WHEN users.pin_hash = excluded.pin_hash THEN users.locked_until ELSE NULL END, "
                "pin_hash = excluded.pin_hash",
                (r["number"], r["name"], r["role"], STORE_VERIFIER + r["pin_verifier"], card,
                 int(bool(r["active"]) and not r["deleted"]), now))
            self._conn.execute("INSERT INTO lane_store_user (number, pulled_at) VALUES (?, ?) ON CONFLICT (number) "
                               "DO UPDATE SET pulled_at = excluded.pulled_at", (r["number"], now))
            numbers.append(r["number"])
        if numbers:
            append_audit(self._conn, at=at, user_id=None, user_name="store", action="users.store_pull",
                         subject=f"{len(numbers)} user(s)", detail={"numbers": numbers[:100]})

    def store_settings(self) -> dict[str, Any]:
        """The store's settings as last pulled (key -> value), without deleted ones."""
        return {r[0]: json.loads(r[1]) for r in self._conn.execute(
            "SELECT key, value_json FROM lane_store_setting WHERE deleted = 0 ORDER BY key")}

    def _apply_items(self, rows: Sequence[Mapping[str, Any]], at: dt.datetime) -> None:
        from pos_app.domain.errors import CatalogueError
        from pos_app.domain.items import ItemRecord

        from .catalogue_import import apply_catalogue

        records: list[ItemRecord] = []
        for r in rows:
            try:
                records.append(ItemRecord(
                    code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"], price_fen=int(r["price_fen"]),
                    barcodes=tuple(r["barcodes"] or ()), category=r["category"], unit_label=r["unit_label"],
                    member_price_fen=None if r["member_price_fen"] is None else int(r["member_price_fen"]),
                    tax_rate_bp=int(r["tax_rate_bp"]), weighed=r["unit"] == "kg",
                    points_excluded=bool(r["points_excluded"]), active=bool(r["active"]) and not r["deleted"]))
            except CatalogueError as exc:   # the store validated it; a lane of an older version may not know a value
                logger.warning("store item %s not applied on this lane: %s", r.get("code"), exc)
        if records:
            apply_catalogue(self._conn, records, full=False, by_user="store", source="store server",
                            sha256="", at=at)

    def pending_points(self, card_no: str, after_seq: int) -> int:
        """This lane's point changes for a member that the store balance read at after_seq does not include:
        journaled entries after it (except redemptions the store already took online), holds the store took
        whose sale is not committed yet (the sale's ledger entry will take them), and releases not yet sent."""
        r = self._conn.execute(
            "SELECT coalesce(sum(p.points), 0) FROM points_ledger p JOIN lane_journal j "
            "ON j.kind = 'points' AND j.ref_id = p.id WHERE p.card_no = ? AND j.seq > ? AND NOT EXISTS "
            "(SELECT 1 FROM lane_redeem h WHERE h.entry_id = p.entry_id AND h.online = 1)",
            (card_no, after_seq)).fetchone()
        held = self._conn.execute(
            "SELECT coalesce(sum(points), 0) FROM lane_redeem WHERE card_no = ? AND online = 1 AND state = 'held'",
            (card_no,)).fetchone()
        released = self._conn.execute(
            "SELECT coalesce(sum(h.points), 0) FROM lane_redeem h JOIN lane_journal j "
            "ON j.kind = 'points_release' AND j.ref_id = h.id WHERE h.card_no = ? AND h.online = 1 AND j.seq > ?",
            (card_no, after_seq)).fetchone()
        return int(r[0]) + int(held[0]) + int(released[0])

    def _correct_balance(self, card_no: str, now: str) -> None:
        """Make the local ledger's balance = store balance + this lane's pending entries (one correcting entry)."""
        sp = self._conn.execute("SELECT store_balance, acked_at_read FROM lane_member_points WHERE card_no = ?",
                                (card_no,)).fetchone()
        if sp is None or not self._conn.execute("SELECT 1 FROM members WHERE card_no = ?", (card_no,)).fetchone():
            return
        # the member panel's "confirmed" points are the store's (its card worker keeps the card on them); what this
        # lane has not yet sent shows as pending
        self._conn.execute("UPDATE members SET points_synced = ? WHERE card_no = ?", (int(sp["store_balance"]), card_no))
        want = int(sp["store_balance"]) + self.pending_points(card_no, int(sp["acked_at_read"]))
        r = self._conn.execute("SELECT balance_after FROM points_ledger WHERE card_no = ? ORDER BY id DESC LIMIT 1",
                               (card_no,)).fetchone()
        have = int(r[0]) if r else 0
        if want != have:
            self._conn.execute(
                "INSERT INTO points_ledger (card_no, kind, points, balance_after, reason, created_at) "
                "VALUES (?, 'adjust', ?, ?, ?, ?)", (card_no, want - have, want, STORE_BALANCE_REASON, now))

    def points_shown(self, card_no: str) -> int:
        r = self._conn.execute("SELECT balance_after FROM points_ledger WHERE card_no = ? ORDER BY id DESC LIMIT 1",
                               (card_no,)).fetchone()
        return int(r[0]) if r else 0

    def local_points_entries(self) -> Iterable[tuple[str, str, int]]:
        """(event_id, card_no, points) of every journaled point change (for the invariant checks)."""
        return [(r[0], r[1], int(r[2])) for r in self._conn.execute(
            "SELECT j.event_id, p.card_no, p.points FROM lane_journal j JOIN points_ledger p ON p.id = j.ref_id "
            "WHERE j.kind = 'points' ORDER BY j.seq")]


# One row of ingest_batch per journal row, as JSON text (see SqliteLaneJournal.pending for the same in Python).
# business_date: the store day (GMT+8) of the event's time.
_PENDING_JSON = """
WITH j AS (SELECT * FROM lane_journal WHERE seq > ? ORDER BY seq LIMIT ?),
b AS (
  SELECT j.seq, s.committed_at AS at, json_object(
           'receipt_no', s.receipt_no, 'shift_no', sh.number, 'cashier', u.number,
           'member_id', coalesce(s.card_no, ''), 'gross_fen', s.gross_fen, 'discount_fen', s.discount_fen,
           'total_fen', s.total_fen, 'points_earned', s.points_earned, 'points_redeemed', s.points_redeemed,
           'tenders', (SELECT json_group_array(json_object('kind', t.kind, 'amount_fen', t.amount_fen,
                                                           'trade_no', t.trade_no))
                         FROM (SELECT * FROM tenders WHERE sale_id = s.id ORDER BY id) t),
           'lines', (SELECT json_group_array(json_object('code', l.code, 'quantity', l.quantity,
                                                         'amount_fen', l.amount_fen, 'voided', l.voided))
                       FROM (SELECT * FROM sale_lines WHERE sale_id = s.id ORDER BY line_no) l)) AS body
    FROM j JOIN sales s ON s.id = j.ref_id JOIN shifts sh ON sh.id = s.shift_id JOIN users u ON u.id = s.cashier_id
   WHERE j.kind = 'sale'
  UNION ALL
  SELECT j.seq, coalesce(r.completed_at, r.created_at), json_object(
           'receipt_no', s.receipt_no, 'method', r.method, 'amount_fen', r.amount_fen,
           'out_request_no', r.out_request_no)
    FROM j JOIN refunds r ON r.id = j.ref_id JOIN sales s ON s.id = r.sale_id WHERE j.kind = 'refund'
  UNION ALL
  SELECT j.seq, m.created_at, json_object('kind', m.kind, 'amount_fen', m.amount_fen)
    FROM j JOIN cash_movements m ON m.id = j.ref_id WHERE j.kind = 'cash'
  UNION ALL
  SELECT j.seq, CASE j.kind WHEN 'shift_open' THEN sh.opened_at ELSE coalesce(sh.closed_at, sh.opened_at) END,
         json_object('shift_no', sh.number)
    FROM j JOIN shifts sh ON sh.id = j.ref_id WHERE j.kind IN ('shift_open', 'shift_close')
  UNION ALL
  SELECT j.seq, z.created_at, json_object('shift_no', sh.number, 'z_number', z.number, 'hash', z.hash)
    FROM j JOIN z_reports z ON z.id = j.ref_id JOIN shifts sh ON sh.id = z.shift_id WHERE j.kind = 'z'
  UNION ALL
  SELECT j.seq, p.created_at, CASE WHEN p.entry_id IS NULL THEN json_object(
           'offline', json(CASE WHEN j.offline THEN 'true' ELSE 'false' END),
           'member_id', p.card_no, 'delta', p.points, 'kind', p.kind)
         ELSE json_object(
           'offline', json(CASE WHEN coalesce(NOT h.online, j.offline) THEN 'true' ELSE 'false' END),
           'member_id', p.card_no, 'delta', p.points, 'kind', p.kind, 'entry_id', p.entry_id) END
    FROM j JOIN points_ledger p ON p.id = j.ref_id LEFT JOIN lane_redeem h ON h.entry_id = p.entry_id
   WHERE j.kind = 'points'
  UNION ALL
  SELECT j.seq, coalesce(h.released_at, h.created_at), json_object(
           'member_id', h.card_no, 'delta', h.points, 'kind', 'reverse', 'entry_id', h.release_entry_id,
           'reverses', h.entry_id, 'offline', json('false'))
    FROM j JOIN lane_redeem h ON h.id = j.ref_id WHERE j.kind = 'points_release'
  UNION ALL
  SELECT j.seq, o.created_at, json_object(
           'kind', 'consume_sync', 'member_id', o.card_no,
           'trade_no', coalesce(CAST(json_extract(o.body_json, '$.trade_no') AS TEXT), ''), 'body', json(o.body_json))
    FROM j JOIN outbox o ON o.id = j.ref_id WHERE j.kind = 'card_call'
)
SELECT j.seq, json_object(
         'event_id', j.event_id, 'seq', j.seq,
         'kind', CASE j.kind WHEN 'points_release' THEN 'points' ELSE j.kind END,
         'business_date', date(coalesce(b.at, j.created_at), '+8 hours'),
         'occurred_at', coalesce(b.at, j.created_at), 'body', json(coalesce(b.body, '{}')))
  FROM j LEFT JOIN b ON b.seq = j.seq ORDER BY j.seq
"""
