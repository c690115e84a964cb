-- Daily Alipay reconciliation (migration 50, area "card"): one row per run, one row per finding.
CREATE TABLE reconciliations (
    id               INTEGER PRIMARY KEY,
    bill_date        TEXT NOT NULL,                -- yyyy-mm-dd (Beijing day of the bill)
    run_at           TEXT NOT NULL,                -- UTC ISO
    account          TEXT NOT NULL,                -- the bill's account (<PID>0156)
    alipay_trades    INTEGER NOT NULL,
    alipay_refunds   INTEGER NOT NULL,
    alipay_trade_fen INTEGER NOT NULL,
    alipay_refund_fen INTEGER NOT NULL,
    matched          INTEGER NOT NULL,
    problems         INTEGER NOT NULL,
    counts_json      TEXT NOT NULL,                -- {"matched": n, "alipay_only_trade": n, ...}
    csv_path         TEXT NOT NULL DEFAULT '',
    reported_in_z    INTEGER REFERENCES z_reports (id)   -- the Z report that first showed it
);
CREATE INDEX reconciliations_date ON reconciliations (bill_date, id);

CREATE TABLE reconciliation_items (
    id                INTEGER PRIMARY KEY,
    reconciliation_id INTEGER NOT NULL REFERENCES reconciliations (id),
    kind              TEXT NOT NULL,
    out_trade_no      TEXT NOT NULL,
    trade_no          TEXT NOT NULL DEFAULT '',
    out_request_no    TEXT NOT NULL DEFAULT '',
    alipay_fen        INTEGER,
    terminal_fen      INTEGER,
    detail            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reconciliation_items_run ON reconciliation_items (reconciliation_id);

CREATE INDEX IF NOT EXISTS payment_attempts_updated ON payment_attempts (updated_at);
CREATE INDEX IF NOT EXISTS refunds_completed ON refunds (completed_at);
