"""Every branch of the payment algorithm against the sandbox gateway over real HTTP, with a real SQLite file."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from checkout_env import BREAD, FAST, MEMBER

from pos_app.alipay.client import AlipayClient
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService
from pos_app.services.errors import PaymentError, PaymentsBlocked
from pos_app.services.payment import PaymentProgress, PaymentService
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork
from pos_app.ui.i18n import Translator
from pos_app.ui.messages import format_reason

_codes = itertools.count(1)


def code() -> str:
    return f"28{next(_codes):015d}"


def _begin(payments: PaymentService, amount: int = 1200, basket: dict[str, Any] | None = None) -> Any:
    return payments.begin(amount, _last_code, "Demo Shop", shift_id=1, cashier_id=1, basket=basket or {})


_last_code = ""


def start(payments: PaymentService, sandbox: SandboxServer, behaviour: str = "success", amount: int = 1200,
          **script: Any) -> tuple[Any, str]:
    global _last_code
    _last_code = code()
    if behaviour != "success":
        sandbox.script_auth_code(_last_code, behaviour, **script)
    return _begin(payments, amount), _last_code


def test_success_is_written_ahead_and_paid(payments: PaymentService, sandbox: SandboxServer, db: Path) -> None:
    att, auth = start(payments, sandbox)
    conn = connect(db)
    row = conn.execute("SELECT state, auth_code_masked, out_trade_no FROM payment_attempts WHERE id = ?",
                       (att.id,)).fetchone()
    assert row[0] == "sending" and row[1].endswith(auth[-4:]) and auth not in row[1]
    assert sandbox.trade(att.out_trade_no) is None  # nothing sent yet
    seen: list[PaymentProgress] = []
    out = payments.run(att.id, auth, on_progress=seen.append)
    assert out.paid and out.trade_no and out.attempt.state == "paid"
    assert seen[0].stage == "sending"
    assert sandbox.trade(att.out_trade_no)["status"] == "TRADE_SUCCESS"
    assert conn.execute("SELECT state FROM payment_attempts WHERE id = ?", (att.id,)).fetchone()[0] == "paid"
    conn.close()


def test_wait_then_success(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox, "wait_then_success", queries=2)
    seen: list[PaymentProgress] = []
    out = payments.run(att.id, auth, on_progress=seen.append)
    assert out.paid
    waiting = [p for p in seen if p.stage == "waiting"]
    assert waiting and "waiting for the customer to confirm in Alipay" in waiting[0].message
    assert waiting[-1].poll == 2 and waiting[-1].polls_max == FAST.query_max
    assert out.attempt.polls == 2


def test_give_up_while_waiting_cancels(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox, "wait_forever")
    give_up = threading.Event()

    def progress(p: PaymentProgress) -> None:
        if p.stage == "waiting":
            give_up.set()

    out = payments.run(att.id, auth, on_progress=progress, give_up=give_up)
    assert out.state == "cancelled" and "no money was taken" in out.message
    assert sandbox.trade(att.out_trade_no)["status"] == "TRADE_CLOSED"


def test_never_confirmed_is_cancelled_after_polls(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox, "wait_forever")
    out = payments.run(att.id, auth)
    assert out.state == "cancelled" and out.attempt.polls == FAST.query_max
    assert sandbox.trade(att.out_trade_no)["status"] == "TRADE_CLOSED"


@pytest.mark.parametrize(("behaviour", "words"), [
    ("balance_not_enough", "the customer's balance is not enough"),
    ("invalid", "the payment code has expired: ask the customer to refresh it"),
])
def test_definite_failures(payments: PaymentService, sandbox: SandboxServer, behaviour: str, words: str) -> None:
    att, auth = start(payments, sandbox, behaviour)
    out = payments.run(att.id, auth)
    assert out.state == "failed" and out.reason.code == "payment.failed"
    assert words in format_reason(Translator("en"), out.reason)      # worded by the UI from the reason code
    assert out.attempt.fail_sub_code.startswith("ACQ.") and out.reason.get("code") == out.attempt.fail_sub_code


@pytest.mark.parametrize(("fault", "expected"), [
    ("unavailable", "cancelled"),     # 20000, not applied: query finds nothing, cancel closes it
    ("system_error", "cancelled"),    # ACQ.SYSTEM_ERROR: query path
    ("refuse", "cancelled"),          # no answer at all
    ("http500", "cancelled"),
    ("throttle", "cancelled"),
    ("truncated", "paid"),            # applied, answer unparsable: the query proves it was paid
    ("wrong_key", "paid"),            # applied, signature fails: unknown -> query -> paid
    ("tamper_body", "paid"),
])
def test_pay_faults(payments: PaymentService, sandbox: SandboxServer, fault: str, expected: str) -> None:
    att, auth = start(payments, sandbox)
    sandbox.inject_fault(fault, "alipay.trade.pay")
    out = payments.run(att.id, auth)
    assert out.state == expected
    trade = sandbox.trade(att.out_trade_no)
    if expected == "paid":
        assert trade["status"] == "TRADE_SUCCESS"
    else:
        assert trade is None or trade["status"] == "TRADE_CLOSED"


def test_slow_pay_applied_then_timeout_is_found_paid(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox)
    sandbox.inject_fault("slow", "alipay.trade.pay", delay_s=1.5)  # client read timeout is 0.5 s
    seen: list[PaymentProgress] = []
    out = payments.run(att.id, auth, on_progress=seen.append)
    assert out.paid
    assert any(p.stage == "checking" and "do not hand over goods" in p.message for p in seen)


def test_cancel_retry_flag_is_retried(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox, "wait_forever")
    sandbox.inject_fault("cancel_retry", "alipay.trade.cancel", count=2)
    out = payments.run(att.id, auth)
    assert out.state == "cancelled" and out.attempt.cancel_tries == 3


def test_cancel_retries_exhausted_is_unknown(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox, "wait_forever")
    sandbox.inject_fault("cancel_retry", "alipay.trade.cancel", count=None)
    out = payments.run(att.id, auth)
    assert out.state == "unknown" and out.attempt.cancel_tries == FAST.cancel_max + 1
    assert "do not hand over goods" in out.message


def test_paid_then_cancelled_is_refunded(payments: PaymentService, sandbox: SandboxServer) -> None:
    """Pay answered with an unknown outcome though applied, and the query too: the cancel refunds it."""
    att, auth = start(payments, sandbox)
    sandbox.inject_fault("refuse", "alipay.trade.pay", apply=True)
    sandbox.inject_fault("refuse", "alipay.trade.query")
    out = payments.run(att.id, auth)
    assert out.state == "cancelled_refunded" and "returned" in out.message
    assert sandbox.trade(att.out_trade_no)["status"] == "TRADE_CLOSED"


def test_gateway_down_mid_payment_then_recover(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox, "wait_forever")
    sandbox.inject_fault("refuse", "alipay.trade.query", count=None)
    sandbox.inject_fault("refuse", "alipay.trade.cancel", count=None)
    out = payments.run(att.id, auth)
    assert out.state == "unknown"
    assert payments.recover()[0].state == "unknown"  # still unreachable: stays unknown
    sandbox.clear_faults()
    outcomes = payments.recover()
    assert [o.state for o in outcomes] == ["cancelled"]
    assert sandbox.trade(att.out_trade_no)["status"] == "TRADE_CLOSED"


def test_resent_pay_trade_has_success(payments: PaymentService, sandbox: SandboxServer,
                                      client: AlipayClient) -> None:
    att, auth = start(payments, sandbox)
    first = client.pay(att.out_trade_no, auth, att.amount_fen, att.subject, store_id=None, terminal_id=None,
                       operator_id=None)
    assert first.__class__.__name__ == "GatewaySuccess"
    out = payments.run(att.id, auth)  # the re-send answers ACQ.TRADE_HAS_SUCCESS; a query confirms the amount
    assert out.paid and out.trade_no == sandbox.trade(att.out_trade_no)["trade_no"]


def test_new_payment_blocked_until_recovered(payments: PaymentService, sandbox: SandboxServer) -> None:
    att, auth = start(payments, sandbox)
    with pytest.raises(PaymentsBlocked):
        start(payments, sandbox)
    assert [o.state for o in payments.recover()] == ["cancelled"]  # never sent: closed ahead
    start(payments, sandbox)


def test_bad_code_and_amount_refused(payments: PaymentService) -> None:
    with pytest.raises(PaymentError):
        payments.begin(100, "8800000000000001", "x", shift_id=1, cashier_id=1, basket={})
    with pytest.raises(PaymentError):
        payments.begin(0, "28763443825664394", "x", shift_id=1, cashier_id=1, basket={})


def test_orphan_complete_and_refund(payments: PaymentService, sandbox: SandboxServer, client: AlipayClient,
                                    checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork], db: Path) -> None:
    from pos_app.domain.codes import classify
    from pos_app.services.members import MemberService

    # a paid attempt whose sale was never committed (the terminal died after pay)
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(BREAD))
    sale.attach_member(MemberService(uow, None, checkout._clock).get(MEMBER).ref())  # type: ignore[union-attr]
    att, auth = start(payments, sandbox, amount=sale.totals().payable_fen)
    # replace the basket: store it like the UI does
    conn = connect(db)
    import json
    conn.execute("UPDATE payment_attempts SET basket_json = ? WHERE id = ?",
                 (json.dumps(checkout.basket_of(sale)), att.id))
    conn.close()
    client.pay(att.out_trade_no, auth, att.amount_fen, att.subject, store_id=None, terminal_id=None, operator_id=None)
    assert [o.state for o in payments.recover()] == ["paid"]
    assert [o.id for o in payments.orphans()] == [att.id]
    committed = payments.resolve_orphan(att.id, "complete", 2, by_user_name="Sam")
    assert payments.orphans() == []
    conn = connect(db)
    assert conn.execute("SELECT sale_id, resolution FROM payment_attempts WHERE id = ?", (att.id,)).fetchone()[1] \
        == "completed"
    assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'payment.orphan_completed'").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM points_ledger WHERE kind = 'earn'").fetchone()[0] == 1
    assert committed.sale_id  # type: ignore[union-attr]

    # a second orphan, refunded
    att2, auth2 = start(payments, sandbox, amount=500)
    client.pay(att2.out_trade_no, auth2, 500, att2.subject, store_id=None, terminal_id=None, operator_id=None)
    payments.recover()
    out = payments.resolve_orphan(att2.id, "refund", 2)
    assert "refunded" in out.message  # type: ignore[union-attr]
    assert sandbox.trade(att2.out_trade_no)["refund_fen"] == 500
    assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'payment.orphan_refunded'").fetchone()[0] == 1
    assert payments.orphans() == []
    conn.close()
