"""The members file (a shop moving from another system): parse + validate into MemberRow, write back.

Columns: card number, phone, name, level, opening points, and optionally the Alipay card number
(``biz_card_no``) or an "Alipay card" flag for members that already hold the shop's Alipay card.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pos_app.domain.codes import mask_code
from pos_app.domain.member_rows import MemberRow

from .catalogue import Column, _norm_header, map_headers, parse_flag
from .tables import Cell, Odd, Problem, Table, column_letter, write_csv, write_xlsx

__all__ = ["MEMBER_COLUMNS", "MemberRow", "parse_members", "write_members", "MAX_OPENING_POINTS"]

MAX_OPENING_POINTS = 100_000_000


MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("card_no", "card number", "会员卡号", True, ("card_no", "card", "卡号", "会员号")),
    Column("phone", "phone", "手机号", False, ("mobile", "手机", "电话")),
    Column("name", "name", "姓名", False, ("会员姓名", "名称")),
    Column("level", "level", "等级", False, ("会员等级", "级别")),
    Column("points", "opening points", "积分", False, ("points", "期初积分", "当前积分")),
    Column("biz_card_no", "alipay card number", "支付宝卡号", False, ("biz_card_no",)),
    Column("has_card", "alipay card", "已领支付宝卡", False, ("has card", "支付宝会员卡")),
)
_KEYS = {_norm_header(n): c.key for c in MEMBER_COLUMNS for n in (c.en, c.zh, c.key, *c.aliases)}
_BY_KEY = {c.key: c for c in MEMBER_COLUMNS}

_CARD_RE = re.compile(r"[0-9A-Za-z]{4,32}")
_PHONE_RE = re.compile(r"\+?[0-9][0-9-]{4,19}")


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell.text


def parse_members(table: Table, *, member_pattern: str = "") -> tuple[list[MemberRow], list[Problem]]:
    """Every row as a :class:`MemberRow`, or the problems. Card numbers in messages are masked.

    ``member_pattern`` (the scanners' setting): a card number it does not match would not be read
    as a member card at the counter, so it is a problem.
    """
    index, problems = map_headers(table.headers, _KEYS, _BY_KEY, "members")
    if problems:
        return [], problems
    if not table.rows:
        return [], [Problem(0, "", "", "the file has a header row but no members")]
    pattern = re.compile(member_pattern) if member_pattern else None
    names = {k: f"{column_letter(i + 1)} ({table.headers[i]})" for k, i in index.items()}
    out: list[MemberRow] = []
    seen: dict[str, int] = {}
    seen_biz: dict[str, int] = {}
    for number, cells in table.rows:
        before = len(problems)

        def bad(key: str, value: str, why: str, number: int = number) -> None:
            problems.append(Problem(number, names.get(key, key), value, why))

        values: dict[str, str] = {}
        for key, i in index.items():
            cell = cells[i] if i < len(cells) else ""
            if isinstance(cell, Odd) or _text(cell).startswith("="):
                what = "a formula" if isinstance(cell, str) else f"a {cell.kind} cell"
                bad(key, "" if key == "card_no" else _text(cell), f"{what}: give plain values")
                continue
            values[key] = cell.strip()
        if len(problems) > before:
            continue
        card = values.get("card_no", "")
        shown = mask_code(card)
        if not card:
            bad("card_no", "", "card number is empty")
        elif not _CARD_RE.fullmatch(card):
            bad("card_no", shown, "card number must be 4-32 letters or digits")
        elif pattern is not None and not pattern.fullmatch(card):
            bad("card_no", shown, "does not match the scanners' member_pattern: it would not scan as a card")
        elif card in seen:
            bad("card_no", shown, f"duplicate card number (first on row {seen[card]})")
        else:
            seen[card] = number
        phone = values.get("phone", "")
        if phone and not _PHONE_RE.fullmatch(phone):
            bad("phone", mask_code(phone), "not a phone number (digits, optional + and -)")
        name = values.get("name", "")
        if len(name) > 40:
            bad("name", name[:10] + "...", "name longer than 40 characters")
        level = values.get("level", "")
        if len(level) > 16:
            bad("level", level, "level longer than 16 characters")
        raw_points = values.get("points", "") or "0"
        points = 0
        if not raw_points.isascii() or not raw_points.isdigit():
            bad("points", raw_points, "opening points must be a whole number, 0 or more")
        elif int(raw_points) > MAX_OPENING_POINTS:
            bad("points", raw_points, f"more than {MAX_OPENING_POINTS} points")
        else:
            points = int(raw_points)
        biz = values.get("biz_card_no", "")
        if biz:
            if not _CARD_RE.fullmatch(biz):
                bad("biz_card_no", mask_code(biz), "Alipay card number must be 4-32 letters or digits")
            elif biz in seen_biz:
                bad("biz_card_no", mask_code(biz), f"duplicate Alipay card number (first on row {seen_biz[biz]})")
            else:
                seen_biz[biz] = number
        flag, why = parse_flag(values.get("has_card", ""))
        if flag is None:
            bad("has_card", values.get("has_card", ""), why)
        if len(problems) > before:
            continue
        out.append(MemberRow(card_no=card, phone=phone, name=name, level=level, opening_points=points,
                             biz_card_no=biz, has_card=bool(flag) or bool(biz)))
    return (out if not problems else []), problems


def write_members(path: Path, rows: Iterable[MemberRow], *, language: str = "zh") -> None:
    """The members in the import format (.xlsx or .csv UTF-8 with BOM, by the name)."""
    headers = [c.zh if language == "zh" else c.en for c in MEMBER_COLUMNS]
    data = ([r.card_no, r.phone, r.name, r.level, str(r.opening_points), r.biz_card_no, "1" if r.has_card else "0"]
            for r in rows)
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, headers, data, sheet="会员" if language == "zh" else "Members",
                   text_columns=range(len(MEMBER_COLUMNS)))
    else:
        write_csv(path, headers, data)
