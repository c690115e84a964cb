"""The sandbox's admin HTTP API (JSON): trades, cards, member codes, scripts, faults, clock, log, reset."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .faults import FAULT_KINDS
from .state import BEHAVIOURS, SandboxError

if TYPE_CHECKING:
    from .server import SandboxServer

__all__ = ["handle_admin", "ROUTES"]

Handler = Callable[["SandboxServer", Mapping[str, str], Mapping[str, Any], re.Match[str]], tuple[int, Any]]


def _info(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, s.info()


def _trades(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, s.trades()


def _trade(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    key = m.group(1)
    for t in s.trades():
        if key in (t["out_trade_no"], t["trade_no"]):
            return 200, t
    return 404, {"error": f"no trade {key}"}


def _make_trade(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    if not isinstance(b.get("amount"), str):
        return 400, {"error": 'amount is required, as a string in yuan ("12.50")'}
    return 200, s.make_trade(str(b["amount"]), out_trade_no=b.get("out_trade_no"),
                             subject=str(b.get("subject") or "admin trade"), store_id=b.get("store_id"),
                             terminal_id=b.get("terminal_id"))


def _cards(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, s.cards()


def _card(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    key = m.group(1)
    for c in s.cards():
        if key in (c["biz_card_no"], c["external_card_no"]):
            return 200, c
    return 404, {"error": f"no card {key}"}


def _issue(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    card_no = b.get("card_no") or b.get("external_card_no")
    if not card_no:
        return 400, {"error": "card_no is required"}
    card = s.issue_card(external_card_no=str(card_no), name=str(b.get("name") or ""), phone=str(b.get("phone") or ""),
                        level=str(b.get("level") or ""), points=int(b.get("points") or 0),
                        balance=str(b.get("balance") or "0.00"))
    return 200, card


def _member_code(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    key = m.group(1)
    biz = next((c["biz_card_no"] for c in s.cards() if key in (c["biz_card_no"], c["external_card_no"])), key)
    return 200, s.mint_member_code(biz, ttl_s=float(b.get("ttl_s", 120)))


def _script(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    if not b.get("auth_code") or b.get("behaviour") not in BEHAVIOURS:
        return 400, {"error": f"auth_code and behaviour ({', '.join(BEHAVIOURS)}) are required"}
    return 200, s.script_auth_code(str(b["auth_code"]), str(b["behaviour"]), queries=int(b.get("queries", 1)),
                                   after_s=b.get("after_s"), buyer_user_id=b.get("buyer_user_id"),
                                   sub_code=b.get("sub_code"), sub_msg=b.get("sub_msg"))


def _faults(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, s.faults()


def _add_fault(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    if b.get("kind") not in FAULT_KINDS:
        return 400, {"error": f"kind must be one of {', '.join(FAULT_KINDS)}"}
    fault = s.inject_fault(str(b["kind"]), str(b.get("method") or "*"), count=b.get("count", 1),
                           probability=float(b.get("probability", 1.0)), seed=b.get("seed"),
                           delay_s=float(b.get("delay_s", 2.0)), apply=b.get("apply"))
    return 200, fault


def _clear_faults(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    s.clear_faults()
    return 200, {"faults": []}


def _clock(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, {"now": s.now().strftime("%Y-%m-%d %H:%M:%S"), "timezone": "GMT+8"}


def _set_clock(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    when = None
    if b.get("now"):
        when = dt.datetime.strptime(str(b["now"]), "%Y-%m-%d %H:%M:%S")
    now = s.set_clock(when, advance_s=float(b["advance_s"]) if b.get("advance_s") is not None else None)
    return 200, {"now": now.strftime("%Y-%m-%d %H:%M:%S"), "timezone": "GMT+8"}


def _config(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, s.configure(**dict(b))


def _requests(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    log = s.request_log()
    limit = int(q.get("limit", "0") or 0)
    if q.get("method"):
        log = [e for e in log if e["method"] == q["method"]]
    return 200, log[-limit:] if limit else log


def _reset(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    s.reset(seed_demo=bool(b.get("seed_demo", False)))
    return 200, {"reset": True}


def _notifications(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    return 200, s.notification_log()


def _redeliver(s: SandboxServer, q: Mapping[str, str], b: Mapping[str, Any], m: re.Match[str]) -> tuple[int, Any]:
    if s.redeliver_notification(m.group(1)):
        return 200, {"redelivering": m.group(1)}
    return 404, {"error": f"no notification {m.group(1)}"}


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", r"", _info),
    ("GET", r"/trades", _trades),
    ("POST", r"/trades", _make_trade),
    ("GET", r"/trades/([^/]+)", _trade),
    ("GET", r"/cards", _cards),
    ("POST", r"/cards", _issue),
    ("GET", r"/cards/([^/]+)", _card),
    ("POST", r"/cards/([^/]+)/member-code", _member_code),
    ("POST", r"/auth-codes", _script),
    ("GET", r"/faults", _faults),
    ("POST", r"/faults", _add_fault),
    ("DELETE", r"/faults", _clear_faults),
    ("GET", r"/clock", _clock),
    ("POST", r"/clock", _set_clock),
    ("POST", r"/config", _config),
    ("GET", r"/requests", _requests),
    ("GET", r"/notifications", _notifications),
    ("POST", r"/notifications/([^/]+)/redeliver", _redeliver),
    ("POST", r"/reset", _reset),
]


def handle_admin(server: SandboxServer, http_method: str, sub_path: str, query: Mapping[str, str],
                 body: Mapping[str, Any]) -> tuple[int, Any]:
    """Route one admin request; ``sub_path`` is the path after ``/admin`` without a trailing slash."""
    for verb, pattern, handler in ROUTES:
        m = re.fullmatch(pattern, sub_path)
        if m is not None and verb == http_method:
            try:
                return handler(server, query, body, m)
            except (SandboxError, ValueError, TypeError, KeyError) as exc:
                return 400, {"error": str(exc)}
    return 404, {"error": f"no admin route {http_method} /admin{sub_path}"}
