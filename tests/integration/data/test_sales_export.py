"""The sales journal export: every row numbered gap-free, atomic 0600 file, and it reconciles with the X report."""

from __future__ import annotations

import csv
import io
import json
import stat
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pos_app.__main__ import main
from pos_app.services.approvals import Approval
from tests.integration.reports._shift_env import Env, Seeder, make_env

DAY = "2026-11-25"  # the env clock starts at 2026-11-25 01:00 UTC (09:00 Beijing)


def _approval(env: Env, action: str) -> Approval:
    s = env.supervisor
    return Approval(id=0, action=action, subject="", approved_by=s.id, approver_name=s.name,
                    approver_role=s.role, requested_by=None, reason_code="other", note="", at=env.clock.now())


def _day(env: Env) -> tuple[int, Seeder]:
    """A shift with cash and Alipay sales, a member, a voided sale, refunds and every cash movement."""
    seed = Seeder(env.conn, env.clock)
    shift = env.shifts.open_shift(env.cashier, float_fen=50_000)
    seed.sale(shift.id, 1, [("cash", 1_250, 2_000)])
    env.clock.advance(60)
    member_sale = seed.sale(shift.id, 1, [("alipay", 8_800, 8_800)], discount=200, card_no="8800000000000001",
                            earned=88, redeemed=20)
    env.conn.execute("INSERT INTO points_ledger (card_no, kind, points, balance_after, sale_id, created_at)"
                     " VALUES ('8800000000000001', 'earn', 88, 88, ?, ?)", (member_sale, env.clock.now().isoformat()))
    env.clock.advance(60)
    seed.sale(shift.id, 1, [("cash", 500, 500), ("alipay", 700, 700)], void_lines=[(300, "wrong item")])
    seed.sale(shift.id, 1, [("cash", 999, 1_000)], state="voided")
    env.clock.advance(60)
    seed.refund(member_sale, shift.id, "alipay", 1_000, 1)
    seed.refund(1, shift.id, "cash", 250, 1)
    seed.refund(1, shift.id, "cash", 100, 1, state="pending")
    for kind, fen in (("pay_in", 3_000), ("pay_out", 1_200), ("drop", 20_000), ("no_sale", 0)):
        env.clock.advance(30)
        env.shifts.cash_movement(kind, fen, "test", env.supervisor, _approval(env, kind))
    return shift.id, seed


def _recompute_from_export(rows: list[dict[str, str]]) -> dict[str, Any]:
    """The X report's money figures from the exported rows alone."""
    def i(r: dict[str, str], k: str) -> int:
        return int(r[k] or 0)

    sales = [r for r in rows if r["record"] == "sale"]
    live = [r for r in sales if r["state"] != "voided"]
    live_receipts = {r["receipt_no"] for r in live}
    tenders = [r for r in rows if r["record"] == "tender" and r["receipt_no"] in live_receipts]
    refunds = [r for r in rows if r["record"] == "refund"]
    moves = [r for r in rows if r["record"] == "cash_movement"]
    opening = next(r for r in rows if r["record"] == "shift_open")
    out: dict[str, Any] = {
        "transactions": len(live), "gross_fen": sum(i(r, "amount_fen") for r in live),
        "discount_fen": sum(i(r, "discount_fen") for r in live), "sales_fen": sum(i(r, "total_fen") for r in live),
        "refund_count": len(refunds), "refunds_fen": sum(i(r, "amount_fen") for r in refunds)}
    out["net_fen"] = out["sales_fen"] - out["refunds_fen"]
    out["tenders"] = {}
    for kind in ("cash", "alipay"):
        ts = [t for t in tenders if t["kind"] == kind]
        rs = [r for r in refunds if r["kind"] == kind]
        taken = sum(i(t, "tendered_fen") - i(t, "change_fen") for t in ts)
        out["tenders"][kind] = {"count": len(ts), "amount_fen": sum(i(t, "amount_fen") for t in ts),
                                "taken_fen": taken, "refunds_fen": sum(i(r, "amount_fen") for r in rs),
                                "net_fen": taken - sum(i(r, "amount_fen") for r in rs)}
    mv: dict[str, int] = defaultdict(int)
    for m in moves:
        mv[m["kind"]] += i(m, "amount_fen")
    out["expected_cash_fen"] = (i(opening, "amount_fen") + out["tenders"]["cash"]["taken_fen"]
                                - out["tenders"]["cash"]["refunds_fen"] + mv["pay_in"] - mv["pay_out"] - mv["drop"])
    out["points_earned"] = sum(i(r, "points") for r in live)
    out["points_redeemed"] = sum(i(r, "points_redeemed") for r in live)
    out["line_voids_fen"] = sum(i(r, "amount_fen") for r in rows if r["record"] == "line" and r["state"] == "voided"
                                and r["receipt_no"] in {s["receipt_no"] for s in sales})
    return out


