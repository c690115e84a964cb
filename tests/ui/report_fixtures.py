"""A report's figures with every kind of row (movements, voids, counts, sync, approvals) for label tests."""

from __future__ import annotations

from typing import Any

__all__ = ["full_figures"]


def full_figures(kind: str = "Z") -> dict[str, Any]:
    """Figures shaped like ``ReportRepository.figures`` plus the Z-only parts, with one of each list item."""
    at = "2026-11-25T02:30:00+00:00"
    return {
        "kind": kind, "z_number": 3 if kind == "Z" else None, "terminal_id": "T01", "shift_id": 1,
        "shift_number": 4, "state": "closed", "opened_by": "王小明", "opened_at": "2026-11-25T01:00:00+00:00",
        "closed_by": "王小明", "closed_at": at, "printed_by": "Sup Li", "printed_at": at,
        "transactions": 2, "gross_fen": 3600, "discount_fen": 100, "sales_fen": 3500, "refund_count": 1,
        "refunds_fen": 500, "refunds_earlier_count": 1, "refunds_earlier_fen": 200, "refunds_unsettled_count": 1,
        "refunds_unsettled_fen": 300, "net_fen": 3000,
        "tenders": {"cash": {"count": 1, "amount_fen": 1000, "tendered_fen": 2000, "change_fen": 1000,
                             "taken_fen": 1000, "refund_count": 1, "refunds_fen": 500, "net_fen": 500},
                    "alipay": {"count": 1, "amount_fen": 2500, "tendered_fen": 2500, "change_fen": 0,
                               "taken_fen": 2500, "refund_count": 0, "refunds_fen": 0, "net_fen": 2500}},
        "cash": {"opening_float_fen": 10000, "taken_fen": 1000, "refunds_fen": 500, "pay_in_count": 1,
                 "pay_in_fen": 500, "pay_out_count": 1, "pay_out_fen": 2000, "drop_count": 1, "drop_fen": 5000,
                 "no_sale_count": 1, "expected_fen": 4000},
        "movements": [
            {"kind": "pay_in", "reason": "change", "user": "王小明", "approved_by": "", "at": at, "amount_fen": 500},
            {"kind": "pay_out", "reason": "milk", "user": "王小明", "approved_by": "Sup Li", "at": at,
             "amount_fen": 2000},
            {"kind": "drop", "reason": "safe", "user": "王小明", "approved_by": "", "at": at, "amount_fen": 5000},
            {"kind": "no_sale", "reason": "coins", "user": "王小明", "approved_by": "Sup Li", "at": at,
             "amount_fen": 0}],
        "count": {"cash": {"expected_fen": 4000, "counted_fen": 3900, "difference_fen": -100,
                           "denominations": {"2000": 1, "1000": 1, "100": 9}},
                  "alipay": {"expected_fen": 2500, "counted_fen": 2500, "difference_fen": 0, "counted": False}},
        "voided_sales": {"count": 1, "total_fen": 800,
                         "items": [{"receipt_no": "R00000009", "cashier": "王小明", "approved_by": "Sup Li",
                                    "total_fen": 800}]},
        "line_voids": {"count": 1, "amount_fen": 200,
                       "items": [{"receipt_no": "R00000002", "line_no": 1, "name": "农夫山泉", "quantity": 1,
                                  "reason": "wrong item", "voided_by": "王小明", "amount_fen": 200}]},
        "cashiers": [{"user": "王小明", "transactions": 2, "sales_fen": 3500, "cash_fen": 1000, "alipay_fen": 2500,
                      "refund_count": 1, "refunds_fen": 500, "movement_count": 4}],
        "members": {"sales_count": 1, "sales_fen": 2500, "points_earned": 25, "points_redeemed": 100,
                    "points_reversed": 5, "points_restored": 0},
        "sync": {"pending": 1, "oldest_pending_at": at, "oldest_pending_age_s": 3900, "dead": 1, "discarded": 0,
                 "items": [{"id": 7, "kind": "card.update", "card": "****1214", "attempts": 3, "created_at": at}]},
        "unsettled_payments": [{"out_trade_no": "T01-000001", "state": "unknown", "cashier": "王小明",
                                "amount_fen": 1200}],
        "failed_payments": [{"out_trade_no": "T01-000003", "state": "failed", "cashier": "王小明",
                             "amount_fen": 500, "at": at}],
        "escalated_payments": [{"out_trade_no": "T01-000002", "state": "unknown", "amount_fen": 300}],
        "approvals": [{"action": "refund", "subject": "R00000001", "approved_by": "Sup Li", "requested_by": "王小明",
                       "reason_code": "customer_return", "note": "", "at": at}],
        "last_receipt": {"receipt_no": "R00000002", "hash": "abc123"},
        "hours": [{"hour": 9, "count": 2, "cash_fen": 1000, "alipay_fen": 2500}],
        "tax": [{"rate_bp": 1300, "sales_fen": 2260, "tax_fen": 260, "net_ex_tax_fen": 2000},
                {"rate_bp": 900, "sales_fen": 1240, "tax_fen": 102, "net_ex_tax_fen": 1138}],
        "tax_fen": 362,
        "categories": [{"category": "dairy", "lines": 2, "sales_fen": 1240, "tax_fen": 102},
                       {"category": "", "lines": 1, "sales_fen": 2260, "tax_fen": 260}],
        "discounts": [{"kind": "promotion", "ref": "MJ100", "label": "满100减20", "sales": 1, "amount_fen": 60},
                      {"kind": "manual", "ref": "DAMAGED", "label": "manual discount", "sales": 1, "amount_fen": 40}],
        "rounding_fen": 0,
    }
