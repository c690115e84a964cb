"""The users file (cashiers, supervisors): number, name, role, card code, and optionally a PIN hash.

Clear-text PINs are refused (a column that looks like one rejects the whole file without echoing
any value); a PIN hash must be in the terminal's ``scrypt$n$r$p$salt$hash`` form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalogue import Column, _norm_header, map_headers
from .tables import Odd, Problem, Table, column_letter

__all__ = ["UserRow", "USER_COLUMNS", "parse_users", "ROLE_NAMES"]


@dataclass(frozen=True, slots=True)
class UserRow:
    number: str
    name: str
    role: str
    card_code: str = ""
    pin_hash: str = ""  # empty: the PIN is set later (``pos-app users reset-pin``)

    def __repr__(self) -> str:  # never print a hash
        return f"UserRow(number={self.number!r}, name={self.name!r}, role={self.role!r}, has_pin={bool(self.pin_hash)})"


USER_COLUMNS: tuple[Column, ...] = (
    Column("number", "number", "工号", True, ("user number", "cashier number", "编号")),
    Column("name", "name", "姓名", True, ("名称",)),
    Column("role", "role", "角色", False, ("岗位",)),
    Column("card_code", "card code", "主管卡号", False, ("card",)),
    Column("pin_hash", "pin hash", "PIN哈希", False, ("pin_hash",)),
)
_KEYS = {_norm_header(n): c.key for c in USER_COLUMNS for n in (c.en, c.zh, c.key, *c.aliases)}
_BY_KEY = {c.key: c for c in USER_COLUMNS}
ROLE_NAMES = {"cashier": "cashier", "收银员": "cashier", "supervisor": "supervisor", "主管": "supervisor",
              "admin": "admin", "管理员": "admin", "": "cashier"}
_NUMBER_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HASH_RE = re.compile(r"scrypt\$\d{1,7}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/=]{8,}\$[A-Za-z0-9+/=]{16,}")
_CLEAR_PIN = {"pin", "密码", "password", "口令"}


def parse_users(table: Table) -> tuple[list[UserRow], list[Problem]]:
    """Every row as a :class:`UserRow`, or the problems (hash values are never shown)."""
    for i, header in enumerate(table.headers):
        if _norm_header(header) in _CLEAR_PIN:
            return [], [Problem(1, f"{column_letter(i + 1)} ({header})", "",
                                "clear-text PINs are not accepted: leave the PIN out (set it with "
                                "`pos-app users reset-pin`) or give a pin hash")]
    index, problems = map_headers(table.headers, _KEYS, _BY_KEY, "users")
    if problems:
        return [], problems
    if not table.rows:
        return [], [Problem(0, "", "", "the file has a header row but no users")]
    names = {k: f"{column_letter(i + 1)} ({table.headers[i]})" for k, i in index.items()}
    out: list[UserRow] = []
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        before = len(problems)

        def bad(key: str, value: str, why: str, number: int = number) -> None:
            problems.append(Problem(number, names.get(key, key), value, why))

        values = {}
        for key, i in index.items():
            cell = cells[i] if i < len(cells) else ""
            if isinstance(cell, Odd):
                bad(key, "", f"a {cell.kind} cell: give plain values")
            else:
                values[key] = cell.strip()
        if len(problems) > before:
            continue
        num = values.get("number", "")
        if not _NUMBER_RE.fullmatch(num):
            bad("number", num, "user number: 1 to 32 letters, digits, - or _")
        elif num in seen:
            bad("number", num, f"duplicate user number (first on row {seen[num]})")
        else:
            seen[num] = number
        name = values.get("name", "")
        if not name or len(name) > 40:
            bad("name", name[:20], "a name of 1 to 40 characters is required")
        role = ROLE_NAMES.get(values.get("role", "").lower())
        if role is None:
            bad("role", values.get("role", ""), "role must be cashier, supervisor or admin (收银员/主管/管理员)")
        pin_hash = values.get("pin_hash", "")
        if pin_hash and not _HASH_RE.fullmatch(pin_hash):
            bad("pin_hash", "", "not a PIN hash of this terminal (scrypt$n$r$p$salt$hash); value not shown")
        card = values.get("card_code", "")
        if card and not _NUMBER_RE.fullmatch(card):
            bad("card_code", "", "card code: 1 to 32 letters, digits, - or _")
        if len(problems) > before:
            continue
        assert role is not None  # noqa: S101 - checked above
        out.append(UserRow(number=num, name=name, role=role, card_code=card, pin_hash=pin_hash))
    return (out if not problems else []), problems