def _from_x(fig: dict[str, Any]) -> dict[str, Any]:
    keys = ("transactions", "gross_fen", "discount_fen", "sales_fen", "refund_count", "refunds_fen", "net_fen")
    out: dict[str, Any] = {k: fig[k] for k in keys}
    out["tenders"] = {k: {f: fig["tenders"][k][f] for f in ("count", "amount_fen", "taken_fen", "refunds_fen",
                                                             "net_fen")} for k in ("cash", "alipay")}
    out["expected_cash_fen"] = fig["cash"]["expected_fen"]
    out["points_earned"] = fig["members"]["points_earned"]
    out["points_redeemed"] = fig["members"]["points_redeemed"]
    out["line_voids_fen"] = fig["line_voids"]["amount_fen"]
    return out


def _export(tmp_path: Path, fmt: str, name: str) -> Path:
    out = tmp_path / name
    assert main(["export", "sales", "--from", DAY, "--to", DAY, "--format", fmt, "--out", str(out),
                 "--data-dir", str(tmp_path)]) == 0
    return out


def test_export_reconciles_with_the_x_report_and_numbers_rows_gap_free(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = make_env(tmp_path / "pos.sqlite3")
    try:
        _day(env)
        x = env.reports.x_report().figures
    finally:
        env.conn.close()
    out = _export(tmp_path, "csv", "day.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
    assert {r["terminal_id"] for r in rows} == {"T01"}
    assert _recompute_from_export(rows) == _from_x(dict(x))
    refund = next(r for r in rows if r["record"] == "refund" and r["kind"] == "alipay")
    member_sale = next(r for r in rows if r["record"] == "sale" and r["card_no"])
    assert refund["receipt_no"] == member_sale["receipt_no"], "a refund is linked to its sale"
    assert any(r["record"] == "points" and r["points"] == "88" for r in rows)
    # the same day again: the same numbers; JSON Lines and XLSX carry the same rows
    again = _export(tmp_path, "jsonl", "day.jsonl")
    lines = [json.loads(line) for line in again.read_text(encoding="utf-8").splitlines()]
    assert [d["seq"] for d in lines] == [int(r["seq"]) for r in rows]
    assert lines[0]["record"] == "shift_open" and lines[0]["amount_fen"] == 50_000
    wb = openpyxl.load_workbook(_export(tmp_path, "xlsx", "day.xlsx"), read_only=True)
    assert sum(1 for _ in wb.active.iter_rows()) == len(rows) + 1
    wb.close()


def test_next_day_continues_the_numbers_and_an_empty_range_is_a_header(tmp_path: Path) -> None:
    env = make_env(tmp_path / "pos.sqlite3")
    try:
        shift_id, seed = _day(env)
        first = _export(tmp_path, "csv", "d1.csv")
        env.clock.advance(24 * 3600)
        seed.sale(shift_id, 1, [("cash", 100, 100)])
    finally:
        env.conn.close()
    d1 = list(csv.DictReader(io.StringIO(first.read_text(encoding="utf-8-sig"))))
    out = tmp_path / "d2.csv"
    assert main(["export", "sales", "--from", "2026-11-26", "--to", "2026-11-26", "--out", str(out),
                 "--data-dir", str(tmp_path)]) == 0
    d2 = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["record"] for r in d2] == ["sale", "line", "tender"]
    assert int(d2[0]["seq"]) == int(d1[-1]["seq"]) + 1
    empty = tmp_path / "none.csv"
    assert main(["export", "sales", "--from", "2026-01-01", "--to", "2026-01-02", "--out", str(empty),
                 "--data-dir", str(tmp_path)]) == 0
    assert empty.read_text(encoding="utf-8-sig").splitlines()[0].startswith("seq,terminal_id,record")
    assert len(empty.read_text(encoding="utf-8-sig").splitlines()) == 1
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_a_file_that_skipped_schema_21_still_exports(tmp_path: Path) -> None:
    """Migrations are applied by highest number: a file at a parallel branch's higher number never ran 21."""
    env = make_env(tmp_path / "pos.sqlite3")
    try:
        _day(env)
        env.conn.execute("DROP TABLE export_seq")
    finally:
        env.conn.close()
    rows = list(csv.DictReader(io.StringIO(_export(tmp_path, "csv", "d.csv").read_text(encoding="utf-8-sig"))))
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1)) and rows[0]["record"] == "shift_open"
