"""Store-wide figures from the server tables: store X (any time, any lane) and the store day close (Z).

Reads go through any role with the reader grants (lane roles have them). Filed by each event's own
business_date (the store's day, GMT+8), never by the day it arrived.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pos_app.services.ports.store_reports import IncompleteLane

from .errors import StoreCloseRefused

__all__ = ["store_figures", "close_day", "stored_z", "render", "status", "incomplete_lanes"]

STORE_TZ = dt.timezone(dt.timedelta(hours=8))


def _rows(conn: psycopg.Connection[Any], query: bytes, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return list(conn.execute(query, params).fetchall())


def store_figures(conn: psycopg.Connection[Any], first: dt.date, last: dt.date | None = None) -> dict[str, Any]:
    """Figures for business dates first..last (inclusive), in one REPEATABLE READ snapshot."""
    last = last or first
    p = (first, last)
    with conn.transaction():
        conn.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # per-day rollups kept in the ingest's transaction (store schema 40): the same sums as over pos.sale /
        # pos.tender, without reading every sale (1.3 M for 50 lanes × 30 days)
        lanes = _rows(conn, b"""
            SELECT l.name, coalesce(sum(d.sales), 0), coalesce(sum(d.total_fen), 0)
              FROM pos.lane l LEFT JOIN pos.day_lane d ON d.lane_id = l.lane_id AND d.business_date BETWEEN %s AND %s
             GROUP BY l.name ORDER BY l.name""", p)
        refunds = dict(_rows(conn, b"""
            SELECT l.name, coalesce(sum(r.amount_fen), 0) FROM pos.refund r JOIN pos.lane l USING (lane_id)
             WHERE r.business_date BETWEEN %s AND %s GROUP BY l.name""", p))
        tenders = _rows(conn, b"""
            SELECT l.name, t.kind, sum(t.amount_fen) FROM pos.day_tender t JOIN pos.lane l USING (lane_id)
             WHERE t.business_date BETWEEN %s AND %s GROUP BY l.name, t.kind ORDER BY 1, 2""", p)
        cashiers = _rows(conn, b"""
            SELECT cashier, sum(sales), sum(total_fen) FROM pos.day_cashier WHERE business_date BETWEEN %s AND %s
             GROUP BY cashier ORDER BY cashier""", p)
        members = _rows(conn, b"""
            SELECT (SELECT count(DISTINCT member_id) FROM pos.day_member WHERE business_date BETWEEN %s AND %s),
                   coalesce(sum(points_earned), 0), coalesce(sum(points_redeemed), 0)
              FROM pos.day_lane WHERE business_date BETWEEN %s AND %s""", p + p)[0]
        behind = _rows(conn, b"""
            SELECT l.name, c.acked_seq, c.backlog, c.last_seen_at, c.lane_clock_skew_ms
              FROM pos.lane l JOIN pos.lane_epoch c ON c.lane_id = l.lane_id AND c.state = 'current'
             ORDER BY l.name""", ())
        exceptions = _rows(conn, b"""
            SELECT member_id, kind, balance_after, created_at FROM pos.points_exception
             WHERE resolved_at IS NULL ORDER BY id""", ())
        notices = _rows(conn, b"""
            SELECT n.id, l.name, n.kind, n.detail, n.created_at FROM pos.lane_notice n JOIN pos.lane l USING (lane_id)
             WHERE n.reviewed_at IS NULL ORDER BY n.id""", ())
        incomplete = conn.execute(b"SELECT pos.incomplete_lanes(%s)", (last,)).fetchone()
    tender_by_lane: dict[str, dict[str, int]] = {}
    for lane, kind, amount in tenders:
        tender_by_lane.setdefault(lane, {})[kind] = int(amount)
    return {
        "first": first.isoformat(), "last": last.isoformat(),
        "lanes": [{"lane": n, "sales": int(c), "total_fen": int(t), "refunds_fen": int(refunds.get(n, 0)),
                   "tenders": tender_by_lane.get(n, {})} for n, c, t in lanes],
        "total_fen": sum(int(t) for _, _, t in lanes),
        "sales": sum(int(c) for _, c, _ in lanes),
        "refunds_fen": sum(int(v) for v in refunds.values()),
        "tenders": {k: sum(d.get(k, 0) for d in tender_by_lane.values())
                    for k in sorted({k for d in tender_by_lane.values() for k in d})},
        "cashiers": [{"cashier": c, "sales": int(n), "total_fen": int(t)} for c, n, t in cashiers],
        "members": {"count": int(members[0]), "points_earned": int(members[1]), "points_redeemed": int(members[2])},
        "lanes_state": [{"lane": n, "acked_seq": int(a), "backlog": int(b),
                         "last_seen_at": s.isoformat() if s else None, "clock_skew_ms": k}
                        for n, a, b, s, k in behind],
        "incomplete_lanes": incomplete[0] if incomplete else [],
        "exceptions": [{"member_id": m, "kind": k, "balance_after": int(b), "at": a.isoformat()}
                       for m, k, b, a in exceptions],
        "notices": [{"id": int(i), "lane": n, "kind": k, "detail": d, "at": a.isoformat()}
                    for i, n, k, d, a in notices],
    }


def close_day(conn: psycopg.Connection[Any], day: dt.date, closed_by: str, override_reason: str = "") -> dict[str, Any]:
    """The store Z: refused while a lane that traded that day is incomplete, unless a reason is given
    (then marked provisional, with the missing lanes). Returns the figures and the server's answer."""
    figures = store_figures(conn, day)
    answer = conn.execute(b"SELECT pos.store_close_day(%s, %s, %s, %s)",
                          (day, Jsonb(figures), closed_by, override_reason)).fetchone()
    assert answer is not None
    result: dict[str, Any] = answer[0]
    if not result.get("ok"):
        reason = str(result.get("reason"))
        if reason == "incomplete":
            missing = incomplete_lanes(result.get("missing_lanes", []))
            names = ", ".join(m.lane for m in missing)
            raise StoreCloseRefused(f"store Z for {day} refused: lanes not complete on the server: {names} "
                                    "(close their shifts and let them sync, or give an override reason)",
                                    reason, missing)
        raise StoreCloseRefused(f"store Z for {day} refused: {reason}", reason)
    return {**figures, "provisional": result["provisional"], "missing_lanes": result["missing_lanes"]}


