-- Schema version 1: the whole terminal. Times are ISO-8601 UTC text ("2026-11-25T10:00:00.123456+00:00")
-- unless named *_mono/*_epoch. Money columns end in _fen and are INTEGER. Points are INTEGER.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,          -- what the cashier keys at login
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('cashier', 'supervisor', 'admin')),
    pin_hash        TEXT NOT NULL,                 -- scrypt$n$r$p$salt_b64$hash_b64
    card_code       TEXT UNIQUE,                   -- supervisor card that may replace the number
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE catalogue_items (
    code            TEXT PRIMARY KEY,              -- EAN/UPC or in-store item code
    sku             TEXT NOT NULL DEFAULT '',
    name_zh         TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    price_fen       INTEGER NOT NULL CHECK (price_fen >= 0),
    unit            TEXT NOT NULL DEFAULT 'each' CHECK (unit IN ('each', 'kg')),
    category        TEXT NOT NULL DEFAULT '',
    points_excluded INTEGER NOT NULL DEFAULT 0 CHECK (points_excluded IN (0, 1)),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE INDEX catalogue_name_zh ON catalogue_items (name_zh);
CREATE INDEX catalogue_name_en ON catalogue_items (name_en COLLATE NOCASE);

-- Local member cache. The points ledger is the truth for points this terminal moves;
-- points_synced is what the Alipay card is known to show (updated by the sync worker).
CREATE TABLE members (
    card_no        TEXT PRIMARY KEY,               -- external_card_no (static card number)
    biz_card_no    TEXT UNIQUE,                    -- Alipay biz_card_no, once known
    name           TEXT NOT NULL,
    phone          TEXT NOT NULL DEFAULT '',
    level          TEXT NOT NULL,
    points_synced  INTEGER NOT NULL DEFAULT 0,
    user_id        TEXT NOT NULL DEFAULT '',       -- Alipay 2088... user id, if known
    refreshed_at   TEXT,                           -- last time the gateway confirmed this record
    updated_at     TEXT NOT NULL
);
CREATE INDEX members_phone ON members (phone);

CREATE TABLE shifts (
    id                 INTEGER PRIMARY KEY,
    terminal_id        TEXT NOT NULL,
    number             INTEGER NOT NULL,           -- sequential per terminal
    state              TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    opened_by          INTEGER NOT NULL REFERENCES users (id),
    opened_at          TEXT NOT NULL,
    opening_float_fen  INTEGER NOT NULL CHECK (opening_float_fen >= 0),
    opening_count_json TEXT NOT NULL DEFAULT '{}', -- {"10000": 2, ...} denomination (fen) -> count
    closed_by          INTEGER REFERENCES users (id),
    closed_at          TEXT,
    UNIQUE (terminal_id, number)
);
CREATE UNIQUE INDEX shifts_one_open ON shifts (terminal_id) WHERE state = 'open';

CREATE TABLE shift_cashiers (                      -- who worked the till, and when (cashier change)
    id         INTEGER PRIMARY KEY,
    shift_id   INTEGER NOT NULL REFERENCES shifts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    started_at TEXT NOT NULL,
    ended_at   TEXT
);

CREATE TABLE cash_movements (
    id          INTEGER PRIMARY KEY,
    shift_id    INTEGER NOT NULL REFERENCES shifts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('pay_in', 'pay_out', 'drop', 'no_sale')),
    amount_fen  INTEGER NOT NULL CHECK (amount_fen >= 0),
    reason      TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    approved_by INTEGER REFERENCES users (id),
    created_at  TEXT NOT NULL
);

CREATE TABLE sales (
    id                  INTEGER PRIMARY KEY,
    receipt_no          TEXT NOT NULL UNIQUE,      -- the receipt code printed as Code128
    shift_id            INTEGER NOT NULL REFERENCES shifts (id),
    terminal_id         TEXT NOT NULL,
    cashier_id          INTEGER NOT NULL REFERENCES users (id),
    card_no             TEXT REFERENCES members (card_no),
    state               TEXT NOT NULL CHECK (state IN ('paid', 'voided', 'refunded', 'partly_refunded')),
    gross_fen           INTEGER NOT NULL,          -- sum of non-voided line amounts
    discount_fen        INTEGER NOT NULL DEFAULT 0,-- points redeemed as money (and any other discount)
    total_fen           INTEGER NOT NULL,          -- what the customer paid
    points_redeemed     INTEGER NOT NULL DEFAULT 0,
    points_earned       INTEGER NOT NULL DEFAULT 0,
    earn_explanation    TEXT NOT NULL DEFAULT '',
    refunded_fen        INTEGER NOT NULL DEFAULT 0,
    started_at          TEXT NOT NULL,
    committed_at        TEXT NOT NULL,
    receipt_hash        TEXT NOT NULL DEFAULT ''   -- SHA-256 of the receipt text as printed
);
CREATE INDEX sales_shift ON sales (shift_id);
CREATE INDEX sales_card ON sales (card_no);

CREATE TABLE sale_lines (
    id              INTEGER PRIMARY KEY,
    sale_id         INTEGER NOT NULL REFERENCES sales (id),
    line_no         INTEGER NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    quantity        INTEGER NOT NULL,              -- pieces, or grams when unit = 'kg'
    unit            TEXT NOT NULL DEFAULT 'each',
    unit_price_fen  INTEGER NOT NULL,
    amount_fen      INTEGER NOT NULL,
    discount_fen    INTEGER NOT NULL DEFAULT 0,
    open_price      INTEGER NOT NULL DEFAULT 0,
    points_excluded INTEGER NOT NULL DEFAULT 0,
    voided          INTEGER NOT NULL DEFAULT 0,
    void_reason     TEXT NOT NULL DEFAULT '',
    voided_by       INTEGER REFERENCES users (id),
    refunded_qty    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sale_id, line_no)
);

-- Alipay barcode payment attempts: written BEFORE alipay.trade.pay is sent (write-ahead).
CREATE TABLE payment_attempts (
    id               INTEGER PRIMARY KEY,
    out_trade_no     TEXT NOT NULL UNIQUE,
    shift_id         INTEGER NOT NULL REFERENCES shifts (id),
    cashier_id       INTEGER NOT NULL REFERENCES users (id),
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
    subject          TEXT NOT NULL,
    auth_code_masked TEXT NOT NULL,                -- never the full payment code
    state            TEXT NOT NULL CHECK (state IN ('created', 'sending', 'waiting', 'checking', 'cancelling',
                                                    'paid', 'failed', 'cancelled', 'cancelled_refunded',
                                                    'unknown')),
    trade_no         TEXT NOT NULL DEFAULT '',
    buyer_logon_id   TEXT NOT NULL DEFAULT '',
    buyer_user_id    TEXT NOT NULL DEFAULT '',
    gmt_payment      TEXT NOT NULL DEFAULT '',
    polls            INTEGER NOT NULL DEFAULT 0,
    cancel_tries     INTEGER NOT NULL DEFAULT 0,
    fail_code        TEXT NOT NULL DEFAULT '',
    fail_sub_code    TEXT NOT NULL DEFAULT '',
    fail_message     TEXT NOT NULL DEFAULT '',
    basket_json      TEXT NOT NULL DEFAULT '{}',   -- the sale as it stood, to complete it after a crash
    sale_id          INTEGER REFERENCES sales (id),
    resolution       TEXT NOT NULL DEFAULT '',     -- for paid-without-sale: 'completed' | 'refunded'
    resolved_by      INTEGER REFERENCES users (id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX payment_attempts_state ON payment_attempts (state);

CREATE TABLE tenders (
    id           INTEGER PRIMARY KEY,
    sale_id      INTEGER NOT NULL REFERENCES sales (id),
    kind         TEXT NOT NULL CHECK (kind IN ('alipay', 'cash')),
    amount_fen   INTEGER NOT NULL,                 -- applied to the sale
    tendered_fen INTEGER NOT NULL,                 -- cash handed over (= amount for alipay)
    change_fen   INTEGER NOT NULL DEFAULT 0,
    attempt_id   INTEGER REFERENCES payment_attempts (id),
    trade_no     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tenders_sale ON tenders (sale_id);

CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY,
    sale_id         INTEGER NOT NULL REFERENCES sales (id),
    shift_id        INTEGER NOT NULL REFERENCES shifts (id),   -- the shift where the money moved
    out_request_no  TEXT NOT NULL UNIQUE,
    method          TEXT NOT NULL CHECK (method IN ('alipay', 'cash')),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'unknown')),
    reason          TEXT NOT NULL,
    lines_json      TEXT NOT NULL DEFAULT '[]',    -- [[line_no, qty], ...]
    points_reversed INTEGER NOT NULL DEFAULT 0,
    points_restored INTEGER NOT NULL DEFAULT 0,
    cashier_id      INTEGER NOT NULL REFERENCES users (id),
    approved_by     INTEGER REFERENCES users (id),
    fail_message    TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    completed_at    TEXT
);
CREATE INDEX refunds_sale ON refunds (sale_id);
CREATE INDEX refunds_shift ON refunds (shift_id);

-- The only writer of points: sale commits and refunds (and the opening balance from the card).
CREATE TABLE points_ledger (
    id            INTEGER PRIMARY KEY,
    card_no       TEXT NOT NULL REFERENCES members (card_no),
    kind          TEXT NOT NULL CHECK (kind IN ('opening', 'earn', 'redeem', 'reverse_earn',
                                                'restore_redeem', 'adjust')),
    points        INTEGER NOT NULL,                -- signed change
    balance_after INTEGER NOT NULL,
    sale_id       INTEGER REFERENCES sales (id),
    refund_id     INTEGER REFERENCES refunds (id),
    reason        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);
CREATE INDEX points_ledger_card ON points_ledger (card_no, id);

-- Durable outbox to the Alipay membership-card API. body_json is fixed at commit time and is
-- resent byte for byte on every retry.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('card.consume_sync', 'card.update')),
    card_no         TEXT NOT NULL,                 -- external card no (ordering key)
    method          TEXT NOT NULL,                 -- alipay.marketing.card.consume.sync / .update
    body_json       TEXT NOT NULL,
    points_after    INTEGER,                       -- card.update: the absolute points it sets
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,       -- epoch seconds
    last_error      TEXT NOT NULL DEFAULT '',
    sale_id         INTEGER REFERENCES sales (id),
    refund_id       INTEGER REFERENCES refunds (id),
    created_at      TEXT NOT NULL,
    done_at         TEXT
);
CREATE INDEX outbox_pending ON outbox (state, card_no, id);

CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    action      TEXT NOT NULL,                     -- refund, void_sale, void_line, no_sale, pay_in, ...
    subject     TEXT NOT NULL DEFAULT '',          -- e.g. receipt no, outbox id
    shift_id    INTEGER REFERENCES shifts (id),
    requested_by INTEGER REFERENCES users (id),
    approved_by INTEGER NOT NULL REFERENCES users (id),
    reason_code TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

-- Append-only, hash-chained audit log.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    user_id    INTEGER,
    user_name  TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}',         -- canonical JSON
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Z reports: stored exactly as printed, never recomputed.
CREATE TABLE z_reports (
    id          INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    number      INTEGER NOT NULL,
    shift_id    INTEGER NOT NULL UNIQUE REFERENCES shifts (id),
    created_at  TEXT NOT NULL,
    figures_json TEXT NOT NULL,
    text        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (terminal_id, number)
);
CREATE TRIGGER z_reports_no_update BEFORE UPDATE ON z_reports
BEGIN SELECT RAISE(ABORT, 'z_reports are immutable'); END;

CREATE TABLE counters (                            -- receipt sequence etc.
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
