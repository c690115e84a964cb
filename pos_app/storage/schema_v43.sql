-- counter (issue 14): exchanges (换货) — goods of an earlier sale returned against a new sale on one ticket.
-- The return itself is recorded as refunds of the earlier sale (credit_refund_id: the part of its worth that
-- paid the new sale; back_refund_id: the difference given back, in cash or to Alipay).
CREATE TABLE exchanges (
    id               INTEGER PRIMARY KEY,
    original_sale_id INTEGER NOT NULL REFERENCES sales (id),
    new_sale_id      INTEGER NOT NULL UNIQUE REFERENCES sales (id),
    credit_refund_id INTEGER NOT NULL REFERENCES refunds (id),
    back_refund_id   INTEGER REFERENCES refunds (id),
    returned_fen     INTEGER NOT NULL CHECK (returned_fen > 0),   -- what the returned goods were paid
    new_fen          INTEGER NOT NULL,                            -- the new sale's total
    difference_fen   INTEGER NOT NULL,                            -- new - returned: > 0 paid, < 0 given back
    back_method      TEXT NOT NULL CHECK (back_method IN ('cash', 'alipay')),
    approved_by      INTEGER REFERENCES users (id),
    lines_json       TEXT NOT NULL DEFAULT '[]',                  -- [[line_no, qty], ...] of the earlier sale
    created_at       TEXT NOT NULL
);
CREATE INDEX exchanges_original ON exchanges (original_sale_id);