def stored_z(conn: psycopg.Connection[Any], day: dt.date) -> dict[str, Any] | None:
    """The store Z recorded for ``day`` (its figures as stored, with who closed it, when and how), or None."""
    row = conn.execute(b"SELECT figures, provisional, missing_lanes, override_reason, closed_by, created_at "
                       b"FROM pos.store_z WHERE business_date = %s", (day,)).fetchone()
    if row is None:
        return None
    figures, provisional, missing, reason, by, at = row
    return {**figures, "provisional": bool(provisional), "missing_lanes": missing, "override_reason": reason,
            "closed_by": by, "closed_at": at.isoformat()}


def incomplete_lanes(rows: list[dict[str, Any]]) -> tuple[IncompleteLane, ...]:
    """The server's list of incomplete lanes (pos.incomplete_lanes), typed."""
    return tuple(IncompleteLane(str(m["lane"]), _int_or_none(m.get("acked_seq")), _int_or_none(m.get("last_seq_of_day")))
                 for m in rows)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def render(fig: dict[str, Any], title: str) -> str:
    """Plain text for the terminal and the CLI."""
    span = fig["first"] if fig["first"] == fig["last"] else f"{fig['first']} .. {fig['last']}"
    out = [f"{title} {span}"]
    if fig.get("provisional"):
        out.append("PROVISIONAL: lanes missing: " + ", ".join(m["lane"] for m in fig.get("missing_lanes", [])))
    out.append(f"sales {fig['sales']}  total {_yuan(fig['total_fen'])}  refunds {_yuan(fig['refunds_fen'])}")
    out.append("tenders: " + ", ".join(f"{k} {_yuan(v)}" for k, v in fig["tenders"].items()))
    out.append("per lane:")
    for ln in fig["lanes"]:
        tend = ", ".join(f"{k} {_yuan(v)}" for k, v in ln["tenders"].items())
        out.append(f"  {ln['lane']:<12} {ln['sales']:>6} sales  {_yuan(ln['total_fen']):>12}  {tend}")
    out.append("per cashier:")
    for c in fig["cashiers"]:
        out.append(f"  {c['cashier']:<12} {c['sales']:>6} sales  {_yuan(c['total_fen']):>12}")
    m = fig["members"]
    out.append(f"members {m['count']}  points earned {m['points_earned']}  redeemed {m['points_redeemed']}")
    out.append("lanes (synced / waiting / last heard):")
    for s in fig["lanes_state"]:
        seen = dt.datetime.fromisoformat(s["last_seen_at"]).astimezone(STORE_TZ).strftime("%m-%d %H:%M:%S") \
            if s["last_seen_at"] else "never"
        out.append(f"  {s['lane']:<12} seq {s['acked_seq']:>8}  waiting {s['backlog']:>5}  {seen}")
    if fig["incomplete_lanes"]:
        out.append("not complete on the server: " + ", ".join(m["lane"] for m in fig["incomplete_lanes"]))
    for e in fig["exceptions"]:
        out.append(f"EXCEPTION {e['kind']}: member ...{e['member_id'][-4:]} balance {e['balance_after']}")
    for n in fig["notices"]:
        out.append(f"NOTICE {n['lane']}: {n['kind']} {n['detail']}")
    return "\n".join(out)


def status(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """``store status``: lanes, backlog, lag, last heartbeat, card queue."""
    lanes = _rows(conn, b"""
        SELECT l.name, l.role_name, c.lane_epoch, c.acked_seq, c.backlog, c.last_seen_at,
               (SELECT max(received_at) FROM pos.event e WHERE e.lane_id = l.lane_id) AS last_event,
               c.lane_clock_skew_ms, c.resends
          FROM pos.lane l LEFT JOIN pos.lane_epoch c ON c.lane_id = l.lane_id AND c.state = 'current'
         ORDER BY l.name""", ())
    queue = dict(_rows(conn, b"SELECT state, count(*) FROM pos.card_outbox GROUP BY state", ()))
    oldest = conn.execute(b"SELECT min(created_at) FROM pos.card_outbox WHERE state = 'pending'").fetchone()
    notices = conn.execute(b"SELECT count(*) FROM pos.lane_notice WHERE reviewed_at IS NULL").fetchone()
    return {
        "lanes": [{"lane": n, "role": r, "epoch": str(e) if e else None, "acked_seq": a, "backlog": b,
                   "last_heartbeat": h.isoformat() if h else None, "last_event": le.isoformat() if le else None,
                   "clock_skew_ms": k, "resends": rs}
                  for n, r, e, a, b, h, le, k, rs in lanes],
        "card_queue": {str(k): int(v) for k, v in queue.items()},
        "card_queue_oldest_pending": oldest[0].isoformat() if oldest and oldest[0] else None,
        "unreviewed_notices": int(notices[0]) if notices else 0,
    }
