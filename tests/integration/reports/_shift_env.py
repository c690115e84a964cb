"""Helpers for the shift/report tests: real SQLite, real services, and a raw-row seeder."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pos_app.domain.pricing import tax_included
from pos_app.runtime import FixedClock
from pos_app.services.reports import ReportService
from pos_app.services.shifts import ShiftService
from pos_app.services.users import User, UserService, hash_pin
from pos_app.storage.db import Database
from pos_app.storage.uow import SqliteUnitOfWork

TERMINAL = "T01"
# one cheap hash, computed once: scrypt at full cost is slow enough to matter in thousands of examples
_FAST_HASH = hash_pin("1357", n=2 ** 4)


@dataclass
class Env:
    conn: sqlite3.Connection
    clock: FixedClock
    users: UserService
    shifts: ShiftService
    reports: ReportService
    cashier: User
    supervisor: User


def make_env(path: Path) -> Env:
    conn = Database(path).open_and_migrate()
    clock = FixedClock(dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC))

    def factory() -> SqliteUnitOfWork:
        return SqliteUnitOfWork(conn)

    users = UserService(factory, clock, terminal_id=TERMINAL, max_failures=5, lock_minutes=15)
    now = clock.now().isoformat()
    conn.execute("INSERT INTO users (number, name, role, pin_hash, card_code, created_at) VALUES"
                 " ('1001', '王小明', 'cashier', ?, NULL, ?), ('9001', 'Sup Li', 'supervisor', ?, 'SUP0001', ?)",
                 (_FAST_HASH, now, _FAST_HASH, now))
    cashier = User(1, "1001", "王小明", "cashier")
    supervisor = User(2, "9001", "Sup Li", "supervisor", card_code="SUP0001")
    return Env(conn, clock, users,
               ShiftService(factory, clock, terminal_id=TERMINAL, close_difference_threshold_fen=1000),
               ReportService(factory, clock, terminal_id=TERMINAL), cashier, supervisor)


class Seeder:
    """Writes sales, tenders, refunds and payment attempts straight into the tables."""

    def __init__(self, conn: sqlite3.Connection, clock: FixedClock) -> None:
        self.conn = conn
        self.clock = clock
        self.n = 0

    def sale(self, shift_id: int, cashier_id: int, tenders: list[tuple[str, int, int]], *, discount: int = 0,
             card_no: str | None = None, state: str = "paid", earned: int = 0, redeemed: int = 0,
             void_lines: list[tuple[int, str]] | None = None, tax_rate_bp: int = 1300, category: str = "",
             promo_part: int = 0) -> int:
        """tenders: (kind, amount_fen, tendered_fen); change = tendered - amount. The discount is on line 1, as
        promotion P1 (``promo_part`` of it, at most the discount) and manual reason DAMAGED (the rest)."""
        self.n += 1
        total = sum(t[1] for t in tenders)
        at = self.clock.now().isoformat()
        if card_no:
            self.conn.execute("INSERT OR IGNORE INTO members (card_no, name, level, updated_at) VALUES (?, 'M', 'VIP', ?)",
                              (card_no, at))
        cur = self.conn.execute(
            "INSERT INTO sales (receipt_no, shift_id, terminal_id, cashier_id, card_no, state, gross_fen,"
            " discount_fen, total_fen, points_redeemed, points_earned, started_at, committed_at, receipt_hash)"
            " VALUES (?, ?, 'T01', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f"R{self.n:08d}", shift_id, cashier_id, card_no, state, total + discount, discount, total, redeemed,
             earned, at, at, f"h{self.n}"))
        sale_id = int(cur.lastrowid or 0)
        self.conn.execute("INSERT INTO sale_lines (sale_id, line_no, code, name, quantity, unit_price_fen, amount_fen,"
                          " discount_fen, tax_rate_bp, tax_fen, category) VALUES (?, 1, 'X', 'item', 1, ?, ?, ?, ?, ?, ?)",
                          (sale_id, total + discount, total + discount, discount, tax_rate_bp,
                           tax_included(total, tax_rate_bp), category))
        promo = min(promo_part, discount)
        for kind, ref, amount in (("promotion", "P1", promo), ("manual", "DAMAGED", discount - promo)):
            if amount:
                self.conn.execute("INSERT INTO sale_line_discounts (sale_id, line_no, kind, ref, label, amount_fen)"
                                  " VALUES (?, 1, ?, ?, ?, ?)", (sale_id, kind, ref, ref.lower(), amount))
        for i, (amount, who) in enumerate(void_lines or [], 2):
            self.conn.execute("INSERT INTO sale_lines (sale_id, line_no, code, name, quantity, unit_price_fen,"
                              " amount_fen, voided, void_reason, voided_by) VALUES (?, ?, 'V', 'voided', 1, ?, ?, 1,"
                              " ?, ?)", (sale_id, i, amount, amount, who, cashier_id))
        for kind, amount, tendered in tenders:
            self.conn.execute("INSERT INTO tenders (sale_id, kind, amount_fen, tendered_fen, change_fen)"
                              " VALUES (?, ?, ?, ?, ?)", (sale_id, kind, amount, tendered, tendered - amount))
        return sale_id

    def refund(self, sale_id: int, shift_id: int, method: str, amount: int, cashier_id: int,
               state: str = "done") -> int:
        self.n += 1
        cur = self.conn.execute(
            "INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason, cashier_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 'r', ?, ?)",
            (sale_id, shift_id, f"RQ{self.n}", method, amount, state, cashier_id, self.clock.now().isoformat()))
        return int(cur.lastrowid or 0)

    def attempt(self, shift_id: int, cashier_id: int, state: str, amount: int = 100) -> int:
        self.n += 1
        at = self.clock.now().isoformat()
        cur = self.conn.execute(
            "INSERT INTO payment_attempts (out_trade_no, shift_id, cashier_id, amount_fen, subject,"
            " auth_code_masked, state, created_at, updated_at) VALUES (?, ?, ?, ?, 's', '****1234', ?, ?, ?)",
            (f"OT{self.n}", shift_id, cashier_id, amount, state, at, at))
        return int(cur.lastrowid or 0)
